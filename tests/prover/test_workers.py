from __future__ import annotations

import pytest

from leanagent.errors import ProverError
from leanagent.generator.options import ProposerOptions
from leanagent.data import TheoremRef
from leanagent.prover.search import SearchConfig
from leanagent.prover.pool import prove_theorems
from leanagent.prover.workers import WorkerSpec, make_env


def test_in_process_workers_report_every_theorem(toy_db, db_url):
    spec = WorkerSpec(env="replay", db_url=db_url, search=SearchConfig(num_sampled_tactics=4, max_expansions=3),
                      proposer=ProposerOptions(proposer="frequency", source_split="all"))
    refs = [TheoremRef(toy_db.toy_ids[n], "toy", "Toy/Basic.lean", n) for n in ("add_zero'", "no_steps", "two_eq")]
    results = []
    stats = prove_theorems(spec, refs, results.append, workers=0)
    assert [r.theorem.full_name for r in results] == ["add_zero'", "no_steps", "two_eq"]
    # add_zero' is the only theorem that used `simp`: leave-one-out takes it away, so frequency cannot
    # prove it from its own record. two_eq is proved by `norm_num`, recorded in another theorem (one_add_one).
    assert [r.outcome for r in results] == ["failed", "error", "proved"]
    assert stats["prove_seconds"] >= 0 and stats["startup_seconds"] >= 0


def test_unknown_env_is_a_prover_error(db_url):
    with pytest.raises(ProverError, match="unknown environment"):
        make_env(WorkerSpec(env="coq", db_url=db_url, proposer=ProposerOptions()))
