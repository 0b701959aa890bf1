"""The CLI's promises: one line per error with the fix, exit codes, JSON errors, help that tells the truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_bad_option_value_is_one_line_with_the_fix(run_cli):
    # argparse used to print ~30 lines of usage and exit 2 (which nightly uses for "lock held").
    code, out, err = run_cli("prove", "--env", "lean")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("leanagent: error: prove: argument --env: invalid choice: 'lean'")
    assert "(fix: see `leanagent prove --help`)" in err


def test_unknown_option_names_the_real_one(run_cli):
    code, _, err = run_cli("learn", "--repos", "x.yaml", "--epochs", "2")
    assert code == 1 and err.count("\n") == 1
    assert "learn: unrecognized arguments: --epochs 2" in err and "--train-epochs" in err.split("(fix: use ")[1]
    code, _, err = run_cli("db", "stats", "--jsn")
    assert code == 1 and "use --json for --jsn; see `leanagent db stats --help`" in err
    # A misspelt required option: argparse said only "--repos is required" (issue 27).
    code, _, err = run_cli("learn", "--rpos", "x.yaml")
    assert code == 1 and err.count("\n") == 1
    assert "learn: unrecognized arguments: --rpos; the following arguments are required: --repos" in err
    assert "use --repos" in err and "for --rpos" in err


def test_errors_under_json_are_json(run_cli, tmp_path):
    code, out, err = run_cli("--json", "learn", "--epochs", "2")
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert doc["event"] == "error" and doc["exit_code"] == 1 and "--repos" in doc["error"] and doc["fix"]
    code, out, _ = run_cli("--json", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}", "runs")
    assert code == 1 and json.loads(out)["error"].startswith("no database at")


def test_interrupt_is_one_line_and_code_130(run_cli, monkeypatch):
    import leanagent.commands.data as data

    def interrupted(args, ctx):
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "run_stats", interrupted)
    code, _, err = run_cli("db", "stats")
    assert code == 130 and err.count("\n") == 1 and err.startswith("leanagent: interrupted;")
    assert "run the same command again" in err


@pytest.fixture
def help_text(capsys):
    from leanagent.cli import main

    def text(*args: str) -> str:
        with pytest.raises(SystemExit):
            main([*args, "--help"])
        return " ".join(capsys.readouterr().out.split())

    return text


def test_help_defaults_are_the_applied_ones(help_text):
    from leanagent.lifelong.learn_options import cpu_defaults

    train, _, generator = cpu_defaults()
    text = help_text("learn")

    def default(flag: str) -> str:  # the "(default: X)" of one option's help
        return text.rsplit(f"{flag} ", 1)[1].split("(default: ", 1)[1].split(")", 1)[0]

    assert default("--train-batch-size") == str(train.batch_size) != "16"
    assert default("--gen-d-model") == str(generator.d_model) != "256"
    assert default("--train-max-steps") == str(train.max_steps) != "-1"  # budgets count steps (issue 27)
    assert default("--train-max-minutes") == "None"  # minutes are only an optional cap


def test_model_loads_show_no_progress_bars(tmp_path):
    """transformers' `Loading weights: 100%|...|` bar came with every model load, also under --json."""
    from leanagent.generator.model import GeneratorOptions, TacticModel

    TacticModel.create(GeneratorOptions(d_model=16, num_layers=1, num_heads=2, d_ff=32)).save(tmp_path / "g")
    code = ("from leanagent.cli import _quiet_libraries; _quiet_libraries(); "
            "from leanagent.generator.model import TacticModel; import sys; TacticModel.load(sys.argv[1])")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_PROGRESS_BARS"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "g")], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Loading weights" not in done.stderr


def test_a_long_step_says_it_is_still_running(capsys):
    """The real sample's train-retriever step printed nothing for minutes after `start`; then the
    heartbeat skipped 1m 00s (issue 27). On an injected clock: no sleeps that race."""
    import threading

    from leanagent.cli import Context
    from leanagent.commands.lifelong import _Progress

    now = [0.0]
    beats = threading.Semaphore(0)

    class FakeEvent:
        """`wait(t)` lets t seconds pass on the fake clock at once, three times; then waits for real."""

        def __init__(self):
            self.real, self.waits = threading.Event(), 0

        def wait(self, timeout):
            self.waits += 1
            if self.waits > 1:
                beats.release()  # the previous wait ended in a "still running" line
            if self.waits <= 3 and not self.real.is_set():
                now[0] += timeout
                return False
            return self.real.wait(30)

        def set(self):
            self.real.set()

    with _Progress(Context(db_url="sqlite://", home=Path("."), json=False), clock=lambda: now[0],
                   new_event=FakeEvent) as progress:
        progress(event="step", key="00-nat/train-retriever", status="start")
        for _ in range(3):
            assert beats.acquire(timeout=30)
        progress(event="step", key="00-nat/train-retriever", status="done", seconds=95.0)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["  00-nat/train-retriever: start",
                     "  00-nat/train-retriever: still running (0m 30s)",
                     "  00-nat/train-retriever: still running (1m 00s)",
                     "  00-nat/train-retriever: still running (1m 30s)",
                     "  00-nat/train-retriever: done (95.0s)"]  # nothing after the step ended


def test_runs_counts_planned_steps_and_folds_trainer_runs(run_cli, db_url):
    """`runs` said `steps 3/4` for a 12-step run, and listed four `train ... steps 0/0` runs per learn."""
    from leanagent.db.engine import open_db
    from leanagent.db.runs import start_run
    from leanagent.lifelong.runs import Runner

    db = open_db(db_url)
    runner = Runner.start(db, "learn", "repos.yaml", {})
    runner.plan([f"step-{i}" for i in range(12)])
    runner.step("step-0", lambda: {})
    for name in ("retriever", "generator"):
        start_run(db, "train", f"learn-{runner.run_id}-{name}", {})
    db.dispose()
    code, out, _ = run_cli("--db", db_url, "runs")
    assert code == 0
    lines = out.splitlines()
    assert "steps 1/12 done" in lines[0] and lines[1].strip() == "2 trainer runs (2 running); --steps lists them"
    assert len(lines) == 2


@pytest.mark.parametrize("repos, said", [
    ("repos:\n  - traced: /nowhere/mathlib-traced-sample\n", "the shared sample is not at /nowhere/mathlib-traced-sample"),
    ("repos:\n  - traced: /nowhere/data\n", "/nowhere/data: no such file or directory"),
    ("repos:\n  - path: /nowhere/project\n", "/nowhere/project is not a folder"),
    ("repos:\n  - url: https://github.com/x/y\n    commit: " + "a" * 40 + "\n", "no Lean toolchain found"),
])
def test_learn_and_nightly_check_the_entries_before_creating_anything(run_cli, tmp_path, monkeypatch, repos, said):
    """Issue 27: a bad `traced:` path (or no Lean for git entries) created db/leanagent.sqlite and a failed
    run before saying so."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no `lean` or `lake`, whatever this machine has
    monkeypatch.delenv("LEANAGENT_DB", raising=False)
    (tmp_path / "r.yaml").write_text(repos)
    for command in ("learn", "nightly"):
        code, out, err = run_cli(command, "--repos", tmp_path / "r.yaml")
        assert code == 1 and said in err and err.count("\n") == 1, err
        if "sample" in said:
            assert "LEANAGENT_SAMPLE" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.yaml"]  # no db/, no checkpoints/
