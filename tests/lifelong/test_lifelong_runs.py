import os
import signal
import subprocess
import sys

import pytest

from leanagent.db.models import StepStatus
from leanagent.db.runs import list_runs
from leanagent.errors import LockHeldError
from leanagent.lifelong.lock import RunLock
from leanagent.lifelong.runs import Runner

HOLD = "import sys, time; from leanagent.lifelong.lock import RunLock; l = RunLock(sys.argv[1]).acquire(); " \
       "print('held', flush=True); time.sleep(60)"


def _holder(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_lock_is_refused_while_holder_lives(tmp_path):
    path = tmp_path / "nightly.lock"
    proc = _holder(path)
    try:
        with pytest.raises(LockHeldError) as exc:
            RunLock(path).acquire()
        assert f"pid {proc.pid}" in exc.value.message
    finally:
        proc.kill()
        proc.wait()


def test_stale_lock_from_killed_process_is_taken_over(tmp_path):
    path = tmp_path / "nightly.lock"
    proc = _holder(path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with RunLock(path) as lock:
        assert lock.took_over["pid"] == proc.pid
        with pytest.raises(LockHeldError):
            RunLock(path).acquire()
    with RunLock(path) as again:  # released cleanly: not stale
        assert again.took_over is None


def test_steps_run_once_and_resume_after_failure(db):
    calls = []
    runner = Runner.start(db, "learn", "x", {"a": 1})
    runner.step("one", lambda: calls.append(1) or {"n": 1})

    def boom():
        calls.append(2)
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        runner.step("two", boom)
    again = Runner.start(db, "learn", "x", {"a": 1})
    assert again.run_id == runner.run_id and again.resumed
    details, ran = again.step("one", lambda: calls.append(3))
    assert details == {"n": 1} and not ran
    details, ran = again.step("two", lambda: calls.append(4) or {"ok": True})
    assert ran and details == {"ok": True}
    assert calls == [1, 2, 4]
    again.finish(StepStatus.DONE, report_path="r.md")
    runs = list_runs(db)
    assert runs[0]["status"] == "done" and [s["status"] for s in runs[0]["steps"]] == ["done", "done"]
    fresh = Runner.start(db, "learn", "x", {"a": 1}, from_scratch=True)
    assert fresh.run_id != runner.run_id and not fresh.resumed


def test_ctrl_c_records_the_run_and_its_trainer_runs_as_interrupted(db):
    """After Ctrl-C, `runs` showed the run as `running` and each interrupt left a `train failed` run."""
    from leanagent.db.runs import finish_run, start_run

    runner = Runner.start(db, "learn", "repos.yaml", {})
    runner.plan(["a", "b", "c"])

    def train():
        child = start_run(db, "train", f"learn-{runner.run_id}-retriever", {})
        try:
            raise KeyboardInterrupt
        finally:
            finish_run(db, child, ok=False)  # what the trainers do on the way out

    runner.step("a", lambda: {"ok": 1})
    with pytest.raises(KeyboardInterrupt):
        runner.step("b", train)
    [run] = list_runs(db)
    assert run["status"] == "interrupted"
    assert [(s["key"], s["status"]) for s in run["steps"]] == [("a", "done"), ("b", "interrupted"), ("c", "pending")]
    assert [(c["kind"], c["status"]) for c in run["children"]] == [("train", "interrupted")]
    # A failure is recorded as one, on the run too; the same command resumes either.
    with pytest.raises(ValueError):
        runner.step("b", lambda: int("x"))
    assert list_runs(db)[0]["status"] == "failed"
    again = Runner.start(db, "learn", "repos.yaml", {})
    assert again.run_id == runner.run_id and list_runs(db)[0]["status"] == "running"


def test_runs_lists_a_learns_trainer_runs_under_it(db):
    """Four `train ... steps 0/0` runs per learn pushed the learn run itself out of `runs`' default 10."""
    from leanagent.db.runs import start_run

    learn = Runner.start(db, "learn", "repos.yaml", {})
    for i in range(12):
        start_run(db, "train", f"learn-{learn.run_id}-{'retriever' if i % 2 else 'generator'}", {})
    other = start_run(db, "prove", "prove-replay", {})
    runs = list_runs(db, limit=10)
    assert [r["id"] for r in runs] == [other, learn.run_id]
    assert len(runs[1]["children"]) == 12 and runs[0]["children"] == []
