"""The one evaluation path behind the lifelong matrices, for both models.

`fill_matrix` evaluates a retriever and/or a generator on a split of each
repository and stores every value as a cell (trained index i, evaluated
repository j) of the run's matrices. `leanagent train retriever`, `train
generator` and `learn` all call it, so a cell means the same thing wherever it
was filled.
"""

from __future__ import annotations

import random
from typing import Sequence, TypeVar

from leanagent.db.engine import Database

#: Metric names of the matrix cells (Evaluation.metric).
R1, R10, MRR = "R@1", "R@10", "MRR"
ACC, TOPK = "tactic_acc", "tactic_top_k"
#: Exact match of the frequency baseline (the most frequent training tactic) on the steps `ACC` is over.
ACC_FREQUENCY = "tactic_acc_frequency"
#: The metrics whose cells are proportions over evaluated steps (their denominators are stored too).
COUNTED = (R1, R10, MRR, ACC, TOPK, ACC_FREQUENCY)

T = TypeVar("T")


def steps_metric(metric: str) -> str:
    """The name of the cell holding `metric`'s denominator, the steps it was measured on (`R@10/n`)."""
    return f"{metric}/n"


def eval_sample(steps: Sequence[T], size: int | None, seed: int, key: str) -> list[T]:
    """At most `size` of `steps`, a sample drawn with `seed` and `key` (the repository), in their order (pure).

    The same seed, key and steps give the same sample in every process and every stage, so the cells of
    one column of a matrix are over the same steps; unlike the first `size` steps (a few theorems in
    file order) it spreads over the whole split. All of them when `size` is None or not smaller."""
    if size is None or size >= len(steps):
        return list(steps)
    # A str seed is hashed with SHA-512 by `random`, independent of PYTHONHASHSEED.
    keep = sorted(random.Random(f"{seed}:{key}").sample(range(len(steps)), max(0, size)))
    return [steps[i] for i in keep]


def retrieval_metrics(retriever, db: Database, repos: Sequence[str], split: str = "test",
                      deadline: float | None = None, limit: int | None = None, seed: int = 0) -> dict:
    """{"R@1", "R@10", "MRR" (percentages), "steps", "per_repo": {...}} over steps with gold premises
    (with `limit`, a seeded sample of each repository's: `eval_sample`)."""
    from leanagent.db.training_data import step_examples
    from leanagent.retrieval.evaluate import evaluate_examples

    return evaluate_examples(retriever, [e for repo in repos
                                         for e in eval_sample(step_examples(db, repo, split), limit, seed, repo)],
                             deadline=deadline)


def fill_matrix(db: Database, run_id: int, index: int, trained: str | None, repos: Sequence[str], *,
                retriever=None, generator=None, baseline=None, split: str = "test", limit: int | None = None,
                seed: int = 0, k: int = 1, deadline: float | None = None) -> dict[str, dict[str, float | None]]:
    """Evaluate on `split` of every repository and store the cells; returns {metric: {repo: value}}.

    Every proportion's denominator (the steps it is over) is a cell too, under `steps_metric(metric)`,
    so that the report can print it and an interval beside the figure. A repository with no step to
    evaluate gets None (undefined, not 0) and no stored cell. `limit`: a fixed-size sample of each
    repository's steps, drawn with `seed` (`eval_sample`), for both models. `baseline`: a proposer
    (the frequency baseline) whose exact match on the generator's very steps is stored as ACC_FREQUENCY.
    `k` > 1 adds top-k accuracy to the exact match of the best tactic. No batch starts after `deadline`
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
            m = retrieval_metrics(retriever, db, [repo], split, deadline=deadline, limit=limit, seed=seed)
            for metric in (R1, R10, MRR):
                values[metric] = m[metric] if m["steps"] else None
                values[steps_metric(metric)] = m["steps"] or None
        if generator is not None or baseline is not None:
            steps = eval_sample(examples_for(db, repo, split), limit, seed, repo)
            for proposer, metric in ((generator, ACC), (baseline, ACC_FREQUENCY)):
                if proposer is None:
                    continue
                t = tactic_accuracy(proposer, steps, k=k, deadline=deadline)
                values[metric] = t["exact_match"] if t["steps"] else None
                values[steps_metric(metric)] = t["steps"] or None
                if k > 1 and metric == ACC:
                    values[TOPK] = t["top_k"] if t["steps"] else None
                    values[steps_metric(TOPK)] = t["steps"] or None
        for metric, value in values.items():
            if value is not None:
                store_evaluation(db, run_id, metric, index, trained, repo, value)
            cells.setdefault(metric, {})[repo] = value
    return cells


def frequency_baseline(db: Database, seen: Sequence[str]):
    """The frequency baseline of a stage: the most frequent tactics of the train split of the repositories
    learned so far (what the generator trained on), leaving each evaluated theorem's own steps out."""
    from leanagent.data import SourceScope
    from leanagent.db.training_data import proposer_steps
    from leanagent.generator.frequency import FrequencyProposer

    return FrequencyProposer(proposer_steps(db, SourceScope(repos=tuple(seen), splits=("train",))))


def stage_evaluator(db: Database, repos: Sequence[str], *, model: str, split: str = "test",
                    limit: int | None = None, k: int = 1, seed: int = 0, log=None, budget=None):
    """A trainer's `evaluate` callback: after stage i, fill row i of the matrices on repos[:i+1].

    Returns {"per_repo": {repo: {metric: value}}} for the stage's metrics.json (`limit` and `seed`: the
    generator's sample of steps, `eval_sample`; `k`: its beams). `model` is
    `retriever` or `generator`. With a `budget` (the command's `leanagent.training.budget.TimeBudget`,
    shared with the trainer), evaluation stops at the end of the stage's time slot.
    """
    def evaluate(run_id: int, index: int, trained: str, built) -> dict:
        seen = list(repos[:index + 1])
        # The generator's figures sit beside the frequency baseline's on the same steps.
        kw = {"retriever": built} if model == "retriever" else {"generator": built, "limit": limit, "k": k,
                                                                 "seed": seed, "baseline": frequency_baseline(db, seen)}
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
