"""The house rule: packages import only downward, and models know no SQL.

A small AST walk over every module of the package (no new dependency). Each
module gets the layer of its top-level part; an import of a higher layer, or of
a peer package in the same layer, fails the test with the offending line.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import leanagent

ROOT = Path(leanagent.__file__).parent

#: Layers, lowest first. A module may import its own package and any lower layer; the base modules of
#: layer 0 (leaf helpers with no state) may also import each other.
LAYERS: list[set[str]] = [
    {"__init__", "errors", "settings", "text", "data", "files", "config", "curriculum", "device", "progress"},
    {"lean"},
    {"db"},
    {"sources", "retrieval", "review"},
    {"generator"},
    {"prover", "training"},
    {"lifelong"},
    {"commands"},
    {"cli", "__main__"},
]
LAYER_OF = {part: i for i, parts in enumerate(LAYERS) for part in parts}
#: Models take plain data: these packages never import the database layer.
NO_DB = ("retrieval", "generator")


def _part(module: str) -> str | None:
    """`leanagent.db.models` -> `db`; `leanagent` -> `__init__`; other packages -> None."""
    bits = module.split(".")
    if bits[0] != "leanagent":
        return None
    return bits[1] if len(bits) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    pkg = ".".join(("leanagent", *path.relative_to(ROOT).with_suffix("").parts[:-1]))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            out.append((node.lineno, name))
            if name == "leanagent":  # `from leanagent import db` (a module), not `__version__` (a name)
                out += [(node.lineno, f"leanagent.{a.name}") for a in node.names
                        if (ROOT / a.name).is_dir() or (ROOT / f"{a.name}.py").is_file()]
    return out


def violations() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "migrations" in rel.parts:
            continue  # Alembic revisions may use any helper of the schema's own layer
        here = rel.parts[0].removesuffix(".py") if len(rel.parts) == 1 else rel.parts[0]
        if here not in LAYER_OF:
            found.append(f"{rel}: package {here!r} has no layer in tests/test_layers.py")
            continue
        for line, name in _imports(path):
            there = _part(name)
            if there is None or there == here:
                continue
            if there not in LAYER_OF:
                found.append(f"{rel}:{line}: imports {name}, whose package has no layer")
            elif LAYER_OF[there] > LAYER_OF[here] or (LAYER_OF[there] == LAYER_OF[here] and LAYER_OF[here] > 0
                                                      and not (here == "__main__" and there == "cli")):
                found.append(f"{rel}:{line}: {here} (layer {LAYER_OF[here]}) imports {name} "
                             f"(layer {LAYER_OF[there]})")
            elif here in NO_DB and there == "db":
                found.append(f"{rel}:{line}: {here} imports {name}: models take plain data, never SQL")
    return found


def test_imports_only_go_downward():
    assert violations() == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    # A fake tree: db importing prover must be reported (the test above would be vacuous otherwise).
    fake = tmp_path / "leanagent"
    (fake / "db").mkdir(parents=True)
    (fake / "prover").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "db" / "__init__.py").write_text("")
    (fake / "db" / "bad.py").write_text("from leanagent.prover.search import BestFirstSearch\n")
    (fake / "prover" / "__init__.py").write_text("")
    (fake / "retrieval").mkdir()
    (fake / "retrieval" / "__init__.py").write_text("")
    (fake / "retrieval" / "sql.py").write_text("def f():\n    from leanagent.db.engine import open_db\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake)
    got = violations()
    assert any("db/bad.py:1: db (layer 2) imports leanagent.prover.search" in v for v in got)
    assert any("retrieval/sql.py:2: retrieval imports leanagent.db.engine" in v for v in got)
