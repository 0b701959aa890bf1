"""Progress on stderr: plain lines at most every 30 s in a log file, never carriage returns (issue 27)."""

from __future__ import annotations

import io

from leanagent.progress import Progress


def test_a_log_gets_a_line_every_30_seconds_and_one_at_the_end():
    now = [0.0]
    log = io.StringIO()
    p = Progress(10, "prove (replay)", "thm", stream=log, clock=lambda: now[0])
    for i in range(10):
        now[0] += 10.0
        p.update(1, proved=i // 2, attempted=i + 1)
    p.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines[0] == "prove (replay): 3/10 thm in 0m 30s (0.10 thm/s, about 1m 10s left), proved=1, attempted=3"
    assert len(lines) == 4 and lines[-1].startswith("prove (replay): 10/10 thm in 1m 40s")
    assert lines[-1].endswith("proved=4, attempted=10")  # the count and the reported figures agree


def test_nothing_done_writes_nothing():
    log = io.StringIO()
    Progress(5, "x", stream=log).close()
    assert log.getvalue() == ""


def test_training_writes_a_step_line():
    from leanagent.training.log_lines import step_line

    assert step_line(40, 200, 1.23456, 80.0) == "  training: step 40/200, loss 1.2346, 0.50 steps/s, about 5m 20s left"
    assert step_line(3, None, None, 0.0) == "  training: step 3, 0.00 steps/s"


def test_the_callback_prints_every_30_seconds_of_training():
    from types import SimpleNamespace

    from leanagent.training.log_lines import log_lines

    now = [0.0]
    log = io.StringIO()
    cb = log_lines(100, stream=log, clock=lambda: now[0])
    trainer = SimpleNamespace(global_step=0, callback_metrics={"loss": 2.0})
    cb.on_train_start(trainer, None)
    for step in range(1, 11):
        now[0] += 10.0
        trainer.global_step = step
        cb.on_train_batch_end(trainer, None, None, None, step)
    assert log.getvalue().splitlines() == [
        "  training: step 3/100, loss 2.0000, 0.10 steps/s, about 16m 10s left",
        "  training: step 6/100, loss 2.0000, 0.10 steps/s, about 15m 40s left",
        "  training: step 9/100, loss 2.0000, 0.10 steps/s, about 15m 10s left"]
