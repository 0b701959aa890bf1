"""Which premises a theorem may use: earlier in its own file, or in a transitively imported file.

When the import graph does not know the theorem's file (as in the shared
sample, which has no corpus), every premise of another file counts as
accessible, but a premise at or after the theorem in its own file (the theorem
itself included) still does not.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from leanagent.text import module_of_path
from leanagent.data import ImportGraph, PremiseItem


def transitive_imports(module: str, imports: dict[str, list[str] | None]) -> set[str]:
    """Every module reachable from `module` through known imports (itself excluded) (pure)."""
    seen: set[str] = set()
    stack = list(imports.get(module) or [])
    while stack:
        m = stack.pop()
        if m in seen:
            continue
        seen.add(m)
        stack.extend(imports.get(m) or [])
    seen.discard(module)
    return seen


class Accessibility:
    """Accessibility filter over the rows of a premise corpus (row i = corpus[i])."""

    def __init__(self, corpus: Sequence[PremiseItem], graph: ImportGraph | None = None):
        self.graph = graph or ImportGraph()
        modules = [module_of_path(p.path) for p in corpus]
        self._module_ids = {m: i for i, m in enumerate(dict.fromkeys(modules))}
        self.row_module = np.array([self._module_ids[m] for m in modules], dtype=np.int64)  # (N,)
        self.row_path = np.array([p.path for p in corpus], dtype=object)  # (N,)
        # (line, col) packed into one comparable number; unknown positions count as "at the start".
        self.row_pos = np.array([(p.start[0] << 20) + p.start[1] if p.start else 0 for p in corpus],
                                dtype=np.int64)  # (N,)
        self._closure = lru_cache(maxsize=4096)(self._closure_ids)

    def _closure_ids(self, module: str) -> np.ndarray | None:
        if self.graph.imports.get(module) is None:
            return None  # imports unknown: everything is accessible
        mods = transitive_imports(module, self.graph.imports)
        return np.array(sorted(self._module_ids[m] for m in mods if m in self._module_ids), dtype=np.int64)

    def allowed(self, file_path: str | None, theorem_start: tuple[int, int] | None,
                rows: np.ndarray) -> np.ndarray | None:
        """Bool mask over `rows` (corpus row numbers), or None when every premise is accessible."""
        if file_path is None:
            return None
        rows = np.asarray(rows, dtype=np.int64)
        pos = (theorem_start[0] << 20) + theorem_start[1] if theorem_start else 1 << 62
        in_file = self.row_path[rows] == file_path
        closure = self._closure(module_of_path(file_path))
        if closure is None:
            # Imports unknown: everything outside the file may be imported, but a declaration at or after
            # the theorem in its own file (the theorem itself included) never is.
            later = in_file & (self.row_pos[rows] >= pos)
            return ~later if later.any() else None
        imported = np.isin(self.row_module[rows], closure)
        return imported | (in_file & (self.row_pos[rows] < pos))

    def mask(self, file_path: str | None, theorem_start: tuple[int, int] | None) -> np.ndarray | None:
        """Bool mask over all rows, or None when every premise is accessible."""
        return self.allowed(file_path, theorem_start, np.arange(len(self.row_module)))
