"""The one evaluation path behind the lifelong matrices, for both models.

`fill_matrix` evaluates a retriever and/or a generator on a split of each
repository and stores every value as a cell (trained index i, evaluated
repository j) of the run's matrices. `leanagent train retriever`, `train
generator` and `learn` all call it, so a cell means the same thing wherever it
was filled.
"""

from __future__ import annotations

from typing import Sequence

from leanagent.db.engine import Database

#: Metric names of the matrix cells (Evaluation.metric).
R1, R10, MRR = "R@1", "R@10", "MRR"
ACC, TOPK = "tactic_acc", "tactic_top_k"


def retrieval_metrics(retriever, db: Database, repos: Sequence[str], split: str = "test",
                      deadline: float | None = None) -> dict:
    """{"R@1", "R@10", "MRR" (percentages), "steps", "per_repo": {...}} over steps with gold premises."""
    from leanagent.db.training_data import step_examples
    from leanagent.retrieval.evaluate import evaluate_examples

    return evaluate_examples(retriever, [e for repo in repos for e in step_examples(db, repo, split)],
                             deadline=deadline)


def fill_matrix(db: Database, run_id: int, index: int, trained: str | None, repos: Sequence[str], *,
                retriever=None, generator=None, split: str = "test", limit: int | None = None,
                k: int = 1, deadline: float | None = None) -> dict[str, dict[str, float | None]]:
    """Evaluate on `split` of every repository and store the cells; returns {metric: {repo: value}}.

    A repository with no step to evaluate gets None (undefined, not 0) and no stored cell.
    `limit` caps the generator's steps per repository (decoding is the slow part); `k` > 1 adds
    top-k accuracy to the exact match of the best tactic. No batch starts after `deadline`
    (time.monotonic()): a cell is then over the steps evaluated, and a repository reached after
    it gets none.
    """
    from leanagent.db.runs import store_evaluation
    from leanagent.generator.evaluate import tactic_accuracy
    from leanagent.training.generator import examples_for

    cells: dict[str, dict[str, float | None]] = {}
    for repo in repos:
        values: dict[str, float | None] = {}
        if retriever is not None:
            m = retrieval_metrics(retriever, db, [repo], split, deadline=deadline)
            for metric in (R1, R10, MRR):
                values[metric] = m[metric] if m["steps"] else None
        if generator is not None:
            steps = examples_for(db, repo, split)[:limit]
            t = tactic_accuracy(generator, steps, k=k, deadline=deadline)
            values[ACC] = t["exact_match"] if t["steps"] else None
            if k > 1:
                values[TOPK] = t["top_k"] if t["steps"] else None
        for metric, value in values.items():
            if value is not None:
                store_evaluation(db, run_id, metric, index, trained, repo, value)
            cells.setdefault(metric, {})[repo] = value
    return cells


def stage_evaluator(db: Database, repos: Sequence[str], *, model: str, split: str = "test",
                    limit: int | None = None, k: int = 1, log=None, budget=None):
    """A trainer's `evaluate` callback: after stage i, fill row i of the matrices on repos[:i+1].

    Returns {"per_repo": {repo: {metric: value}}} for the stage's metrics.json. `model` is
    `retriever` or `generator`. With a `budget` (the command's `leanagent.training.budget.TimeBudget`,
    shared with the trainer), evaluation stops at the end of the stage's time slot.
    """
    def evaluate(run_id: int, index: int, trained: str, built) -> dict:
        seen = list(repos[:index + 1])
        kw = {"retriever": built} if model == "retriever" else {"generator": built, "limit": limit, "k": k}
        deadline = budget.eval_deadline() if budget is not None else None
        cells = fill_matrix(db, run_id, index, trained, seen, split=split, deadline=deadline, **kw)
        per = {repo: {metric: cells[metric][repo] for metric in cells} for repo in seen}
        if log is not None:
            log(event="evaluated", trained=trained, index=index, per_repo=per)
        out = {"split": split, "per_repo": per}
        if deadline is not None and budget.expired(deadline):  # cells are over the steps evaluated in time
            out["limited_by_time"] = True
        return out

    return evaluate
