"""Deterministic train/val/test splits at the theorem level (pure functions).

`random`: each theorem falls in a split by a hash of (seed, repository, file,
full name, start), so a theorem keeps its split when other repositories are
added, and the fractions are 80/10/10 in expectation.

`novel_premises` (LeanDojo's harder split): every val/test theorem uses at
least one premise that no training theorem uses.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Hashable, Iterable, Mapping

SPLITS = ("train", "val", "test")
#: How a repository's theorems get their split when stored (`leanagent import --split`):
#: `hash` (the seeded per-theorem hash below), `dataset` (the membership of the dataset's own
#: train/val/test files, comparable with published LeanDojo figures) or `test` (evaluation-only:
#: never used for training, kNN, frequency or templates).
SPLIT_POLICIES = ("hash", "dataset", "test")
SPLIT_KINDS = ("random", "novel_premises")
DEFAULT_SEED = 3407
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def _unit(seed: int, key: Iterable) -> float:
    """A uniform number in [0, 1) from the seed and a key, stable across runs and machines."""
    h = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def random_split(key: tuple, seed: int = DEFAULT_SEED, fractions=DEFAULT_FRACTIONS) -> str:
    """The split of one theorem, keyed by (repo name, file, full name, line, col)."""
    u = _unit(seed, key)
    if u < fractions[0]:
        return "train"
    if u < fractions[0] + fractions[1]:
        return "val"
    return "test"


def stored_split(stored: str | None, key: tuple) -> str:
    """A theorem's split as stored; the hash split for a row written without one (pure).

    Every import stores a split and migration 0003 backfilled older rows, so only rows inserted
    around `store_repo` (test fixtures, hand-made databases) reach the fallback.
    """
    return stored or random_split(key)


def decide_split(policy: str, key: tuple, dataset_split: str | None = None) -> str:
    """The stored split of one theorem under a repository's split policy (pure)."""
    if policy == "test":
        return "test"
    if policy == "dataset":
        if dataset_split not in SPLITS:
            raise ValueError(f"theorem {key[2] if len(key) > 2 else key} has no dataset split")
        return dataset_split
    return random_split(key)


def novel_premises_split(premises_of: Mapping[Hashable, Iterable[Hashable]], seed: int = DEFAULT_SEED,
                         fractions=DEFAULT_FRACTIONS) -> dict[Hashable, str]:
    """Assign every theorem a split so that val/test theorems use a premise unseen in train.

    Walk premises in a seeded order. Each premise sends all its still-unassigned
    users to test until test is full, then to val; the rest is train. A premise
    picked this way is used by no training theorem, so each val/test theorem
    assigned through it has a novel premise.
    """
    users: dict[Hashable, list] = defaultdict(list)
    for thm in sorted(premises_of, key=repr):
        for p in set(premises_of[thm]):
            users[p].append(thm)
    n = len(premises_of)
    want = {"test": round(n * fractions[2]), "val": round(n * fractions[1])}
    assigned: dict[Hashable, str] = {}
    counts = {"test": 0, "val": 0}
    order = sorted(users, key=lambda p: _unit(seed, ("premise", repr(p))))
    for target in ("test", "val"):
        for p in order:
            if counts[target] >= want[target]:
                break
            if any(assigned.get(t) == "train" for t in users[p]):
                continue
            fresh = [t for t in users[p] if t not in assigned]
            # Skip premises whose users would overshoot the target by a lot (a
            # premise like `Eq.refl` used by half the corpus).
            if not fresh or counts[target] + len(fresh) > want[target] * 1.5 + 1:
                continue
            for t in fresh:
                assigned[t] = target
            counts[target] += len(fresh)
    for thm in premises_of:
        assigned.setdefault(thm, "train")
    return assigned
