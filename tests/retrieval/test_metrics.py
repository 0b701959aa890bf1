"""Retrieval metrics as LeanDojo defines them."""

from __future__ import annotations

import pytest

from leanagent.retrieval.metrics import aggregate, recall_at, reciprocal_rank


def test_recall_and_mrr_by_hand():
    retrieved = [5, 3, 9, 1]
    assert recall_at(retrieved, [3, 1], 1) == 0.0
    assert recall_at(retrieved, [3, 1], 2) == 0.5
    assert recall_at(retrieved, [3, 1], 10) == 1.0
    assert reciprocal_rank(retrieved, [3, 1]) == 0.5
    assert reciprocal_rank(retrieved, [7]) == 0.0
    with pytest.raises(ValueError):
        recall_at(retrieved, [], 1)


def test_aggregate_per_repo_overall_and_skips_steps_without_gold():
    m = aggregate([("a", [1, 2], [1]), ("a", [2, 1], [1]), ("b", [3], [4]), ("b", [3], [])])
    assert m["per_repo"]["a"] == {"R@1": 50.0, "R@10": 100.0, "MRR": 75.0, "steps": 2}
    assert m["per_repo"]["b"] == {"R@1": 0.0, "R@10": 0.0, "MRR": 0.0, "steps": 1}
    # Overall is the mean over steps, not over repositories.
    assert m["steps"] == 3 and m["R@10"] == pytest.approx(66.67) and m["MRR"] == 50.0
