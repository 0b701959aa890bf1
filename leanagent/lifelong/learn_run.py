"""One run of `leanagent learn` as each of its steps sees it, and the names its steps share.

`LearnRun` holds what every part of the loop reads (the database, the run's
`Runner`, its folder, its options, the resolved environment, the device and
the event callback) and runs one recorded step with `step`: a step that a
killed run already finished is skipped, its stored details returned. The loop
itself (`learn.py`), one repository's stage (`stage.py`), the evaluation
(`stage_evaluation.py`), the proving (`stage_proving.py`) and the report
(`learn_report.py`) all take one. The metric names of the lifelong matrices,
the index of their starting row and the step names of one stage are here too,
so that the parts that write cells and the report that reads them agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from leanagent.db.engine import Database
from leanagent.lifelong.learn_options import Emit, LearnConfig

if TYPE_CHECKING:
    from leanagent.device import Placement
    from leanagent.lifelong.runs import Runner

START = -1  # trained_index of the evaluations of the starting models (forward-transfer baseline)
R10, ACC = "R@10", "tactic_acc"  # the same names as leanagent.training.evaluation's matrix metrics
PROVED = "replay_proved"  # percent of a repository's held-out theorems proved (prove_matrix)
#: The steps of one repository, in order (`leanagent.lifelong.stage.run_stage`).
REPO_STEPS = ("train-retriever", "train-generator", "evaluate", "prove")


@dataclass
class LearnRun:
    """The state one run of the loop shares between its steps."""

    db: Database
    runner: Runner
    run_dir: Path
    cfg: LearnConfig
    env: str  # resolved: `auto`, `leandojo`, `leaninteract` or `replay` (learn_options.resolve_env)
    emit: Emit
    device: Placement
    start_rows: Path | None = None  # folder of starting rows shared between runs (lifelong/start_rows.py)

    def step(self, key: str, fn: Callable[[], dict | None]) -> dict:
        """Run the recorded step `key` (or skip it when done earlier); its details either way."""
        t0 = time.monotonic()

        def run() -> dict | None:
            self.emit(event="step", key=key, status="start")  # the step is recorded as running by now
            return fn()

        details, ran = self.runner.step(key, run)
        self.emit(event="step", key=key, status="done" if ran else "skipped (done earlier)",
                  seconds=round(time.monotonic() - t0, 2))
        return details

    @property
    def proves_matrix(self) -> bool:
        """Whether every stage proves every repository's held-out theorems (the replay-proved matrix)."""
        return self.cfg.learn.prove_matrix and self.env == "replay"

    def stored_config(self) -> dict:
        """The run's options as the database holds them (what a resumed run was compared with)."""
        from leanagent.db.models import Run

        with self.db.session() as s:
            return s.get(Run, self.runner.run_id).config or {}
