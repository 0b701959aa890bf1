"""`leanagent nightly` with traced entries and tiny models: changes, lock, exit codes."""

import json
import shutil
from pathlib import Path

import pytest

from leanagent.lifelong.lock import RunLock
from leanagent.lifelong.nightly import parse_budget

ROOT = Path(__file__).resolve().parents[2]
TINY = """\
learn: {prove_timeout: 2, max_expansions: 2, num_tactics: 2, eval_limit: 2, knn_encoder: tiny-bert}
train: {batch_size: 4, warmup_steps: 1, max_steps: 1}
retriever: {encoder: tiny-bert}
generator: {d_model: 8, num_layers: 2, num_heads: 2, d_ff: 16, max_output_bytes: 8, num_premises: 2}
"""


@pytest.fixture
def setup(tmp_path):
    data = tmp_path / "nat-list"
    shutil.copytree(ROOT / "examples" / "nat-list", data)
    (tmp_path / "repos.yaml").write_text(
        "repos:\n  - name: nat\n    traced: nat-list\n    include: ['NatList/Nat/**']\n"
        "  - name: list\n    traced: nat-list\n    include: ['NatList/List/**']\n")
    (tmp_path / "tiny.yaml").write_text(TINY)
    return tmp_path


def _nightly(run_cli, folder, *extra):
    return run_cli("--db", f"sqlite:///{folder / 'db.sqlite'}", "--home", folder / "home", "--json", "nightly",
                   "--repos", folder / "repos.yaml", "--config", folder / "tiny.yaml", "--env", "replay", *extra)


def test_parse_budget():
    assert parse_budget("6h") == 21600 and parse_budget("1h30m") == 5400 and parse_budget("45") == 45
    with pytest.raises(Exception):
        parse_budget("soon")


def test_nightly_reports_what_changed_and_retrains_only_that(run_cli, setup):
    code, out, err = _nightly(run_cli, setup, "--budget", "5m")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert {e["repo"]: e["action"] for e in events if e["event"] == "synced"} == {"nat": "created", "list": "created"}
    report = Path(events[-1]["report"])
    assert "| nat * |" in report.read_text() and "(new)" in report.read_text()

    # Overnight, one theorem of the List file gains a tactic step: only `list` changes.
    train = setup / "nat-list" / "random" / "train.json"
    thms = json.loads(train.read_text())
    target = next(t for t in thms if t["full_name"] == "NatList.List.nil_append'")
    target["traced_tactics"].insert(0, dict(target["traced_tactics"][0], tactic="skip", state_after=
                                            target["traced_tactics"][0]["state_before"]))
    train.write_text(json.dumps(thms))
    code, out, err = _nightly(run_cli, setup, "--budget", "5m")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    synced = {e["repo"]: e["action"] for e in events if e["event"] == "synced"}
    assert synced == {"nat": "unchanged", "list": "updated"}
    text = Path(events[-1]["report"]).read_text()
    assert "| list * |" in text and "| nat |" in text
    metrics = json.loads((Path(events[-1]["report"]).parent / "metrics.json").read_text())
    assert metrics["changed"] == ["list"] and "replay cannot prove sorry theorems" in metrics["proved"]["note"]


def test_second_nightly_exits_2_while_the_lock_is_held(run_cli, setup):
    with RunLock(setup / "db.sqlite.lock"):  # the run lock of the database (lifelong/lock.py)
        code, out, err = _nightly(run_cli, setup)
    # Under --json the error is one JSON object on stdout, with the exit code cron sees.
    error = json.loads(out.splitlines()[-1])
    assert code == 2 and error["exit_code"] == 2 and "another run holds" in error["error"] and err == ""
