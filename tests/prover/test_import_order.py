"""Imports inside leanagent/prover go one way: no module imports one that imports it back.

Lazy imports (inside functions) count too: they hide a circle from Python, not from the reader. The pool
(`pool`) uses the fork pool (`forkpool`), which uses the worker (`workers`).
"""

from __future__ import annotations

from tests.test_layers import ROOT, _imports

PACKAGE = "prover"


def _graph() -> dict[str, set[str]]:
    """{module: the modules of the package it imports}, by short name (`workers`, `forkpool`, ...)."""
    names = {p.stem for p in (ROOT / PACKAGE).glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name in names:
        found = set()
        for _, module in _imports(ROOT / PACKAGE / f"{name}.py"):
            bits = module.split(".")
            if bits[:2] == ["leanagent", PACKAGE] and len(bits) > 2 and bits[2] in names and bits[2] != name:
                found.add(bits[2])
        graph[name] = found
    return graph


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (a path back to its start), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_prover_package_has_no_import_circle():
    graph = _graph()
    assert _circle(graph) is None, " -> ".join(_circle(graph))
    assert "forkpool" in graph["pool"] and "workers" in graph["forkpool"]
    assert not graph["workers"] & {"pool", "forkpool"}


def test_a_circle_is_found():
    assert _circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _circle({"a": {"b"}, "b": set()}) is None
