"""Typed answers of a REPL command run with `allTactics`, `infotree` and `declarations`.

lean-interact parses the REPL's JSON into its own pydantic models (`Tactic`, `InfoTree`,
`DeclarationInfo`); these plain, frozen records are what the rest of leanagent reads, with every
position moved by the command's line offset (a file's body is elaborated after its header, so Lean's
lines count from the body's first line). Positions are (1-based line, 0-based column), as Lean
reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

Pos = tuple[int, int]


@dataclass(frozen=True)
class TacticAt:
    """One entry of `allTactics`: a tactic as written, where it is, the goals before it (one string,
    as the REPL prints them) and the constants of the term it elaborated."""

    tactic: str
    start: Pos
    end: Pos
    goals: str
    used_constants: tuple[str, ...] = ()
    proof_state: int | None = None
    parent_decl: str | None = None


@dataclass(frozen=True)
class TacticNode:
    """A `TacticInfo` node of the info tree (any depth, in preorder): goals before and after."""

    kind: str
    start: Pos
    end: Pos
    goals_before: tuple[str, ...]
    goals_after: tuple[str, ...]
    synthetic: bool = False


@dataclass(frozen=True)
class DeclarationAt:
    """One entry of `declarations`: the whole command's range (doc comment and attributes included)."""

    full_name: str
    name: str
    kind: str          # theorem | definition | instance | example | structure | inductive | ...
    start: Pos
    end: Pos
    signature: str
    value_start: Pos | None = None


def _pos(p: Any, line_offset: int) -> Pos:
    return (p.line + line_offset, p.column)


def tactics(out: Any, line_offset: int = 0) -> list[TacticAt]:
    return [TacticAt(t.tactic, _pos(t.start_pos, line_offset), _pos(t.end_pos, line_offset), t.goals,
                     tuple(t.used_constants), t.proof_state, (t.model_extra or {}).get("parentDecl"))
            for t in getattr(out, "tactics", None) or []]


def _walk(trees: list) -> Iterator[Any]:
    """Every node of the info trees in preorder (iteratively: deep proofs make deep trees)."""
    stack = list(reversed(trees))
    while stack:
        tree = stack.pop()
        yield tree
        stack.extend(reversed(tree.children or []))


def tactic_nodes(out: Any, line_offset: int = 0) -> list[TacticNode]:
    nodes = []
    for tree in _walk(getattr(out, "infotree", None) or []):
        node = tree.node
        if tree.kind != "TacticInfo" or node is None or not hasattr(node, "goals_before"):
            continue
        r = node.stx.range
        nodes.append(TacticNode(node.stx.kind, _pos(r.start, line_offset), _pos(r.finish, line_offset),
                                tuple(node.goals_before), tuple(node.goals_after), bool(r.synthetic)))
    return nodes


def declarations(out: Any, line_offset: int = 0) -> list[DeclarationAt]:
    found = []
    for d in getattr(out, "declarations", None) or []:
        value = d.value.range.start if d.value is not None and not d.value.range.synthetic else None
        found.append(DeclarationAt(d.full_name, d.name, d.kind, _pos(d.range.start, line_offset),
                                   _pos(d.range.finish, line_offset), d.signature.pp,
                                   _pos(value, line_offset) if value is not None else None))
    return found
