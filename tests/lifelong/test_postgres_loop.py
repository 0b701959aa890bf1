"""`learn`, `prove` and `nightly` against PostgreSQL (the server .ci/run starts), with tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from leanagent.db.engine import open_db
from leanagent.db.models import ProofAttempt, Run, StepStatus

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
TINY = """\
learn: {prove_timeout: 2, max_expansions: 2, num_tactics: 2, eval_limit: 2, knn_encoder: tiny-bert, prove_limit: 3}
train: {batch_size: 4, warmup_steps: 1, max_steps: 1}
retriever: {encoder: tiny-bert}
generator: {d_model: 8, num_layers: 2, num_heads: 2, d_ff: 16, max_output_bytes: 8, num_premises: 2}
"""


def _events(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_learn_prove_and_nightly_on_postgres(pg_url, run_cli, tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "repos.yaml").write_text(  # one repository of the example data: one stage
        f"repos:\n  - name: nat\n    traced: {ROOT / 'examples' / 'nat-list'}\n    include: ['NatList/Nat/**']\n")
    common = ("--db", pg_url, "--home", tmp_path / "home", "--json")
    loop = ("--repos", tmp_path / "repos.yaml", "--config", tmp_path / "tiny.yaml", "--env", "replay")

    code, out, err = run_cli(*common, "learn", *loop)
    assert code == 0, out + err
    assert _events(out)[-1]["event"] == "done"
    db = open_db(pg_url, create=False)
    try:
        with db.session() as s:
            run = s.scalar(select(Run).where(Run.kind == "learn"))
            assert run.status is StepStatus.DONE and {st.status for st in run.steps} == {StepStatus.DONE}
            assert s.scalar(select(func.count()).select_from(ProofAttempt)
                            .where(ProofAttempt.run_id == run.id)) == 3  # prove_limit

        code, out, err = run_cli(*common, "prove", "--env", "replay", "--workers", "0", "--theorems", "all",
                                 "--repo", "nat", "--proposer", "frequency", "--limit", "3")
        assert code == 0, out + err
        assert _events(out)[-1]["attempted"] == 3

        code, out, err = run_cli(*common, "nightly", *loop, "--budget", "5m")
        assert code == 0, out + err
        assert {e["repo"]: e["action"] for e in _events(out) if e["event"] == "synced"} == {"nat": "unchanged"}
        with db.session() as s:
            assert s.scalar(select(Run.status).where(Run.kind == "nightly")) is StepStatus.DONE
    finally:
        db.dispose()
