"""Queries moved into db/ from the layers above: what nightly, the example cache, the review flags and the
upstream check read (db/stats.py, db/training_data.py, db/proof_checks.py, db/review.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from leanagent.db.ingest import store_repo
from leanagent.db.models import Proof, Repository, Theorem, TheoremStatus
from leanagent.db.proof_checks import check_statuses, upstream_targets
from leanagent.db.records import RepoRecord, StepRecord, TheoremRecord
from leanagent.db.review import flag_facts
from leanagent.db.stats import repo_snapshot
from leanagent.db.training_data import corpus_version, repo_names_newest_first, repo_version


@pytest.fixture
def db(any_db_url):
    """These queries on SQLite and on PostgreSQL."""
    from leanagent.db.engine import open_db

    database = open_db(any_db_url)
    yield database
    database.dispose()


def _thm(name: str, sorry: bool = False, statement: str | None = None) -> TheoremRecord:
    return TheoremRecord(file_path="A.lean", full_name=name, start=(1, 1), end=(2, 1), statement=statement,
                         steps=[StepRecord("sorry" if sorry else "simp", "s", "t")])


def _repos(db) -> dict[str, int]:
    store_repo(db, RepoRecord(name="old", digest="d1", commit="c-old",
                              theorems=[_thm("a"), _thm("b", sorry=True, statement="def b : Nat := sorry")]))
    store_repo(db, RepoRecord(name="new", digest="d2", theorems=[_thm("x", sorry=True)]))
    with db.session() as s:
        ids = {name: rid for rid, name in s.query(Repository.id, Repository.name)}
        # `new` was added later (the clock may not tick between two imports)
        s.execute(update(Repository).where(Repository.name == "new")
                  .values(added_at=datetime.now(timezone.utc) + timedelta(hours=1)))
    return ids


def _proof(db, theorem: str, **fields) -> int:
    with db.session() as s:
        tid = s.query(Theorem.id).filter(Theorem.full_name == theorem).scalar()
        proof = Proof(theorem_id=tid, tactics=["simp"], states=["s", "no goals"], env="replay", **fields)
        s.add(proof)
        s.flush()
        return proof.id


def test_repo_names_newest_first_and_the_snapshot(db):
    _repos(db)
    assert repo_names_newest_first(db) == ["new", "old"]
    _proof(db, "b")
    snap = repo_snapshot(db)
    assert {k: {f: v for f, v in row.items() if f != "added_at"} for k, row in snap.items()} == {
        "old": {"commit": "c-old", "theorems": 2, "sorry": 1, "agent_proofs": 1},
        "new": {"commit": None, "theorems": 1, "sorry": 1, "agent_proofs": 0}}
    assert datetime.fromisoformat(snap["new"]["added_at"]) > datetime.fromisoformat(snap["old"]["added_at"])


def test_corpus_and_repo_versions(db):
    _repos(db)
    version = corpus_version(db)
    assert [r[:2] for r in version.repos] == [("new", "d2"), ("old", "d1")]  # by name
    assert version.premises[0] == 0 and version.files[0] >= 0
    assert repo_version(db, "old") == ("d1", "c-old", "hash") and repo_version(db, "gone") is None
    with db.session() as s:
        s.execute(update(Repository).where(Repository.name == "new").values(digest=None))
    assert corpus_version(db) is None and repo_version(db, "new") == (None, None, "hash")


def test_upstream_targets_and_check_statuses(db):
    _repos(db)
    p1 = _proof(db, "b", found_commit="f" * 40, check_status="verified")
    p2 = _proof(db, "x")
    p3 = _proof(db, "a", check_status="rejected")
    got = upstream_targets(db)
    assert [(t.proof_id, t.repo, t.full_name, t.commit) for t in got] == [
        (p2, "new", "x", None), (p1, "old", "b", "f" * 40), (p3, "old", "a", "c-old")]  # by repository, proof
    assert [t.proof_id for t in upstream_targets(db, ["old"])] == [p1, p3]
    assert [t.proof_id for t in upstream_targets(db, ["old"], proof_ids=[p3, p2])] == [p3]
    assert sorted(check_statuses(db, [p1, p2, p3]), key=str) == [None, "rejected", "verified"]


def test_flag_facts(db):
    ids = _repos(db)
    with db.session() as s:
        s.execute(update(Theorem).where(Theorem.full_name == "a").values(status=TheoremStatus.PROVED_BY_AGENT))
    pid = _proof(db, "b", axioms=["propext"])
    [facts], defs = flag_facts(db, [pid])
    assert (facts.proof_id, facts.repo_id, facts.full_name, facts.file_path, facts.tactics, facts.env,
            facts.axioms) == (pid, ids["old"], "b", "A.lean", ["simp"], "replay", ["propext"])
    # the sorry and agent-proved theorems of the proofs' repositories only
    assert sorted(defs) == [(ids["old"], "a", None), (ids["old"], "b", "def b : Nat := sorry")]
    assert flag_facts(db, []) == ([], [])
