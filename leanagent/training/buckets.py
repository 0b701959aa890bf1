"""Length-bucketed batches under a token budget, with the replay mixture.

A fixed number of examples per batch, padded to the longest, makes a batch's
memory and time follow its longest example: one 2,300-byte input among short
ones pads them all. Here a batch is a set of examples of similar length whose
padded size stays under a budget:

    len(batch) * sum over parts of max(part size in batch) <= max_tokens

(parts: the input and the target of a sequence-to-sequence example). Memory
per step is then bounded by the budget, not by the longest example; a single
example larger than the budget is a batch of its own.

The plan (`bucket_batches`) is a pure function of the sizes and a seeded
random generator: shuffle, sort by size within pools of `pool` examples (so
that neighbours in a batch are of similar length but the epoch stays random),
cut greedily under the budget, shuffle the batches.

Replay: each epoch takes every new example once plus round(n_new * f / (1 - f))
replayed examples (drawn without replacement, starting over when the old pool
is used up), and buckets them together. The fraction f then holds over the
epoch and, in expectation, in every batch (a batch of similar lengths cannot
also hold an exact quota of old examples).
"""

from __future__ import annotations

import random
from typing import Sequence

import numpy as np
from torch.utils.data import Sampler

from leanagent.curriculum import easy_first_bands

#: Examples sorted together before cutting batches: large enough to find similar lengths, small enough
#: that the order of an epoch stays random.
POOL = 1024


def _as_sizes(sizes) -> np.ndarray:
    arr = np.asarray(sizes, dtype=np.int64)
    if arr.size == 0:
        return np.zeros((0, arr.shape[1] if arr.ndim == 2 else 1), dtype=np.int64)
    return arr.reshape(len(arr), -1) if arr.ndim != 2 else arr  # (N, parts)


def padded_tokens(sizes) -> int:
    """Tokens of one padded batch: count x the sum over parts of the longest part (pure)."""
    arr = _as_sizes(sizes)
    return int(len(arr) * arr.max(axis=0).sum()) if len(arr) else 0


def bucket_batches(sizes, max_tokens: int, rng: random.Random, pool: int = POOL) -> list[list[int]]:
    """Batches of indices into `sizes` ((N,) or (N, parts)), each under `max_tokens` padded tokens (pure).

    Every index appears exactly once; batch order is shuffled.
    """
    arr = _as_sizes(sizes)
    order = list(range(len(arr)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start:start + pool], key=lambda i: (int(arr[i].sum()), i))
        batch: list[int] = []
        longest = np.zeros(arr.shape[1], dtype=np.int64)  # (parts,) longest of each part in `batch`
        for i in chunk:
            grown = np.maximum(longest, arr[i])
            if batch and (len(batch) + 1) * int(grown.sum()) > max_tokens:
                batches.append(batch)
                batch, grown = [], arr[i].copy()
            batch.append(i)
            longest = grown
        if batch:
            batches.append(batch)
    rng.shuffle(batches)
    return batches


def rehearsal_draws(n_new: int, n_old: int, fraction: float, rng: random.Random, pool: list[int]) -> list[int]:
    """Old indices (offset by n_new) to mix into one epoch; `pool` carries the undrawn ones across epochs."""
    if n_old == 0 or fraction <= 0 or n_new == 0:
        return []
    want = round(n_new * fraction / (1.0 - fraction))
    out = []
    for _ in range(want):
        if not pool:
            pool.extend(range(n_new, n_new + n_old))
            rng.shuffle(pool)
        out.append(pool.pop())
    return out


class BucketBatchSampler(Sampler):
    """Token-budgeted batches over a dataset laid out as new examples followed by replayed ones."""

    def __init__(self, new_sizes, old_sizes, max_tokens: int, fraction: float, seed: int = 0,
                 difficulty: Sequence[float | None] | None = None):
        new, old = _as_sizes(new_sizes), _as_sizes(old_sizes)
        self.n_new, self.n_old = len(new), len(old)
        width = max(new.shape[1] if len(new) else 1, old.shape[1] if len(old) else 1)
        self.sizes = np.zeros((self.n_new + self.n_old, width), dtype=np.int64)  # (N, parts)
        if len(new):
            self.sizes[:self.n_new, :new.shape[1]] = new
        if len(old):
            self.sizes[self.n_new:, :old.shape[1]] = old
        self.max_tokens, self.fraction, self.seed = max_tokens, fraction, seed
        self.difficulty = difficulty  # per new example: easy-first bands (None: one shuffled epoch)
        self.rng = random.Random(seed)
        self.pool: list[int] = []
        self.epoch = 0
        self._next: list[list[int]] | None = None

    def _plan(self) -> list[list[int]]:
        """The next epoch's batches (planned once: `len()` and the iteration agree)."""
        if self._next is None:
            old = rehearsal_draws(self.n_new, self.n_old, self.fraction, self.rng, self.pool)
            if self.difficulty is None:
                groups = [list(range(self.n_new)) + old]
            else:
                # Easy-first: bucket each difficulty band on its own (with its share of the replayed
                # draws), shuffle batches inside a band, serve the bands easy to hard.
                bands = easy_first_bands(self.difficulty, self.rng)
                shares = np.array_split(np.asarray(old, dtype=np.int64), len(bands)) if bands else []
                groups = [band + share.tolist() for band, share in zip(bands, shares)]
            self._next = []
            for picked in groups:
                local = bucket_batches(self.sizes[picked], self.max_tokens, self.rng)
                self._next += [[picked[j] for j in batch] for batch in local]
        return self._next

    def __iter__(self):
        batches = self._plan()
        self._next = None
        self.epoch += 1
        return iter(batches)

    def __len__(self) -> int:
        return len(self._plan())


def fisher_batches(sizes: Sequence, max_tokens: int, count: int, seed: int) -> list[list[int]]:
    """Up to `count` budgeted batches for EWC's Fisher estimate (same bound on memory as training)."""
    return bucket_batches(sizes, max_tokens, random.Random(seed))[:count]
