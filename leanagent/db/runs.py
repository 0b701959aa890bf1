"""Run bookkeeping: runs and their steps, checkpoints and the cells of the lifelong matrices.

The steps of a lifelong run (`leanagent.lifelong.runs.Runner`) are stored here as `RunStep` rows; a run
started inside a learn or nightly step (a trainer's) is named after its parent and listed under it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import delete, func, select

from leanagent.db.engine import Database
from leanagent.db.models import Checkpoint, Evaluation, Repository, Run, RunStep, StepStatus, utcnow
from leanagent.errors import DatasetError


def start_run(db: Database, kind: str, name: str | None, config: dict | None = None) -> int:
    """Create a Run row and return its id (evaluations and checkpoints hang off it)."""
    with db.session() as s:
        run = Run(kind=kind, name=name, config=config)
        s.add(run)
        s.flush()
        return run.id


def finish_run(db: Database, run_id: int, ok: bool = True) -> None:
    """Record the end of a run. Callers call it from a `finally` block: when a Ctrl-C is on its way out,
    the run is `interrupted` (resumable, and not an error), else `failed`."""
    interrupted = not ok and isinstance(sys.exc_info()[1], KeyboardInterrupt)
    end_run(db, run_id, StepStatus.DONE if ok else (StepStatus.INTERRUPTED if interrupted else StepStatus.FAILED))


def end_run(db: Database, run_id: int, status: StepStatus, report_path: str | None = None) -> None:
    """Record the end of a run with `status` (and its report, when given); no such run: nothing."""
    with db.session() as s:
        run = s.get(Run, run_id)
        if run is not None:
            run.status, run.finished_at = status, utcnow()
            if report_path:
                run.report_path = report_path


def record_checkpoint(db: Database, run_id: int | None, repo: str | None, kind: str, path: str,
                      config: dict | None = None, metrics: dict | None = None) -> int:
    with db.session() as s:
        repo_id = s.scalar(select(Repository.id).where(Repository.name == repo)) if repo else None
        row = Checkpoint(run_id=run_id, repo_id=repo_id, kind=kind, path=path, config=config, metrics=metrics)
        s.add(row)
        s.flush()
        return row.id


def latest_checkpoint(db: Database, kind: str) -> str | None:
    """Path of the newest recorded checkpoint of a kind (retriever | generator | index)."""
    with db.session() as s:
        return s.scalar(select(Checkpoint.path).where(Checkpoint.kind == kind)
                        .order_by(Checkpoint.created_at.desc(), Checkpoint.id.desc()).limit(1))


def store_evaluation(db: Database, run_id: int, metric: str, trained_index: int, trained_repo: str | None,
                     eval_repo: str, value: float) -> None:
    """Write one cell of the lifelong matrix (replacing an earlier value of the same cell)."""
    with db.session() as s:
        ids = dict(s.execute(select(Repository.name, Repository.id)).all())
        if eval_repo not in ids:
            raise DatasetError(f"unknown repository {eval_repo!r}")
        s.execute(delete(Evaluation).where(Evaluation.run_id == run_id, Evaluation.metric == metric,
                                           Evaluation.trained_index == trained_index,
                                           Evaluation.eval_repo_id == ids[eval_repo]))
        s.add(Evaluation(run_id=run_id, metric=metric, trained_index=trained_index,
                         trained_repo_id=ids.get(trained_repo) if trained_repo else None,
                         eval_repo_id=ids[eval_repo], value=float(value)))


def evaluation_matrix(db: Database, run_id: int, metric: str) -> dict[tuple[int, str], float]:
    """{(trained index i, evaluated repository j): value} for one run and metric."""
    with db.session() as s:
        rows = s.execute(select(Evaluation.trained_index, Repository.name, Evaluation.value)
                         .join(Repository, Evaluation.eval_repo_id == Repository.id)
                         .where(Evaluation.run_id == run_id, Evaluation.metric == metric)).all()
    return {(i, name): v for i, name, v in rows}


# -- lifelong runs and their steps (leanagent.lifelong.runs.Runner) --------------------------------


@dataclass(frozen=True)
class LatestRun:
    """The newest run of a kind and name, as `resume_or_start_run` offers it for resuming."""

    id: int
    status: StepStatus
    config: dict | None


def resume_or_start_run(db: Database, kind: str, name: str, config: dict, versions: dict,
                        resume: Callable[[LatestRun], bool] | None) -> int:
    """In one transaction: mark the newest run of this kind and name `running` again when `resume` accepts
    it (`resume` may also raise, to refuse with a reason), else start a new `running` run with `config`
    and the package `versions`. `resume=None` always starts a new run. Returns the run's id."""
    with db.session() as s:
        run = None
        if resume is not None:
            run = s.scalar(select(Run).where(Run.kind == kind, Run.name == name).order_by(Run.id.desc()))
            if run is not None and not resume(LatestRun(run.id, run.status, run.config)):
                run = None
        if run is None:
            run = Run(kind=kind, name=name, config=config, versions=versions, status=StepStatus.RUNNING)
            s.add(run)
            s.flush()
        else:
            run.status = StepStatus.RUNNING
            run.finished_at = None
        return run.id


def _find_step(s, run_id: int, key: str) -> RunStep | None:
    return s.scalar(select(RunStep).where(RunStep.run_id == run_id, RunStep.key == key))


def done_step_keys(db: Database, run_id: int) -> set[str]:
    """The keys of the run's steps that are done."""
    with db.session() as s:
        return set(s.scalars(select(RunStep.key).where(RunStep.run_id == run_id, RunStep.status == StepStatus.DONE)))


def done_step_details(db: Database, run_id: int, key: str) -> dict | None:
    """The stored result of a done step; None when the step is not done (or not there)."""
    with db.session() as s:
        step = _find_step(s, run_id, key)
        return step.details if step is not None and step.status is StepStatus.DONE else None


def begin_step(db: Database, run_id: int, key: str) -> tuple[dict | None, int]:
    """(the step's stored result, 0) when it is already done; else mark it `running` (creating it when new)
    and return (None, the newest run id): the runs this step starts come after that id."""
    with db.session() as s:
        step = _find_step(s, run_id, key)
        if step is not None and step.status is StepStatus.DONE:
            return step.details or {}, 0
        if step is None:
            step = RunStep(run_id=run_id, key=key)
            s.add(step)
        step.status, step.started_at, step.finished_at = StepStatus.RUNNING, utcnow(), None
        return None, s.scalar(select(func.max(Run.id))) or 0


def end_step(db: Database, run_id: int, key: str, status: StepStatus, details: dict) -> None:
    """Record the end of a step (begun with `begin_step`) and its result."""
    with db.session() as s:
        step = _find_step(s, run_id, key)
        step.status, step.details, step.finished_at = status, details, utcnow()


def plan_steps(db: Database, run_id: int, keys: list[str]) -> None:
    """Record the steps still to come as `pending` (existing steps keep their status)."""
    with db.session() as s:
        have = set(s.scalars(select(RunStep.key).where(RunStep.run_id == run_id)))
        s.add_all(RunStep(run_id=run_id, key=k, status=StepStatus.PENDING)
                  for k in dict.fromkeys(keys) if k not in have)


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


def interrupt_child_runs(db: Database, run_id: int, after: int) -> None:
    """A child run (a trainer's) newer than run `after`, stopped by the same Ctrl-C as its parent `run_id`,
    recorded itself `failed` (or is still `running`): it was interrupted."""
    with db.session() as s:
        for child in _children(s, [run_id]).get(run_id, []):
            if child.id > after and child.status in (StepStatus.FAILED, StepStatus.RUNNING):
                child.status, child.finished_at = StepStatus.INTERRUPTED, child.finished_at or utcnow()


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
