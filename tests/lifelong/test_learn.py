"""End to end: `leanagent learn` on the example repositories with tiny models, and crash/resume."""

import json
import shutil
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from leanagent.db.engine import open_db
from leanagent.db.models import Evaluation, Proof, ProofAttempt, Run

ROOT = Path(__file__).resolve().parents[2]
TINY = """\
learn: {prove_timeout: 5, max_expansions: 4, num_tactics: 4, eval_limit: 4, knn_encoder: tiny-bert}
train: {batch_size: 4, warmup_steps: 1, max_steps: 2}
retriever: {encoder: tiny-bert}
generator: {d_model: 8, num_layers: 2, num_heads: 2, d_ff: 16, max_output_bytes: 8, num_premises: 2}
"""


def _learn(workdir: Path, *extra: str, kill_at: str | None = None, sig: int = signal.SIGKILL):
    """Run `leanagent --json learn` in a subprocess; with kill_at, send `sig` when that step starts."""
    cmd = [sys.executable, "-m", "leanagent", "--json", "learn", "--repos", str(ROOT / "examples" / "repos.yaml"),
           "--config", str(workdir / "tiny.yaml"), *extra]
    env = {**os.environ, "LEANAGENT_HOME": str(workdir / "checkpoints"), "PYTHONUNBUFFERED": "1"}
    # A default Ctrl-C in the child, whatever this process inherited: pytest started as a background job
    # (`nohup`, some CI runners) ignores SIGINT, and children inherit that (issue 27).
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    events = []
    for line in proc.stdout:
        event = json.loads(line)
        events.append(event)
        if kill_at and event.get("event") == "step" and event.get("key") == kill_at and event["status"] == "start":
            proc.send_signal(sig)
            if sig == signal.SIGKILL:
                break
    proc.wait()
    return proc.returncode, events, proc.stderr.read()


def _state(workdir: Path) -> dict:
    db = open_db(f"sqlite:///{workdir / 'db' / 'leanagent.sqlite'}")
    try:
        with db.session() as s:
            run = s.scalar(select(Run).where(Run.kind == "learn").order_by(Run.id.desc()))
            return {
                "steps": sorted((st.key, st.status.value) for st in run.steps),
                "evaluations": sorted((e.metric, e.trained_index, e.eval_repo_id, round(e.value, 6))
                                      for e in s.scalars(select(Evaluation).where(Evaluation.run_id == run.id))),
                "attempts": sorted((a.theorem_id, a.outcome) for a in s.scalars(
                    select(ProofAttempt).where(ProofAttempt.run_id == run.id))),
                "proofs": s.scalar(select(func.count()).select_from(Proof)),
                "report": run.report_path,
            }
    finally:
        db.dispose()


def _report(workdir: Path, state: dict) -> dict:
    data = json.loads((Path(workdir) / Path(state["report"]).parent / "metrics.json").read_text())
    return {k: data[k] for k in ("repositories", "matrices", "baselines", "lifelong", "proved", "agent_examples")}


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    return tmp_path


@pytest.mark.slow
def test_learn_end_to_end_then_resume_is_a_no_op(workdir):
    code, events, err = _learn(workdir)
    assert code == 0, err
    assert events[-1]["event"] == "done" and events[-1]["report"].endswith("summary.md")
    state = _state(workdir)
    assert all(status == "done" for _, status in state["steps"])
    keys = [k for k, _ in state["steps"]]
    assert {"curriculum", "evaluate/start", "00-nat/train-retriever", "01-list/prove"} <= set(keys), keys
    report = _report(workdir, state)
    assert report["repositories"] == ["nat", "list"]
    assert set(report["matrices"]) == {"R@10", "tactic_acc"}
    assert "replay" in (workdir / state["report"]).read_text()
    for png in ("heatmap_Rat10.png", "sequence_Rat10.png", "proved.png"):
        assert (workdir / Path(state["report"]).parent / png).is_file()
    # The same command again finds every step done and trains nothing.
    code, events, err = _learn(workdir)
    assert code == 0, err
    assert {e["status"] for e in events if e["event"] == "step"} == {"skipped (done earlier)"}
    assert _state(workdir) == state


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run that the interrupted ones are compared with."""
    folder = tmp_path_factory.mktemp("reference")
    (folder / "tiny.yaml").write_text(TINY)
    code, _, err = _learn(folder)
    assert code == 0, err
    return folder


@pytest.mark.parametrize("kill_at", ["00-nat/train-generator", "00-nat/prove", "01-list/evaluate"])
def test_sigkill_then_rerun_matches_an_uninterrupted_run(kill_at, workdir, reference):
    code, _, _ = _learn(workdir, kill_at=kill_at)
    assert code == -signal.SIGKILL
    interrupted = _state(workdir)
    assert (kill_at, "running") in interrupted["steps"] and interrupted["report"] is None
    code, events, err = _learn(workdir)
    assert code == 0, err
    assert any(e["event"] == "run" and e["resumed"] for e in events)
    # No half-written checkpoint is left or used: every stage folder is complete.
    for folder in (workdir / "checkpoints").glob("learn-*/*/"):
        assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]
    got, want = _state(workdir), _state(reference)
    for key in ("steps", "evaluations", "attempts", "proofs"):
        assert got[key] == want[key], key
    assert _report(workdir, got) == _report(reference, want)


def test_ctrl_c_prints_one_line_and_the_run_resumes_as_interrupted(workdir, reference):
    """Ctrl-C during training used to end silently with code 1; `runs` then said `running`, and a
    `train failed` run was left behind."""
    code, events, err = _learn(workdir, kill_at="00-nat/train-generator", sig=signal.SIGINT)
    assert code == 130, err
    assert events[-1]["event"] == "interrupted" and events[-1]["exit_code"] == 130
    state = _state(workdir)
    assert ("00-nat/train-generator", "interrupted") in state["steps"] and state["report"] is None
    assert ("01-list/prove", "pending") in state["steps"]  # planned steps are counted
    db = open_db(f"sqlite:///{workdir / 'db' / 'leanagent.sqlite'}")
    try:
        with db.session() as s:
            statuses = {(r.kind, r.status.value) for r in s.scalars(select(Run))}
    finally:
        db.dispose()
    assert ("learn", "interrupted") in statuses and ("train", "failed") not in statuses
    code, events, err = _learn(workdir)
    assert code == 0, err
    got, want = _state(workdir), _state(reference)
    for key in ("steps", "evaluations", "attempts", "proofs"):
        assert got[key] == want[key], key


def test_unknown_worker_pool_fails_before_any_work(workdir, capsys, monkeypatch):
    from leanagent.cli import main

    monkeypatch.setenv("LEANAGENT_HOME", str(workdir / "checkpoints"))
    monkeypatch.chdir(workdir)
    code = main(["learn", "--repos", str(ROOT / "examples" / "repos.yaml"), "--config", str(workdir / "tiny.yaml"),
                 "--pool", "threads"])
    err = capsys.readouterr().err
    assert code == 1 and "unknown learn.pool 'threads'" in err and "use auto, fork, ray" in err
    assert not (workdir / "checkpoints").exists()  # nothing trained


@pytest.mark.slow
def test_the_example_learn_gives_the_same_figures_twice_with_the_same_seed(tmp_path):
    """Issue 27: training was bounded by minutes, so the machine's load decided the figures. Budgets count
    steps now: the README's example, run twice from scratch, writes the same metrics.json (timings and
    the folder aside)."""
    got = []
    for name in ("a", "b"):
        work = tmp_path / name
        shutil.copytree(ROOT / "examples", work / "examples")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("LEANAGENT_DB", None)
        env.pop("LEANAGENT_HOME", None)
        done = subprocess.run([sys.executable, "-m", "leanagent", "learn", "--repos", "examples/repos.yaml"],
                              cwd=work, env=env, capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, done.stderr[-2000:]
        data = json.loads((work / "checkpoints" / "learn-1" / "report" / "metrics.json").read_text())
        data["config"].pop("repos_file")
        for stage in data["training"].values():
            stage.pop("seconds", None)
        got.append(data)
    assert got[0] == got[1]
    assert all(not s.get("stopped_by_time") for s in got[0]["training"].values())
