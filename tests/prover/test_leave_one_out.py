"""Leave-one-out by theorem on every path: no proposer proves a theorem from its own recorded steps."""

from __future__ import annotations

import json

from leanagent.db.ingest import store_repo
from leanagent.db.records import RepoRecord, StepRecord, TheoremRecord


def _theorem(i: int, tactic: str, file: str = "A/B.lean") -> TheoremRecord:
    return TheoremRecord(file, f"t{i}", (i * 10, 1), (i * 10 + 1, 1),
                         [StepRecord(tactic, f"x : Nat\n⊢ x * {i} = {i} * x", "no goals")])


def _prove(run_cli, db_url, *args):
    code, out, err = run_cli("--db", db_url, "--json", "prove", "--env", "replay", "--workers", "0",
                             "--theorems", "all", "--num-tactics", "8", "--max-expansions", "4", *args)
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_knn_and_frequency_cannot_prove_from_the_targets_own_steps(run_cli, db, db_url):
    # Ten theorems, each proved by a tactic nobody else used: only self-lookup could prove them.
    store_repo(db, RepoRecord(name="r", theorems=[_theorem(i, f"exact mul_comm_{i} x") for i in range(10)]))
    knn = _prove(run_cli, db_url, "--proposer", "knn", "--knn-encoder", "tiny-bert", "--retrieval", "none")
    freq = _prove(run_cli, db_url, "--proposer", "frequency")
    assert knn["attempted"] == freq["attempted"] == 10
    assert knn["proved"] == 0 and freq["proved"] == 0


def test_a_tactic_shared_by_two_theorems_proves_each_from_the_other(run_cli, db, db_url):
    # Not vacuous: the same search does prove a theorem when another theorem's record supplies the tactic.
    store_repo(db, RepoRecord(name="r", theorems=[_theorem(1, "ring"), _theorem(2, "ring"),
                                                   _theorem(3, "exact only_mine x")]))
    got = _prove(run_cli, db_url, "--proposer", "knn", "--knn-encoder", "tiny-bert", "--retrieval", "none")
    assert got["proved"] == 2  # t1 and t2; t3's tactic exists only in its own record


def test_eval_generator_never_uses_the_evaluated_theorems_steps(run_cli, db, db_url):
    store_repo(db, RepoRecord(name="r", theorems=[_theorem(i, f"exact mul_comm_{i} x") for i in range(6)]))
    code, out, err = run_cli("--db", db_url, "--json", "eval", "generator", "--proposer", "knn",
                             "--knn-encoder", "tiny-bert", "--retrieval", "none", "--split", "all",
                             "--source-split", "all", "--k", "64")
    assert code == 0, err
    ev = json.loads(out)
    assert ev["steps"] == 6 and ev["top_k"] == 0.0


def test_a_copy_in_another_repository_is_held_out_with_the_theorem(run_cli, db, db_url, tmp_path):
    """Issue 24: a LeanDojo trace carries its dependencies' theorems, so one theorem can be stored
    twice; each copy used to prove the other. Now they share one identity (hidden together) and one split."""
    from sqlalchemy import select

    from leanagent.db.models import Theorem

    theorems = [_theorem(i, f"exact mul_comm_{i} x") for i in range(10)]
    store_repo(db, RepoRecord(name="r", theorems=theorems))
    one = {p: _prove(run_cli, db_url, "--proposer", *p.split(), "--retry")
           for p in ("frequency", "knn --knn-encoder tiny-bert --retrieval none")}
    code, out, err = run_cli("--db", db_url, "db", "stats", "--json")
    result = store_repo(db, RepoRecord(name="copy", theorems=[_theorem(i, f"exact mul_comm_{i} x", "Other/B.lean")
                                                               for i in range(10)]))
    assert result.copies == 10
    two = {p: _prove(run_cli, db_url, "--proposer", *p.split(), "--retry")
           for p in ("frequency", "knn --knn-encoder tiny-bert --retrieval none")}
    for p in one:
        assert one[p]["attempted"] == 10 and two[p]["attempted"] == 20
        assert one[p]["proved"] == 0 and two[p]["proved"] == 0, p  # no copy proves the other
    with db.session() as s:
        rows = s.execute(select(Theorem.full_name, Theorem.split, Theorem.identity_id)).all()
    by_name: dict = {}
    for name, split, identity in rows:
        by_name.setdefault(name, set()).add((split, identity))
    assert all(len(v) == 1 for v in by_name.values())  # one split and one identity per theorem
    code, out, err = run_cli("--db", db_url, "db", "stats", "--json")
    assert [r["copies"] for r in json.loads(out)["repositories"]] == [10, 10]


def test_an_evaluation_copy_pulls_every_copy_out_of_training(db):
    """The most held-out split wins: importing a theorem evaluation-only makes its copies test too."""
    from sqlalchemy import select

    from leanagent.db.models import Theorem

    store_repo(db, RepoRecord(name="r", theorems=[_theorem(i, "ring") for i in range(10)]))
    store_repo(db, RepoRecord(name="bench", split_policy="test", theorems=[_theorem(i, "ring") for i in range(3)]))
    with db.session() as s:
        splits = dict(s.execute(select(Theorem.full_name, Theorem.split).where(Theorem.repo_id == 1)).all())
    assert splits["t0"] == splits["t1"] == splits["t2"] == "test"


def test_prove_prints_its_figure_beside_frequency_one_step_and_the_oracle(run_cli, db, db_url):
    """Issue 24: every proved count beside its baselines, measured on the same theorems in the same run."""
    from leanagent.prover.baselines import oracle_proves
    from leanagent.data import TheoremRef
    from leanagent.prover.replay import ReplayIndex

    store_repo(db, RepoRecord(name="r", theorems=[_theorem(1, "ring"), _theorem(2, "ring"),
                                                   _theorem(3, "exact only_mine x")]))
    code, out, err = run_cli("--db", db_url, "prove", "--env", "replay", "--workers", "0", "--theorems", "all",
                             "--proposer", "knn", "--knn-encoder", "tiny-bert", "--retrieval", "none",
                             "--num-tactics", "8", "--max-expansions", "4")
    assert code == 0, err
    assert ("replay: proved 2/3 (in the same run, replay: frequency 2/3, own one-step proofs 3/3, "
            "oracle ceiling 2/3) theorems") in out
    index = ReplayIndex.from_db(db)
    ids = {t.full_name: t.id for t in __import__("leanagent.db.proofs", fromlist=["x"]).select_theorems(db, "all")}
    assert oracle_proves(index, TheoremRef(ids["t1"], "r", "A/B.lean", "t1", (10, 1)))
    assert not oracle_proves(index, TheoremRef(ids["t3"], "r", "A/B.lean", "t3", (30, 1)))  # only its own record
