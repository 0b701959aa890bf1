"""Replay fixtures: a few theorems with recorded steps, inserted with SQLAlchemy directly."""

from __future__ import annotations

import pytest

from leanagent.db.models import Repository, TacticStep, Theorem, TheoremStatus
from leanagent.data import TheoremRef

S_ADD0 = "n : ℕ\n⊢ n + 0 = n"
S_ADD_COMM = "a b : ℕ\n⊢ a + b = b + a"
S_ADD_COMM2 = "a b : ℕ\n⊢ b + a = b + a"
S_ONE_ONE = "⊢ 1 + 1 = 2"
S_IMP = "p q : Prop\n⊢ p → q → p"
S_IMP1 = "p q : Prop\nhp : p\n⊢ q → p"
S_IMP2 = "p q : Prop\nhp : p\nhq : q\n⊢ p"

# (full_name, status, [(tactic, state_before, state_after)])
THEOREMS = [
    ("add_zero'", TheoremStatus.PROVEN, [("simp", S_ADD0, "no goals")]),
    ("add_comm'", TheoremStatus.PROVEN, [("rw [Nat.add_comm]", S_ADD_COMM, S_ADD_COMM2),
                                         ("rfl", S_ADD_COMM2, "no goals")]),
    ("one_add_one", TheoremStatus.PROVEN, [("norm_num", S_ONE_ONE, "no goals")]),
    # A sorry theorem whose state another theorem's record proves: replay can prove it.
    ("two_eq", TheoremStatus.SORRY, [("sorry", S_ONE_ONE, "no goals")]),
    ("imp_self'", TheoremStatus.PROVEN, [("intro hp", S_IMP, S_IMP1), ("intro hq", S_IMP1, S_IMP2),
                                         ("exact hp", S_IMP2, "no goals")]),
    ("no_steps", TheoremStatus.SORRY, []),
]


def fill(db, repo_name: str = "toy") -> dict[str, int]:
    ids = {}
    with db.session() as s:
        repo = Repository(name=repo_name, kind="traced")
        s.add(repo)
        s.flush()
        for line, (name, status, steps) in enumerate(THEOREMS, start=1):
            thm = Theorem(repo_id=repo.id, file_path="Toy/Basic.lean", full_name=name, start_line=line * 10,
                          start_col=1, end_line=line * 10 + 5, end_col=1, status=status, num_steps=len(steps),
                          url="https://github.com/x/toy", commit="0" * 40)
            s.add(thm)
            s.flush()
            for idx, (tac, before, after) in enumerate(steps):
                s.add(TacticStep(theorem_id=thm.id, idx=idx, tactic=tac, state_before=before, state_after=after))
            ids[name] = thm.id
    return ids


@pytest.fixture
def toy_db(db):
    db.toy_ids = fill(db)
    return db


@pytest.fixture
def toy_ref(toy_db):
    def ref(name: str) -> TheoremRef:
        return TheoremRef(id=toy_db.toy_ids[name], repo="toy", file_path="Toy/Basic.lean", full_name=name)
    return ref


class ScriptedGenerator:
    """Returns fixed proposals per state text (and `default` for unknown states)."""

    name = "scripted"

    def __init__(self, table: dict[str, list[tuple[str, float]]], default=()):
        self.table = table
        self.default = list(default)
        self.calls: list[list[str]] = []

    def generate(self, states, num, targets=None):
        self.calls.append(list(states))
        return [list(self.table.get(s, self.default))[:num] for s in states]
