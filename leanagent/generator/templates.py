"""Premise-filled tactic templates: the kNN proposer's bridge to premise retrieval.

A recorded tactic such as `rw [<a>mul_comm</a>]` (LeanDojo's annotated form)
is a template `rw [⟨P⟩]` with one premise slot. At a new state, the slots are
filled with the premises retrieved for that state, written as Lean may write
them (the full name and its shorter suffixes, `Nat.succ_le` and `succ_le`).
So a neighbour that proved its goal with `simp [foo]` also proposes
`simp [bar]` when `bar` is what the retriever finds for this goal. Pure
functions only; weights are shares of one neighbour's weight.
"""

from __future__ import annotations

import itertools
import re
from typing import Sequence

_MARK = re.compile(r"<a>(.*?)</a>", re.S)
SLOT = "\x00"
#: Templates with more slots than this are not filled (the combinations explode).
MAX_SLOTS = 2
#: Premises used for each slot of a two-slot template.
PAIR_PREMISES = 5


def template_of(annotated: str | None) -> tuple[str, int] | None:
    """(template with SLOT marks, number of slots), or None when there is no premise mark."""
    if not annotated or "<a>" not in annotated:
        return None
    tmpl, n = _MARK.subn(SLOT, annotated)
    return (tmpl, n) if 0 < n <= MAX_SLOTS else None


def written_forms(full_name: str) -> list[str]:
    """How a premise may be written after `open`s: `A.B.c`, `B.c`, `c` (longest first)."""
    parts = full_name.split(".")
    return [".".join(parts[i:]) for i in range(len(parts)) if parts[i]]


def fill(template: str, slots: int, premises: Sequence[str]) -> list[tuple[str, float]]:
    """Filled tactics with weights summing to 1: better-ranked premises weigh more (1/rank)."""
    out: dict[str, float] = {}
    if slots == 1:
        for r, name in enumerate(premises):
            forms = written_forms(name)
            for form in forms:
                tac = template.replace(SLOT, form)
                out[tac] = out.get(tac, 0.0) + 1.0 / (r + 1) / len(forms)
    elif slots == 2:
        top = premises[:PAIR_PREMISES]
        for (r1, a), (r2, b) in itertools.permutations(enumerate(top), 2):
            forms = [(x, y) for x in written_forms(a)[-2:] for y in written_forms(b)[-2:]]
            for x, y in forms:
                tac = template.replace(SLOT, x, 1).replace(SLOT, y, 1)
                out[tac] = out.get(tac, 0.0) + 1.0 / ((r1 + 1) * (r2 + 1)) / len(forms)
    total = sum(out.values())
    return [(t, w / total) for t, w in out.items()] if total > 0 else []
