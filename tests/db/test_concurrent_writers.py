"""Several processes write attempts and proofs at once (Ray workers, `prove` on several machines): no row is lost.

Every worker writes to the same theorems in the same order after a common start, so that the writes collide:
the same proof found by all of them at once must still be stored once, its attempts must all point to it, and
no write may fail on a busy database (SQLite) or a duplicate (PostgreSQL).
"""

from __future__ import annotations

import multiprocessing as mp
import traceback

import pytest
from sqlalchemy import func, select

from leanagent.db.engine import open_db
from leanagent.db.models import Proof, ProofAttempt, Theorem, TheoremStatus

WORKERS = 4
THEOREMS = 6  # each worker writes 3 attempts per theorem: the shared proof, its own proof, a failure


def _records(worker: int, theorem_ids: list[int], rep: int):
    from leanagent.db.proofs import AttemptRecord

    for tid in theorem_ids:
        # Verified, as a Lean backend's whole-file check says: the theorem's status changes under the race too.
        common = dict(theorem_id=tid, model=f"m{rep}", budget="b", env="leaninteract", run_id=None,
                      check_status="verified")
        # Every worker finds this one: stored once (db/proofs.py `_same_proof`).
        yield AttemptRecord(**common, outcome="proved", tactics=[f"rep{rep}", "simp"], states=["a", "b", "c"])
        # Only this worker finds this one.
        yield AttemptRecord(**common, outcome="proved", tactics=[f"rep{rep} w{worker}"], states=["a", "b"])
        yield AttemptRecord(**common, outcome="failed", expansions=worker)


def _worker(url: str, worker: int, theorem_ids: list[int], rep: int, barrier, errors) -> None:
    from leanagent.db.proofs import record_attempt

    try:
        db = open_db(url, create=False)
        records = list(_records(worker, theorem_ids, rep))
        barrier.wait(timeout=60)
        for rec in records:
            record_attempt(db, rec)
        db.dispose()
    except BaseException:  # the parent reads this queue: a failed write is a lost row
        errors.put(f"worker {worker}: {traceback.format_exc()}")


def hammer(url: str, theorem_ids: list[int], rep: int = 0, workers: int = WORKERS) -> None:
    """Run `workers` spawned processes writing at once; raise if any of them failed."""
    ctx = mp.get_context("spawn")  # as Ray workers are: no connection or engine inherited from this process
    barrier, errors = ctx.Barrier(workers), ctx.SimpleQueue()
    procs = [ctx.Process(target=_worker, args=(url, w, theorem_ids, rep, barrier, errors)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert not failures, "\n".join(failures)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]


def check(db, theorem_ids: list[int], rep: int, workers: int = WORKERS) -> None:
    """Every attempt is there, each proof stored once, and the attempts point to the right proofs."""
    with db.session() as s:
        attempts = s.execute(select(ProofAttempt.theorem_id, ProofAttempt.outcome, ProofAttempt.proof_id)
                             .where(ProofAttempt.model == f"m{rep}")).all()
        proofs = {pid: (tid, tuple(tactics)) for pid, tid, tactics in
                  s.execute(select(Proof.id, Proof.theorem_id, Proof.tactics).where(Proof.model == f"m{rep}"))}
        statuses = set(s.scalars(select(Theorem.status).where(Theorem.id.in_(theorem_ids))))
    assert len(attempts) == workers * len(theorem_ids) * 3
    for tid in theorem_ids:
        mine = [a for a in attempts if a.theorem_id == tid]
        assert sorted(a.outcome for a in mine) == ["failed"] * workers + ["proved"] * 2 * workers
        stored = sorted(tactics for pid, (t, tactics) in proofs.items() if t == tid)
        want = sorted([(f"rep{rep}", "simp")] + [(f"rep{rep} w{w}",) for w in range(workers)])
        assert stored == want  # the shared proof once, not once per worker
        shared = [pid for pid, (t, tactics) in proofs.items() if t == tid and len(tactics) == 2]
        assert sum(a.proof_id == shared[0] for a in mine) == workers
    assert statuses <= {TheoremStatus.PROVEN, TheoremStatus.PROVED_BY_AGENT}


@pytest.fixture
def writers_db(any_db_url, example_path, monkeypatch):
    """The example data in a fresh database, with a busy timeout that lets SQLite writers queue."""
    from leanagent.db.ingest import store_repo
    from leanagent.sources.leandojo_format import read_dataset

    # The suite's 0.2 s makes a locked database fail fast; writers taking turns wait longer (the children
    # inherit it).
    monkeypatch.setenv("LEANAGENT_DB_TIMEOUT", "30")
    db = open_db(any_db_url)
    store_repo(db, read_dataset(example_path))
    with db.session() as s:
        # sorry theorems among them: a proof turns them `proved_by_agent`, from several workers at once
        ids = list(s.scalars(select(Theorem.id).order_by(Theorem.status.desc(), Theorem.id).limit(THEOREMS)))
    yield any_db_url, db, ids
    db.dispose()


def test_concurrent_writers_lose_nothing(writers_db):
    url, db, ids = writers_db
    hammer(url, ids)
    check(db, ids, 0)


@pytest.mark.slow
def test_concurrent_writers_lose_nothing_20_times(writers_db):
    url, db, ids = writers_db
    for rep in range(20):
        hammer(url, ids, rep)
        check(db, ids, rep)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ProofAttempt)) == 20 * WORKERS * len(ids) * 3
