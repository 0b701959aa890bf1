"""Retrieval metrics as LeanDojo/ReProver define them (pure functions).

Over tactic steps with at least one annotated premise:
- R@k = |top-k retrieved ∩ gold| / |gold|, averaged over steps;
- MRR = 1 / rank of the first gold premise in the retrieved list (0 if none), averaged.
Reported as percentages, per repository and overall (overall = mean over all steps).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

KS = (1, 10)


def recall_at(retrieved: Sequence[int], gold: Iterable[int], k: int) -> float:
    gold = set(gold)
    if not gold:
        raise ValueError("recall needs at least one gold premise")
    return len(set(retrieved[:k]) & gold) / len(gold)


def reciprocal_rank(retrieved: Sequence[int], gold: Iterable[int]) -> float:
    gold = set(gold)
    for rank, p in enumerate(retrieved, start=1):
        if p in gold:
            return 1.0 / rank
    return 0.0


def step_metrics(retrieved: Sequence[int], gold: Iterable[int]) -> dict[str, float]:
    gold = list(gold)
    out = {f"R@{k}": recall_at(retrieved, gold, k) for k in KS}
    out["MRR"] = reciprocal_rank(retrieved, gold)
    return out


def _mean_percent(rows: list[dict[str, float]]) -> dict[str, float]:
    if not rows:
        return {**{f"R@{k}": 0.0 for k in KS}, "MRR": 0.0, "steps": 0}
    keys = rows[0].keys()
    return {**{key: round(100.0 * sum(r[key] for r in rows) / len(rows), 2) for key in keys}, "steps": len(rows)}


def aggregate(results: Iterable[tuple[str, Sequence[int], Sequence[int]]]) -> dict:
    """(repo, retrieved ids, gold ids) per step -> {"R@1", "R@10", "MRR", "steps", "per_repo": {...}}.

    Steps without gold premises are skipped, as in LeanDojo.
    """
    per_repo: dict[str, list[dict]] = defaultdict(list)
    for repo, retrieved, gold in results:
        if gold:
            per_repo[repo].append(step_metrics(list(retrieved), gold))
    everything = [r for rows in per_repo.values() for r in rows]
    return {**_mean_percent(everything), "per_repo": {repo: _mean_percent(rows) for repo, rows in per_repo.items()}}
