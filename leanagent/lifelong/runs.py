"""Runs and their steps, recorded in the database so that any step can be killed and run again.

`Runner.step(key, fn)` runs `fn` only when the step is not already done in
this run; a finished step's result (its `details`) is stored with it and
returned on a rerun. A step stopped by Ctrl-C is recorded `interrupted` (with
its run), one that raised is `failed` (with its run), and one killed outright
is left `running`; each simply runs again when the same command runs again.
`Runner.plan(keys)` records the steps still to come as `pending`, so that
`leanagent runs` counts them. Runs started inside a step (the trainers' own
runs, named `learn-<id>-...`) are listed under their parent by `list_runs`.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import traceback
from typing import Any, Callable

from sqlalchemy import func, select

from leanagent.db.engine import Database
from leanagent.db.models import Run, RunStep, StepStatus, utcnow
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
        with db.session() as s:
            run = None
            if not from_scratch:
                run = s.scalar(select(Run).where(Run.kind == kind, Run.name == name).order_by(Run.id.desc()))
                if run is not None and unfinished_only and run.status is StepStatus.DONE:
                    run = None
                if run is not None and same_config:
                    differ = config_differences(run.config or {}, config)
                    if differ:
                        shown = ", ".join(differ[:6]) + (f" and {len(differ) - 6} more" if len(differ) > 6 else "")
                        raise ConfigError(
                            f"run {run.id} of {name} was made with other options ({shown} differ)",
                            fix="add --from-scratch to start a new run with these options, or rerun with the "
                                "old ones to resume it")
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
            newest = s.scalar(select(func.max(Run.id))) or 0  # runs started by this step come after it
        try:
            details = fn() or {}
        except BaseException as exc:
            # Ctrl-C is not a failure: the run is resumable and says so (`runs` shows `interrupted`).
            status = StepStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else StepStatus.FAILED
            self._finish(key, status, {"error": "".join(traceback.format_exception_only(exc)).strip()})
            self.finish(status)
            if status is StepStatus.INTERRUPTED:
                self._interrupt_children(after=newest)
            raise
        self._finish(key, StepStatus.DONE, details)
        return details, True

    def _interrupt_children(self, after: int) -> None:
        """A child run (a trainer's) stopped by the same Ctrl-C recorded itself `failed`: it was interrupted."""
        with self.db.session() as s:
            for child in _children(s, [self.run_id]).get(self.run_id, []):
                if child.id > after and child.status in (StepStatus.FAILED, StepStatus.RUNNING):
                    child.status, child.finished_at = StepStatus.INTERRUPTED, child.finished_at or utcnow()

    def plan(self, keys: list[str]) -> None:
        """Record the steps still to come as `pending` (existing steps keep their status)."""
        with self.db.session() as s:
            have = set(s.scalars(select(RunStep.key).where(RunStep.run_id == self.run_id)))
            s.add_all(RunStep(run_id=self.run_id, key=k, status=StepStatus.PENDING)
                      for k in dict.fromkeys(keys) if k not in have)

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


#: A run started inside a learn or nightly step (a trainer's) is named after its parent:
#: `learn-7-retriever` belongs to learn run 7, `nightly-9` to nightly run 9.
_CHILD_NAME = re.compile(r"^(learn|nightly)-(\d+)(?:-|$)")


def _parent_of(run: Run) -> int | None:
    m = _CHILD_NAME.match(run.name or "") if run.kind not in ("learn", "nightly") else None
    return int(m.group(2)) if m else None


def _children(s, parent_ids: list[int]) -> dict[int, list[Run]]:
    """{parent id: its child runs, oldest first}. Child runs are few and newer than their parent."""
    if not parent_ids:
        return {}
    rows = s.scalars(select(Run).where(Run.id > min(parent_ids)).order_by(Run.id)).all()
    out: dict[int, list[Run]] = {}
    for r in rows:
        parent = _parent_of(r)
        if parent in parent_ids:
            out.setdefault(parent, []).append(r)
    return out


def _as_dict(r: Run) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "name": r.name, "status": r.status.value,
            "started_at": r.started_at, "finished_at": r.finished_at, "report": r.report_path,
            "steps": [{"key": st.key, "status": st.status.value, "started_at": st.started_at,
                       "finished_at": st.finished_at} for st in r.steps]}


def list_runs(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    """The newest `limit` top-level runs, newest first, each with its steps and its child runs
    (`children`: the runs its steps started, such as a learn's trainer runs)."""
    with db.session() as s:
        top: list[Run] = []
        for r in s.scalars(select(Run).order_by(Run.id.desc())):  # few runs: a scan is fine
            if _parent_of(r) is None:
                top.append(r)
                if len(top) >= limit:
                    break
        children = _children(s, [r.id for r in top])
        return [{**_as_dict(r), "children": [_as_dict(c) for c in children.get(r.id, [])]} for r in top]
