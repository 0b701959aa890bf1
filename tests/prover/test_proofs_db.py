"""leanagent/db/proofs.py: selecting theorems, writing proofs/attempts, skipping repeats."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from leanagent.db.models import Proof, ProofAttempt, Theorem, TheoremStatus
from leanagent.db.proofs import AttemptRecord, already_attempted, record_attempt, select_theorems
from leanagent.db.splits import random_split
from leanagent.errors import DatabaseError


def test_select_theorem_sets(toy_db):
    sorry = select_theorems(toy_db, "sorry")
    assert {t.full_name for t in sorry} == {"two_eq", "no_steps"}
    assert {t.full_name for t in select_theorems(toy_db, "sorry", with_steps=True)} == {"two_eq"}
    everything = select_theorems(toy_db, "all", repo="toy")
    assert len(everything) == 6
    test = select_theorems(toy_db, "test")
    assert [t.id for t in test] == [t.id for t in everything if random_split(t.split_key) == "test"]
    with pytest.raises(DatabaseError, match="no repository"):
        select_theorems(toy_db, "all", repo="nope")
    with pytest.raises(DatabaseError, match="unknown theorem set"):
        select_theorems(toy_db, "some")


def test_record_proof_marks_sorry_theorem_and_skips_repeats(toy_db):
    tid = toy_db.toy_ids["two_eq"]
    proof_id = record_attempt(toy_db, AttemptRecord(
        theorem_id=tid, model="m1", budget="b1", env="replay", outcome="proved", expansions=1,
        tactics=["norm_num"], states=["⊢ 1 + 1 = 2", "no goals"], time_model=0.5))
    failed = AttemptRecord(theorem_id=toy_db.toy_ids["add_zero'"], model="m1", budget="b1", env="replay",
                           outcome="failed", expansions=3, error=None)
    assert record_attempt(toy_db, failed) is None
    with toy_db.session() as s:
        proof = s.get(Proof, proof_id)
        assert proof.tactics == ["norm_num"] and proof.env == "replay" and proof.time_model == 0.5
        assert s.get(Theorem, tid).status is TheoremStatus.PROVED_BY_AGENT
        assert s.get(Theorem, toy_db.toy_ids["add_zero'"]).status is TheoremStatus.PROVEN
        attempts = s.scalars(select(ProofAttempt).order_by(ProofAttempt.id)).all()
        assert [(a.outcome, a.proof_id) for a in attempts] == [("proved", proof_id), ("failed", None)]
    ids = list(toy_db.toy_ids.values())
    assert already_attempted(toy_db, ids, "m1", "b1") == {tid, toy_db.toy_ids["add_zero'"]}
    assert already_attempted(toy_db, ids, "m1", "b2") == set()
    assert already_attempted(toy_db, ids, "m2", "b1") == set()
    # An environment error does not count as an attempt: the next run tries again.
    record_attempt(toy_db, AttemptRecord(theorem_id=toy_db.toy_ids["one_add_one"], model="m1", budget="b1",
                                         env="leandojo", outcome="error", error="no Lean"))
    assert toy_db.toy_ids["one_add_one"] not in already_attempted(toy_db, ids, "m1", "b1")


def test_proof_must_carry_its_states(toy_db):
    with pytest.raises(DatabaseError, match="len\\(states\\)"):
        record_attempt(toy_db, AttemptRecord(theorem_id=toy_db.toy_ids["two_eq"], model="m", budget="b",
                                             env="replay", outcome="proved", tactics=["a"], states=["s"]))
