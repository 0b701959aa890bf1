"""Which premises a theorem may use: earlier in its own file, or in a transitively imported file.

When the import graph does not know the theorem's file (as in the shared
sample, which has no corpus), every premise of another file counts as
accessible, but a premise at or after the theorem in its own file (the theorem
itself included) still does not.

"Its own file" is decided by module (`leanagent.text.module_of_path`), never by
the raw path: LeanDojo writes a theorem's path as `Mathlib/Data/Subtype.lean`
and the same file's premises as `.lake/packages/mathlib/Mathlib/Data/Subtype.lean`.
Compared as strings, no premise was ever in its theorem's file, and 57 of the
sample's 2,000 theorems could retrieve themselves (issue 24).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
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
    """Accessibility filter over the rows of a premise corpus (row i = corpus[i]).

    Everything is precomputed as integers: each row's module id, file id and packed position; per
    module, its transitive imports as a bool array over module ids (cached). A mask is then two
    gathers and a comparison per row, never a string comparison. `save`/`load` write the same arrays
    to a folder (loaded memory-mapped, so proving workers share one copy).
    """

    def __init__(self, corpus: Sequence[PremiseItem] = (), graph: ImportGraph | None = None):
        modules = [module_of_path(p.path) for p in corpus]
        paths = [p.path for p in corpus]
        # (line, col) packed into one comparable number; unknown positions count as "at the start".
        pos = np.array([(p.start[0] << 20) + p.start[1] if p.start else 0 for p in corpus], dtype=np.int64)
        self._init(modules, paths, pos, graph)

    def _init(self, modules, paths, pos: np.ndarray, graph: ImportGraph | None,
              module_names: list[str] | None = None, file_names: list[str] | None = None) -> None:
        self.graph = graph or ImportGraph()
        if module_names is None:  # from one value per row
            module_names, file_names = list(dict.fromkeys(modules)), list(dict.fromkeys(paths))
            self._module_ids = {m: i for i, m in enumerate(module_names)}
            self._file_ids = {f: i for i, f in enumerate(file_names)}
            modules = np.array([self._module_ids[m] for m in modules], dtype=np.int32)
            paths = np.array([self._file_ids[f] for f in paths], dtype=np.int32)
        else:  # already ids (a loaded folder)
            self._module_ids = {m: i for i, m in enumerate(module_names)}
            self._file_ids = {f: i for i, f in enumerate(file_names)}
        self.module_names, self.file_names = module_names, file_names
        self.row_module = modules  # (N,) module id of each row
        self.row_file = paths      # (N,) file id of each row
        self.row_pos = pos         # (N,) packed (line, col)
        self._closure = lru_cache(maxsize=4096)(self._closure_ids)

    def _closure_ids(self, module: str) -> np.ndarray | None:
        """Bool (number of modules,): which module ids `module` imports transitively; None: unknown."""
        if self.graph.imports.get(module) is None:
            return None  # imports unknown: everything is accessible
        out = np.zeros(len(self.module_names), dtype=bool)
        ids = [self._module_ids[m] for m in transitive_imports(module, self.graph.imports) if m in self._module_ids]
        out[ids] = True
        return out

    def allowed(self, file_path: str | None, theorem_start: tuple[int, int] | None,
                rows: np.ndarray | None) -> np.ndarray | None:
        """Bool mask over `rows` (corpus row numbers; None: all rows), or None when every premise is
        accessible."""
        if file_path is None:
            return None
        pos = (theorem_start[0] << 20) + theorem_start[1] if theorem_start else 1 << 62
        module = module_of_path(file_path)
        mid = self._module_ids.get(module, -1)  # -1: no premise in this file
        row_module = self.row_module if rows is None else self.row_module[np.asarray(rows, dtype=np.int64)]
        row_pos = self.row_pos if rows is None else self.row_pos[np.asarray(rows, dtype=np.int64)]
        in_file = row_module == mid  # (R,) the module, not the raw path: package prefixes differ
        closure = self._closure(module)
        if closure is None:
            # Imports unknown: everything outside the file may be imported, but a declaration at or after
            # the theorem in its own file (the theorem itself included) never is.
            later = in_file & (row_pos >= pos)
            return ~later if later.any() else None
        imported = closure[row_module]  # (R,) gather: no sort, no string comparison
        return imported | (in_file & (row_pos < pos))

    def mask(self, file_path: str | None, theorem_start: tuple[int, int] | None) -> np.ndarray | None:
        """Bool mask over all rows, or None when every premise is accessible."""
        return self.allowed(file_path, theorem_start, None)

    def __len__(self) -> int:
        return len(self.row_module)

    def save(self, folder: Path) -> None:
        """The arrays as .npy files and the names and import graph as JSON, in `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("row_module", "row_file", "row_pos"):
            np.save(folder / f"{name}.npy", np.asarray(getattr(self, name)))
        (folder / "names.json").write_text(json.dumps({"modules": self.module_names, "files": self.file_names,
                                                       "imports": self.graph.imports}))

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> "Accessibility":
        """What `save` wrote; the per-row arrays memory-mapped read-only when `mmap`."""
        mode = "r" if mmap else None
        names = json.loads((folder / "names.json").read_text())
        out = cls.__new__(cls)
        out._init(*(np.load(folder / f"{n}.npy", mmap_mode=mode) for n in ("row_module", "row_file", "row_pos")),
                  ImportGraph(names["imports"]), names["modules"], names["files"])
        return out
