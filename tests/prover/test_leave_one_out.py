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
