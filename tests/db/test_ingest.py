import copy

import pytest
from sqlalchemy import func, select

from leanagent.db.engine import open_db
from leanagent.db.ingest import store_repo
from leanagent.db.models import Premise, Proof, StepPremise, TacticStep, Theorem, TheoremStatus
from leanagent.db.records import PremiseRecord, RepoRecord, StepRecord, TheoremRecord
from leanagent.sources.leandojo_format import read_dataset


def _count(db, model):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _thm(name, line, tactics=("simp",), premises=()):
    steps = [StepRecord(tactic=t, state_before=f"⊢ {name} {i}", state_after="no goals",
                        premises=[PremiseRecord(p, "Lib.lean", (1, 1), (1, 5)) for p in premises])
             for i, t in enumerate(tactics)]
    return TheoremRecord(file_path="A.lean", full_name=name, start=(line, 1), end=(line + 1, 1), steps=steps)


def _repo(commit, theorems, name="r"):
    return RepoRecord(name=name, commit=commit, digest=f"d-{commit}", theorems=theorems)


def test_example_import_counts(example_db):
    with example_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Theorem)) == 150
        sorry = s.scalars(select(Theorem.full_name).where(Theorem.status == TheoremStatus.SORRY)).all()
        assert sorted(sorry) == ["NatList.List.length_reverse_append", "NatList.Nat.add_comm_three"]
        thm = s.scalar(select(Theorem).where(Theorem.full_name == "NatList.List.length_append_comm"))
        assert thm.num_steps == 2 and thm.statement.startswith("theorem NatList.List.length_append_comm")
        names = [link.premise.full_name for link in thm.steps[0].premise_links]
        assert names == ["List.length_append", "List.length_append"]
        assert thm.steps[1].state_after == "no goals"
        code = s.scalar(select(Premise.code).where(Premise.full_name == "Nat.add_comm"))
        assert code.startswith("theorem Nat.add_comm")


def test_same_commit_twice_changes_nothing(db):
    rec = _repo("c1", [_thm("a", 1, premises=["P"]), _thm("b", 5)])
    assert store_repo(db, rec).action == "created"
    before = (_count(db, Theorem), _count(db, TacticStep), _count(db, StepPremise), _count(db, Premise))
    assert store_repo(db, copy.deepcopy(rec)).action == "unchanged"
    assert (_count(db, Theorem), _count(db, TacticStep), _count(db, StepPremise), _count(db, Premise)) == before


def test_new_commit_replaces_theorems_and_keeps_agent_proofs(db):
    sorry_thm = _thm("s", 10, tactics=("sorry",))
    store_repo(db, _repo("c1", [_thm("a", 1), _thm("gone", 5), sorry_thm]))
    with db.session() as s:
        ids = dict(s.execute(select(Theorem.full_name, Theorem.id)).all())
        assert s.get(Theorem, ids["s"]).status is TheoremStatus.SORRY
        for name in ("s", "gone"):
            s.add(Proof(theorem_id=ids[name], tactics=["simp"], states=["⊢ x", "no goals"], env="replay"))
        s.get(Theorem, ids["s"]).status = TheoremStatus.PROVED_BY_AGENT
    res = store_repo(db, _repo("c2", [_thm("a", 1, tactics=("rfl", "simp")), _thm("new", 7), sorry_thm]))
    assert (res.action, res.added, res.kept, res.removed) == ("updated", 1, 2, 1)
    with db.session() as s:
        rows = dict(s.execute(select(Theorem.full_name, Theorem.id)).all())
        assert set(rows) == {"a", "new", "s"}
        assert rows["s"] == ids["s"] and rows["a"] == ids["a"]  # identity kept
        assert s.get(Theorem, rows["s"]).status is TheoremStatus.PROVED_BY_AGENT
        assert [p.theorem_id for p in s.scalars(select(Proof))] == [ids["s"]]
        assert [st.tactic for st in s.get(Theorem, rows["a"]).steps] == ["rfl", "simp"]


def test_premises_are_shared_between_repositories(db):
    store_repo(db, _repo("c1", [_thm("a", 1, premises=["P", "Q"])], name="one"))
    store_repo(db, _repo("c1", [_thm("b", 1, premises=["P"])], name="two"))
    assert _count(db, Premise) == 2
    assert _count(db, StepPremise) == 3


def test_failed_import_leaves_database_unchanged(db, monkeypatch):
    store_repo(db, _repo("c1", [_thm("a", 1)]))
    import leanagent.db.ingest as ingest

    def boom(*a, **k):
        raise KeyboardInterrupt  # as if Ctrl-C arrived in the middle of the write

    monkeypatch.setattr(ingest, "_store_steps", boom)
    with pytest.raises(KeyboardInterrupt):
        store_repo(db, _repo("c2", [_thm("b", 1), _thm("c", 2)]))
    with db.session() as s:
        assert s.scalars(select(Theorem.full_name)).all() == ["a"]
    monkeypatch.undo()
    assert store_repo(db, _repo("c2", [_thm("b", 1), _thm("c", 2)])).action == "updated"
    assert _count(db, Theorem) == 2


def test_sample_imports(db, sample_path):
    res = store_repo(db, read_dataset(sample_path))
    assert (res.theorems, res.steps, res.premises_new) == (2000, 2949, 2738)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Theorem).where(Theorem.status == TheoremStatus.SORRY)) == 7


def test_same_code_path_on_postgres_and_sqlite(any_db_url, example_path):
    db = open_db(any_db_url)
    try:
        assert store_repo(db, read_dataset(example_path)).theorems == 150
        assert store_repo(db, read_dataset(example_path)).action == "unchanged"
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(StepPremise)) > 0
    finally:
        db.dispose()


KILL_MID_WRITE = r"""
import sys, time
import leanagent.db.ingest as ingest
from leanagent.db.engine import open_db
from leanagent.sources.leandojo_format import read_dataset

real = ingest._store_steps
def slow(*args, **kwargs):
    n = real(*args, **kwargs)
    print("rows written, not committed", flush=True)
    time.sleep(60)
    return n
ingest._store_steps = slow
db = open_db(sys.argv[1])
ingest.store_repo(db, read_dataset(sys.argv[2], name="second"))
"""


def test_sigkill_in_the_middle_of_an_import_loses_nothing(db_url, example_path):
    import signal
    import subprocess
    import sys

    db = open_db(db_url)
    store_repo(db, read_dataset(example_path))
    before = (_count(db, Theorem), _count(db, TacticStep), _count(db, StepPremise))
    proc = subprocess.Popen([sys.executable, "-c", KILL_MID_WRITE, db_url, str(example_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "rows written, not committed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert (_count(db, Theorem), _count(db, TacticStep), _count(db, StepPremise)) == before
    assert store_repo(db, read_dataset(example_path, name="second")).action == "created"
    assert _count(db, Theorem) == 2 * before[0]
    db.dispose()


def test_a_resync_after_a_shift_keeps_proofs_and_reviews(db, tmp_path):
    """Issue 23: theorems were keyed by line, so a comment added at the top of a file deleted every
    accepted proof and its review. A theorem is its repository, file and full name now."""
    from leanagent.db.review import record_review
    from leanagent.lean.declarations import declarations, statement_digest
    from leanagent.review.flags import proof_flags
    from leanagent.sources.scan import scan_records

    text = "theorem t (n : Nat) : n = n := by\n  sorry\n\ntheorem u : True := by\n  sorry\n"
    (tmp_path / "A.lean").write_text(text)
    store_repo(db, scan_records(tmp_path, "toy"))
    with db.session() as s:
        ids = dict(s.execute(select(Theorem.full_name, Theorem.id)).all())
        digest = statement_digest(text, declarations(text)[0])
        proof = Proof(theorem_id=ids["t"], tactics=["rfl"], states=["⊢ n = n", "no goals"], env="leaninteract",
                      check_status="verified", statement_digest=digest,
                      measures={"found": {"seconds": 0.01, "file_median_seconds": 0.01, "heartbeats": None,
                                          "lines": 1, "warnings": []}})
        s.add(proof)
        s.flush()
        pid = proof.id
    record_review(db, pid, "accepted", "ann", "nice")
    (tmp_path / "A.lean").write_text("-- a comment\n\n" + text)
    res = store_repo(db, scan_records(tmp_path, "toy"))
    assert (res.action, res.added, res.kept, res.removed) == ("updated", 0, 2, 0)
    with db.session() as s:
        t = s.get(Theorem, ids["t"])
        assert t.start_line == 3  # moved in place
        p = s.get(Proof, pid)
        assert p.review_status.value == "accepted" and [r.comment for r in p.reviews] == ["nice"]
    assert proof_flags(db, [pid])[pid] == []
    # The statement changed: the proof and its review stay, flagged.
    (tmp_path / "A.lean").write_text(text.replace("(n : Nat) : n = n", "(n : Nat) : n + 0 = n"))
    store_repo(db, scan_records(tmp_path, "toy"))
    with db.session() as s:
        assert s.get(Proof, pid).review_status.value == "accepted"
    flags = proof_flags(db, [pid])[pid]
    assert [f.code for f in flags] == ["statement-changed"]
    assert "not the one its proof was found for" in flags[0].detail
