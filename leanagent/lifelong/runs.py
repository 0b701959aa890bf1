"""Runs and their steps, recorded in the database so that any step can be killed and run again.

`Runner.step(key, fn)` runs `fn` only when the step is not already done in
this run; a finished step's result (its `details`) is stored with it and
returned on a rerun. A step killed half-way is left `running` (or `failed`)
and simply runs again.
"""

from __future__ import annotations

import importlib.metadata as md
import traceback
from typing import Any, Callable

from sqlalchemy import select

from leanagent.db.engine import Database
from leanagent.db.models import Run, RunStep, StepStatus, utcnow

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


class Runner:
    def __init__(self, db: Database, run_id: int):
        self.db = db
        self.run_id = run_id

    @classmethod
    def start(cls, db: Database, kind: str, name: str, config: dict, *, from_scratch: bool = False,
              unfinished_only: bool = False) -> "Runner":
        """Resume the latest run with this kind and name, or start a new one.

        With `unfinished_only`, a run that already finished is not resumed (nightly: each
        night is a new run, but a night that was killed continues).
        """
        with db.session() as s:
            run = None
            if not from_scratch:
                run = s.scalar(select(Run).where(Run.kind == kind, Run.name == name).order_by(Run.id.desc()))
                if run is not None and unfinished_only and run.status is StepStatus.DONE:
                    run = None
            if run is None:
                run = Run(kind=kind, name=name, config=config, versions=package_versions(),
                          status=StepStatus.RUNNING)
                s.add(run)
                s.flush()
            else:
                run.status = StepStatus.RUNNING
                run.finished_at = None
            return cls(db, run.id)

    @property
    def resumed(self) -> bool:
        return bool(self.done_keys())

    def done_keys(self) -> set[str]:
        with self.db.session() as s:
            return set(s.scalars(select(RunStep.key).where(RunStep.run_id == self.run_id,
                                                           RunStep.status == StepStatus.DONE)))

    def _find(self, s, key: str) -> RunStep | None:
        return s.scalar(select(RunStep).where(RunStep.run_id == self.run_id, RunStep.key == key))

    def details(self, key: str) -> dict | None:
        with self.db.session() as s:
            step = self._find(s, key)
            return step.details if step is not None and step.status is StepStatus.DONE else None

    def step(self, key: str, fn: Callable[[], dict | None]) -> tuple[dict, bool]:
        """Run `fn` unless the step is done. Returns (details, ran_now)."""
        with self.db.session() as s:
            step = self._find(s, key)
            if step is not None and step.status is StepStatus.DONE:
                return step.details or {}, False
            if step is None:
                step = RunStep(run_id=self.run_id, key=key)
                s.add(step)
            step.status, step.started_at, step.finished_at = StepStatus.RUNNING, utcnow(), None
        try:
            details = fn() or {}
        except BaseException as exc:
            self._finish(key, StepStatus.FAILED, {"error": "".join(traceback.format_exception_only(exc)).strip()})
            raise
        self._finish(key, StepStatus.DONE, details)
        return details, True

    def _finish(self, key: str, status: StepStatus, details: dict) -> None:
        with self.db.session() as s:
            step = self._find(s, key)
            step.status, step.details, step.finished_at = status, details, utcnow()

    def finish(self, status: StepStatus = StepStatus.DONE, report_path: str | None = None) -> None:
        with self.db.session() as s:
            run = s.get(Run, self.run_id)
            run.status, run.finished_at = status, utcnow()
            if report_path:
                run.report_path = report_path


def list_runs(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    with db.session() as s:
        runs = s.scalars(select(Run).order_by(Run.id.desc()).limit(limit)).all()
        return [{"id": r.id, "kind": r.kind, "name": r.name, "status": r.status.value,
                 "started_at": r.started_at, "finished_at": r.finished_at, "report": r.report_path,
                 "steps": [{"key": st.key, "status": st.status.value, "started_at": st.started_at,
                            "finished_at": st.finished_at} for st in r.steps]} for r in runs]
