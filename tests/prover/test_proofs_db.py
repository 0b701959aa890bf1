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
    assert [t.id for t in test] == [t.id for t in everything if random_split((t.repo, t.file_path, t.full_name, t.start_line, t.start_col)) == "test"]
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
        assert s.get(Theorem, tid).status is TheoremStatus.SORRY  # replay proves nothing (issue 23)
        assert s.get(Theorem, toy_db.toy_ids["add_zero'"]).status is TheoremStatus.PROVEN
        attempts = s.scalars(select(ProofAttempt).order_by(ProofAttempt.id)).all()
        assert [(a.outcome, a.proof_id) for a in attempts] == [("proved", proof_id), ("failed", None)]
    # Only a verified whole-file check proves the theorem; flagged (extra axioms) and unchecked do not.
    for status in ("flagged", "unchecked", "verified"):
        record_attempt(toy_db, AttemptRecord(
            theorem_id=tid, model="m0", budget="b1", env="leaninteract", outcome="proved", tactics=[status],
            states=["⊢ 1 + 1 = 2", "no goals"], check_status=status))
        with toy_db.session() as s:
            assert (s.get(Theorem, tid).status is TheoremStatus.PROVED_BY_AGENT) == (status == "verified")
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


def test_the_same_proof_found_again_is_stored_once(toy_db):
    """Proving again (another model or budget) used to store the same proof once per run: the review
    app then listed the theorem several times, each needing its own review."""
    tid = toy_db.toy_ids["two_eq"]
    states = ["⊢ 1 + 1 = 2", "no goals"]
    first = record_attempt(toy_db, AttemptRecord(theorem_id=tid, model="m1", budget="b1", env="replay",
                                                 outcome="proved", tactics=["norm_num"], states=states,
                                                 file_digest="d1"))
    again = record_attempt(toy_db, AttemptRecord(theorem_id=tid, model="m2", budget="b2", env="leandojo",
                                                 outcome="proved", tactics=["norm_num"], states=states,
                                                 file_digest="d2"))
    other = record_attempt(toy_db, AttemptRecord(theorem_id=tid, model="m3", budget="b1", env="replay",
                                                 outcome="proved", tactics=["decide"], states=states))
    assert again == first and other != first
    with toy_db.session() as s:
        proofs = s.scalars(select(Proof).where(Proof.theorem_id == tid).order_by(Proof.id)).all()
        assert [p.tactics for p in proofs] == [["norm_num"], ["decide"]]
        # The refound proof now records the newer file and the stronger checker; both attempts point at it.
        assert (proofs[0].file_digest, proofs[0].env) == ("d2", "leandojo")
        assert [a.proof_id for a in s.scalars(select(ProofAttempt).order_by(ProofAttempt.id))] == [first, first, other]


def test_proofs_differing_in_indentation_are_two_proofs(toy_db):
    """In Lean, indentation decides whether `a` is a tactic of its own: `exact h\\na` and `exact h\\n  a`
    are different proofs, each with its own check (issue 23: they were merged, keeping the rejected text
    with the verified status)."""
    tid = toy_db.toy_ids["two_eq"]
    states = ["⊢ 1 + 1 = 2", "no goals"]
    rejected = record_attempt(toy_db, AttemptRecord(
        theorem_id=tid, model="m", budget="b", env="leaninteract", outcome="rejected", tactics=["exact h\na"],
        states=states, check_status="rejected", check_message="2:0: error: unknown tactic"))
    verified = record_attempt(toy_db, AttemptRecord(
        theorem_id=tid, model="m", budget="b", env="leaninteract", outcome="proved", tactics=["exact h\n  a"],
        states=states, check_status="verified"))
    assert rejected != verified
    with toy_db.session() as s:
        rows = {p.id: (p.tactics, p.check_status) for p in s.scalars(select(Proof).where(Proof.theorem_id == tid))}
    assert rows == {rejected: (["exact h\na"], "rejected"), verified: (["exact h\n  a"], "verified")}
