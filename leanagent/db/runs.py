"""Run bookkeeping: runs, checkpoints and the cells of the lifelong matrices."""

from __future__ import annotations

import sys

from sqlalchemy import delete, select

from leanagent.db.engine import Database
from leanagent.db.models import Checkpoint, Evaluation, Repository, Run, StepStatus, utcnow
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
    with db.session() as s:
        run = s.get(Run, run_id)
        if run is not None:
            run.status = StepStatus.DONE if ok else (StepStatus.INTERRUPTED if interrupted else StepStatus.FAILED)
            run.finished_at = utcnow()


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
