"""Replay mixture: the fraction of every batch drawn from earlier repositories."""

from __future__ import annotations

import random

from leanagent.training.rehearsal import RehearsalBatchSampler, batch_composition, rehearsal_batches


def test_composition():
    assert batch_composition(16, 0.25, n_old=100) == (12, 4)
    assert batch_composition(16, 0.25, n_old=0) == (16, 0)  # first repository: nothing to replay
    assert batch_composition(16, 0.0, n_old=100) == (16, 0)  # replay off
    assert batch_composition(2, 0.9, n_old=5) == (1, 1)  # always at least one new example


def test_every_new_example_once_and_old_ones_mixed_in():
    batches = rehearsal_batches(30, 7, 8, 0.25, random.Random(0))
    new = [i for b in batches for i in b if i < 30]
    old = [i for b in batches for i in b if i >= 30]
    assert sorted(new) == list(range(30))
    assert all(sum(i >= 30 for i in b) == 2 for b in batches)
    assert set(old) <= set(range(30, 37)) and len(old) == 2 * len(batches)


def test_sampler_changes_order_per_epoch_and_knows_its_length():
    s = RehearsalBatchSampler(20, 0, 4, 0.25, seed=1)
    first, second = list(s), list(s)
    assert len(s) == 5 == len(first) and first != second
    assert sorted(i for b in first for i in b) == list(range(20))
