"""Difficulty and curriculum order as pure functions (data in, order out).

LeanAgent's curriculum: a theorem with S traced proof steps has difficulty e^S;
a `sorry` theorem is Hard with infinite difficulty; theorems without steps are
spread evenly over Easy/Medium/Hard. Easy/Medium/Hard are split at the 33rd and
67th percentiles of the finite difficulties over all repositories, and
repositories are learned in order of their Easy count, most first.

NOTE: `theorem_difficulty` is used by `leanagent.db.ingest` to fill
`Theorem.difficulty`; keep its name and meaning.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Mapping, Sequence


# e^S overflows a float above S = 709. No real proof has that many steps, but a
# pathological trace must not crash the import, so the exponent is capped.
# Capping keeps the order of all realistic values (S <= 700) exact.
_MAX_EXPONENT = 700

#: The percentiles that split Easy | Medium | Hard, as in LeanAgent.
PERCENTILES = (33.0, 67.0)
#: Repository orders: LeanAgent's `easy-count`, `easy-fraction`, a seeded `random` one and `hard-first`
#: (the reverse of easy-count), the last two as ablation baselines.
ORDERS = ("easy-count", "easy-fraction", "random", "hard-first")
#: Orders of the examples inside one repository's training stage.
WITHIN_ORDERS = ("shuffled", "easy-first")
#: Difficulty bands of an easy-first stage: examples are shuffled inside a band, bands go easy to hard.
BANDS = 4
CATEGORIES = ("easy", "medium", "hard")


def theorem_difficulty(num_steps: int, is_sorry: bool = False) -> float | None:
    """e^S for a theorem with S traced proof steps; None (infinite) for a `sorry` theorem."""
    if is_sorry:
        return None
    return math.exp(min(num_steps, _MAX_EXPONENT))


def difficulty(num_steps: int, is_sorry: bool = False) -> float:
    """Like `theorem_difficulty`, with `math.inf` for a `sorry` theorem."""
    d = theorem_difficulty(num_steps, is_sorry)
    return math.inf if d is None else d


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile with linear interpolation between ranks (NumPy's default method)."""
    if not values:
        raise ValueError("percentile of an empty list")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def split_points(theorems: Iterable[tuple[int, bool]]) -> tuple[float, float] | None:
    """The Easy/Medium and Medium/Hard boundaries over (num_steps, is_sorry) pairs of all repositories.

    Only finite difficulties of theorems with steps count. Infinite (`sorry`) values
    are excluded: they are Hard by definition, and letting them in would push both
    boundaries up by the share of unproved theorems (a repository full of `sorry`
    would make everyone else look easy), and interpolating between two infinities
    gives NaN. Theorems without steps carry no difficulty signal; they are spread
    over the categories afterwards. None when no theorem has steps.
    """
    finite = [difficulty(s) for s, is_sorry in theorems if not is_sorry and s > 0]
    if not finite:
        return None
    return percentile(finite, PERCENTILES[0]), percentile(finite, PERCENTILES[1])


def category(num_steps: int, is_sorry: bool, cuts: tuple[float, float] | None) -> str | None:
    """easy | medium | hard | sorry, or None for a theorem without steps (to be spread)."""
    if is_sorry:
        return "sorry"
    if num_steps <= 0 or cuts is None:
        return None
    d = difficulty(num_steps)
    if d <= cuts[0]:
        return "easy"
    return "medium" if d <= cuts[1] else "hard"


def spread(n: int) -> tuple[int, int, int]:
    """How LeanAgent spreads n step-less theorems: n//3 to Easy, n//3 to Medium, the rest to Hard."""
    third = n // 3
    return third, third, n - 2 * third


@dataclass(frozen=True)
class RepoDifficulty:
    """One repository's row in the curriculum table."""

    name: str
    theorems: int
    easy: int
    medium: int
    hard: int      # finite Hard, including its share of step-less theorems
    sorry: int     # Hard with infinite difficulty
    position: int | None = None

    @property
    def easy_fraction(self) -> float:
        return self.easy / self.theorems if self.theorems else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "easy_fraction": round(self.easy_fraction, 4)}


def repo_difficulty(name: str, theorems: Iterable[tuple[int, bool]],
                    cuts: tuple[float, float] | None) -> RepoDifficulty:
    counts = {"easy": 0, "medium": 0, "hard": 0, "sorry": 0, None: 0}
    total = 0
    for steps, is_sorry in theorems:
        counts[category(steps, is_sorry, cuts)] += 1
        total += 1
    e, m, h = spread(counts[None])
    return RepoDifficulty(name, total, counts["easy"] + e, counts["medium"] + m, counts["hard"] + h, counts["sorry"])


def order_repos(repos: Iterable[RepoDifficulty], order: str = "easy-count", seed: int = 0) -> list[RepoDifficulty]:
    """Most Easy theorems first (or highest Easy fraction), ties by name; `hard-first` is the reverse of
    easy-count; `random` a shuffle by `seed` (of the name-sorted list, so it does not depend on the input
    order). Positions are 1-based."""
    if order not in ORDERS:
        raise ValueError(f"unknown curriculum order {order!r}; use one of {', '.join(ORDERS)}")
    repos = sorted(repos, key=lambda r: r.name)
    if order == "random":
        random.Random(seed).shuffle(repos)
        ranked = repos
    else:
        key: Callable[[RepoDifficulty], tuple] = (lambda r: (-r.easy_fraction, r.name)) if order == "easy-fraction" \
            else (lambda r: (-r.easy, r.name))
        ranked = sorted(repos, key=key)
        if order == "hard-first":
            ranked.reverse()
    return [RepoDifficulty(**{**asdict(r), "position": i}) for i, r in enumerate(ranked, 1)]


def curriculum(per_repo: Mapping[str, Iterable[tuple[int, bool]]], order: str = "easy-count",
               population: Iterable[tuple[int, bool]] | None = None, seed: int = 0) -> list[RepoDifficulty]:
    """The whole computation: boundaries over `population` (default: every theorem in `per_repo`),
    categories per repository, and the order."""
    per_repo = {k: list(v) for k, v in per_repo.items()}
    if population is None:
        population = [t for ts in per_repo.values() for t in ts]
    cuts = split_points(population)
    return order_repos([repo_difficulty(name, ts, cuts) for name, ts in per_repo.items()], order, seed)


def easy_first_bands(difficulties: Sequence[float | None], rng: random.Random, bands: int = BANDS) -> list[list[int]]:
    """Indices of a stage's examples in `bands` difficulty bands of (nearly) equal size, easiest band first,
    each band shuffled by `rng` (pure given the generator).

    The TinyHelen idea (simple before complex helps small models) without its failure mode: a plain sort
    would put near-identical one-step examples in the same batches, so examples are shuffled within a band
    and only the bands go from easy to hard. A stable sort by difficulty (None: infinite) ranks them; the
    bands cut the ranking, not the difficulty scale, so that a skewed e^S still gives `bands` equal parts.
    """
    ranked = sorted(range(len(difficulties)),
                    key=lambda i: math.inf if difficulties[i] is None else difficulties[i])
    n, k = len(ranked), min(bands, len(ranked))
    if k < 1:
        return []
    cuts = [round(b * n / k) for b in range(k + 1)]
    out = []
    for lo, hi in zip(cuts, cuts[1:]):
        band = ranked[lo:hi]
        rng.shuffle(band)
        out.append(band)
    return out
