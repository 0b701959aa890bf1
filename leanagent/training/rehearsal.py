"""Replay mixture: every batch takes a fixed fraction of earlier repositories' examples.

This is the data-mixture lesson of continual pre-training: a little old data
in every batch limits forgetting far more cheaply than regularisers. LeanAgent
itself trains on the new repository alone (fraction 0).
"""

from __future__ import annotations

import math
import random
from typing import Sequence

from torch.utils.data import Sampler

from leanagent.curriculum import easy_first_bands


def batch_composition(batch_size: int, fraction: float, n_old: int) -> tuple[int, int]:
    """(new examples, replayed examples) per batch. No old data -> all new (pure)."""
    if n_old == 0 or fraction <= 0:
        return batch_size, 0
    old = min(batch_size - 1, max(1, round(batch_size * fraction)))  # at least one new example per batch
    return batch_size - old, old


def rehearsal_batches(n_new: int, n_old: int, batch_size: int, fraction: float, rng: random.Random,
                   difficulty: Sequence[float | None] | None = None) -> list[list[int]]:
    """One epoch of batches over indices [0, n_new) (new) and [n_new, n_new + n_old) (replayed).

    Every new example appears once per epoch; replayed ones are drawn without
    replacement, starting over when the old pool is used up. With `difficulty`
    (one value per new example) the new examples come easy-first: shuffled
    within difficulty bands, the bands in order (`leanagent.curriculum.easy_first_bands`).
    """
    new_per, old_per = batch_composition(batch_size, fraction, n_old)
    if difficulty is None:
        new = list(range(n_new))
        rng.shuffle(new)
    else:
        new = [i for band in easy_first_bands(difficulty, rng) for i in band]
    old_pool: list[int] = []
    batches = []
    for start in range(0, n_new, new_per):
        batch = new[start:start + new_per]
        for _ in range(old_per):
            if not old_pool:
                old_pool = list(range(n_new, n_new + n_old))
                rng.shuffle(old_pool)
            batch.append(old_pool.pop())
        batches.append(batch)
    return batches


class RehearsalBatchSampler(Sampler):
    """A batch sampler for a dataset laid out as new examples followed by replayed ones (easy-first when
    given the new examples' `difficulty`)."""

    def __init__(self, n_new: int, n_old: int, batch_size: int, fraction: float, seed: int = 0,
                 difficulty: Sequence[float | None] | None = None):
        self.n_new, self.n_old, self.batch_size, self.fraction, self.seed = n_new, n_old, batch_size, fraction, seed
        self.difficulty = difficulty
        self.epoch = 0

    def __iter__(self):
        # A different but reproducible order each epoch.
        rng = random.Random(self.seed * 1_000_003 + self.epoch)
        self.epoch += 1
        return iter(rehearsal_batches(self.n_new, self.n_old, self.batch_size, self.fraction, rng, self.difficulty))

    def __len__(self) -> int:
        new_per, _ = batch_composition(self.batch_size, self.fraction, self.n_old)
        return math.ceil(self.n_new / new_per) if self.n_new else 0
