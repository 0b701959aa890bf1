"""The house rules on imports: packages import only downward, only db/ speaks SQL, no circles in a package.

A small AST walk over every module of the package (no new dependency); imports at
any depth count (inside functions too). Each module gets the layer of its
top-level part; an import of a higher layer, or of a peer package in the same
layer, fails the test with the offending line, and so does an import of
SQLAlchemy outside `db/` (models and the layers above take plain data from db's
functions). Inside one package (`prover/`, or the base modules), the modules'
imports must not form a circle, directly or through a longer cycle: the test
names each circle with the lines of its imports.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
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
            # `from leanagent import db`, `from leanagent.prover import workers`: the module imported is the
            # submodule (`leanagent.db`); a name (`__version__`, a function) is imported from the package itself.
            folder = ROOT.joinpath(*name.split(".")[1:]) if _part(name) is not None else None
            for a in node.names:
                sub = folder is not None and ((folder / a.name).is_dir() or (folder / f"{a.name}.py").is_file())
                item = (node.lineno, f"{name}.{a.name}" if sub else name)
                if item not in out:
                    out.append(item)
    return out


def _module(rel: Path) -> str:
    """`prover/forkpool.py` -> `leanagent.prover.forkpool`; `prover/__init__.py` -> `leanagent.prover`."""
    parts = rel.with_suffix("").parts
    return ".".join(("leanagent", *(parts[:-1] if parts[-1] == "__init__" else parts)))


def _modules() -> dict[str, Path]:
    """{module name: its path relative to ROOT}, Alembic revisions left out."""
    return {_module(p.relative_to(ROOT)): p.relative_to(ROOT) for p in sorted(ROOT.rglob("*.py"))
            if "migrations" not in p.relative_to(ROOT).parts}


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
            if here != "db" and (name == "sqlalchemy" or name.startswith("sqlalchemy.")):
                found.append(f"{rel}:{line}: {here} imports {name}: only db speaks SQL (call a function of db)")
                continue
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


def _package(rel: Path) -> str:
    """The package a module belongs to for the circle rule: its top-level folder (`prover`), or `leanagent`
    for the base modules of the top level."""
    return rel.parts[0] if len(rel.parts) > 1 else "leanagent"


def circles() -> list[str]:
    """One line per import circle between modules of one package:
    `prover/a.py:3 -> prover/b.py:7 -> prover/a.py` (each import's line), the shortest cycle through the
    first module of each strongly connected group (and the group's other modules, when there are more)."""
    modules = _modules()
    edges: dict[str, dict[str, int]] = {m: {} for m in modules}  # module -> {imported module: first line}
    for mod, rel in modules.items():
        for line, name in _imports(ROOT / rel):
            if name in modules and name != mod and _package(modules[name]) == _package(rel):
                edges[mod][name] = min(line, edges[mod].get(name, line))  # the first import of it
    found = []
    for group in _strongly_connected(edges):
        if len(group) < 2:
            continue
        start = min(group)
        cycle = _shortest_cycle(edges, start, group)
        steps = " -> ".join(f"{modules[a]}:{edges[a][b]}" for a, b in zip(cycle, cycle[1:]))
        rest = sorted(set(group) - set(cycle))
        also = f" (with {', '.join(str(modules[m]) for m in rest)} in the same circle)" if rest else ""
        found.append(f"import circle in {_package(modules[start])}/: {steps} -> {modules[start]}{also}")
    return sorted(found)


def _strongly_connected(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    group.append(m)
                    if m == node:
                        break
                groups.append(sorted(group))
    return groups


def _shortest_cycle(edges: dict[str, dict[str, int]], start: str, group: list[str]) -> list[str]:
    """[start, ..., start]: a shortest path back to `start` inside its strongly connected group (BFS)."""
    inside = set(group)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(edges[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if nxt in inside and nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"{start} is in a circle but no path leads back to it")


def test_imports_only_go_downward():
    assert violations() == []


def test_no_circles_inside_packages():
    assert circles() == []


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


def _fake_tree(tmp_path, monkeypatch, files: dict[str, str]) -> Path:
    """A fake `leanagent` package with these modules (and every folder's `__init__.py`), checked instead of
    the real one."""
    fake = tmp_path / "leanagent"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    for rel, text in files.items():
        path = fake / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (path.parent / "__init__.py").exists():
            (path.parent / "__init__.py").write_text("")
        path.write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake)
    return fake


def test_the_checker_sees_sqlalchemy_outside_db(tmp_path, monkeypatch):
    _fake_tree(tmp_path, monkeypatch, {
        "db/queries.py": "from sqlalchemy import select\n",  # db speaks SQL: fine
        "db/migrations/versions/0001_x.py": "import sqlalchemy as sa\n",
        "review/flags.py": "import re\n\nfrom sqlalchemy import select\n",
        "lifelong/lock.py": "def acquire():\n    from sqlalchemy.exc import SQLAlchemyError\n",  # inside a function
        "training/cache.py": "import sqlalchemy.orm\n",
    })
    got = violations()
    assert got == ["lifelong/lock.py:2: lifelong imports sqlalchemy.exc: only db speaks SQL (call a function of db)",
                   "review/flags.py:3: review imports sqlalchemy: only db speaks SQL (call a function of db)",
                   "training/cache.py:1: training imports sqlalchemy.orm: only db speaks SQL (call a function of db)"]


def test_the_checker_sees_a_circle_inside_a_package(tmp_path, monkeypatch):
    _fake_tree(tmp_path, monkeypatch, {
        # a -> b -> c -> a, through `from leanagent.prover import c` inside a function and a relative import
        "prover/a.py": "from leanagent.prover.b import run\n",
        "prover/b.py": "import os\n\n\ndef run():\n    from leanagent.prover import c\n",
        "prover/c.py": "from . import a\n",
        "prover/d.py": "from leanagent.prover.a import run\n",  # imports into the circle: not part of it
        # the smallest circle: two modules importing each other
        "training/x.py": "import leanagent.training.y\n",
        "training/y.py": "def f():\n    from leanagent.training.x import g\n",
        # across packages is the layer rule's business, not a circle inside a package
        "lean/p.py": "from leanagent.errors import LeanAgentError\n",
        "errors.py": "def f():\n    from leanagent.lean import p\n",
    })
    assert circles() == [
        "import circle in prover/: prover/a.py:1 -> prover/b.py:5 -> prover/c.py:1 -> prover/a.py",
        "import circle in training/: training/x.py:1 -> training/y.py:2 -> training/x.py",
    ]
