"""Runs and their steps, recorded in the database so that any step can be killed and run again.

`Runner.step(key, fn)` runs `fn` only when the step is not already done in
this run; a finished step's result (its `details`) is stored with it and
returned on a rerun. A step stopped by Ctrl-C is recorded `interrupted` (with
its run), one that raised is `failed` (with its run), and one killed outright
is left `running`; each simply runs again when the same command runs again.
`Runner.plan(keys)` records the steps still to come as `pending`, so that
`leanagent runs` counts them. Runs started inside a step (the trainers' own
runs, named `learn-<id>-...`) are listed under their parent by
`leanagent.db.runs.list_runs`, which also stores the steps.
"""

from __future__ import annotations

import importlib.metadata as md
import traceback
from typing import Callable

from leanagent.db.engine import Database
from leanagent.db.models import StepStatus
from leanagent.db.runs import (LatestRun, begin_step, done_step_details, done_step_keys, end_run, end_step,
                               interrupt_child_runs, plan_steps, resume_or_start_run)
from leanagent.errors import ConfigError

PACKAGES = ("leanagent", "torch", "transformers", "pytorch-lightning", "faiss-cpu", "lean-dojo", "sqlalchemy",
            "ray", "bm25s", "numpy")


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def config_differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested config dicts, sorted (pure)."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        path = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_differences(a, b, path + ".")
        elif a != b and not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and list(a) == list(b)):
            out.append(path)
    return out


class Runner:
    def __init__(self, db: Database, run_id: int):
        self.db = db
        self.run_id = run_id

    @classmethod
    def start(cls, db: Database, kind: str, name: str, config: dict, *, from_scratch: bool = False,
              unfinished_only: bool = False, same_config: bool = False) -> "Runner":
        """Resume the latest run with this kind and name, or start a new one.

        With `unfinished_only`, a run that already finished is not resumed (nightly: each
        night is a new run, but a night that was killed continues). With `same_config`, a
        run is resumed only if it was made with exactly `config`: steps made under other
        options must not mix with new ones (ConfigError naming the keys that differ).
        """
        def resume(run: LatestRun) -> bool:
            if unfinished_only and run.status is StepStatus.DONE:
                return False
            if same_config:
                differ = config_differences(run.config or {}, config)
                if differ:
                    shown = ", ".join(differ[:6]) + (f" and {len(differ) - 6} more" if len(differ) > 6 else "")
                    raise ConfigError(
                        f"run {run.id} of {name} was made with other options ({shown} differ)",
                        fix="add --from-scratch to start a new run with these options, or rerun with the "
                            "old ones to resume it")
            return True

        return cls(db, resume_or_start_run(db, kind, name, config, package_versions(),
                                           None if from_scratch else resume))

    @property
    def resumed(self) -> bool:
        return bool(self.done_keys())

    def done_keys(self) -> set[str]:
        return done_step_keys(self.db, self.run_id)

    def details(self, key: str) -> dict | None:
        return done_step_details(self.db, self.run_id, key)

    def step(self, key: str, fn: Callable[[], dict | None]) -> tuple[dict, bool]:
        """Run `fn` unless the step is done. Returns (details, ran_now)."""
        done, newest = begin_step(self.db, self.run_id, key)  # runs started by this step come after `newest`
        if done is not None:
            return done, False
        try:
            details = fn() or {}
        except BaseException as exc:
            # Ctrl-C is not a failure: the run is resumable and says so (`runs` shows `interrupted`).
            status = StepStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else StepStatus.FAILED
            end_step(self.db, self.run_id, key, status,
                     {"error": "".join(traceback.format_exception_only(exc)).strip()})
            self.finish(status)
            if status is StepStatus.INTERRUPTED:
                # A child run (a trainer's) stopped by the same Ctrl-C recorded itself `failed`.
                interrupt_child_runs(self.db, self.run_id, after=newest)
            raise
        end_step(self.db, self.run_id, key, StepStatus.DONE, details)
        return details, True

    def plan(self, keys: list[str]) -> None:
        """Record the steps still to come as `pending` (existing steps keep their status)."""
        plan_steps(self.db, self.run_id, keys)

    def finish(self, status: StepStatus = StepStatus.DONE, report_path: str | None = None) -> None:
        end_run(self.db, self.run_id, status, report_path)
