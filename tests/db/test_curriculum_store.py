"""Curriculum queries: per-repository (steps, sorry) data and stored positions."""

from __future__ import annotations

from sqlalchemy import update

from leanagent.db.curriculum_store import difficulty_data, store_positions, stored_order
from leanagent.db.ingest import store_repo
from leanagent.db.models import Theorem, TheoremStatus
from leanagent.db.records import RepoRecord, StepRecord, TheoremRecord


def _thm(name: str, steps: int, sorry: bool = False) -> TheoremRecord:
    tac = "sorry" if sorry else "simp"
    return TheoremRecord(file_path="A.lean", full_name=name, start=(1, 1), end=(2, 1),
                         steps=[StepRecord(tac, "s", "t") for _ in range(steps)])


def test_difficulty_data_and_positions(db):
    store_repo(db, RepoRecord(name="r1", digest="1", theorems=[_thm("a", 1), _thm("b", 1), _thm("c", 3),
                                                                _thm("d", 1, sorry=True), _thm("e", 0)]))
    store_repo(db, RepoRecord(name="r2", digest="2", theorems=[_thm("x", 2)]))
    store_repo(db, RepoRecord(name="empty", digest="3"))
    with db.session() as s:  # an agent proof does not make a sorry theorem easy for the curriculum
        s.execute(update(Theorem).where(Theorem.full_name == "d").values(status=TheoremStatus.PROVED_BY_AGENT))
    data = difficulty_data(db)
    assert sorted(data["r1"]) == [(0, False), (1, False), (1, False), (1, True), (3, False)]
    assert data["r2"] == [(2, False)] and data["empty"] == []

    store_positions(db, ["r2", "r1"])
    assert stored_order(db) == ["r2", "r1"]
    store_positions(db, ["r1"])  # a new curriculum replaces the old one
    assert stored_order(db) == ["r1"]
