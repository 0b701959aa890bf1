"""Lifelong-learning metrics from an accuracy matrix, as pure functions.

`R[i][j]` is the accuracy on repository j after training on repositories
0..i in curriculum order (a T x T matrix; cells with j > i are evaluations of
repositories not yet trained on, and may be None). `b[j]` is the accuracy on
repository j of the starting model, before any training, for forward transfer.
"""

from __future__ import annotations

import math
from typing import Sequence

Matrix = Sequence[Sequence[float | None]]


def _mean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return sum(xs) / len(xs) if xs else None


def average_accuracy(R: Matrix) -> float | None:
    """Mean of the last row over all repositories: ACC (Lopez-Paz & Ranzato 2017, GEM, eq. 2)."""
    T = len(R)
    return _mean([R[T - 1][j] for j in range(T)]) if T else None


def backward_transfer(R: Matrix) -> float | None:
    """BWT = 1/(T-1) sum_{j<T-1} (R[T-1][j] - R[j][j]) (Lopez-Paz & Ranzato 2017); negative means forgetting."""
    T = len(R)
    if T < 2:
        return None
    return _mean([R[T - 1][j] - R[j][j] for j in range(T - 1) if R[T - 1][j] is not None and R[j][j] is not None])


def forward_transfer(R: Matrix, b: Sequence[float | None]) -> float | None:
    """FWT = 1/(T-1) sum_{j>=1} (R[j-1][j] - b[j]) (Lopez-Paz & Ranzato 2017): help before training on j."""
    T = len(R)
    if T < 2:
        return None
    return _mean([R[j - 1][j] - b[j] for j in range(1, T) if R[j - 1][j] is not None and b[j] is not None])


def forgetting(R: Matrix) -> float | None:
    """Mean over j < T-1 of max_{l<T-1} R[l][j] - R[T-1][j] (Chaudhry et al. 2018, RWalk, eq. 9)."""
    T = len(R)
    if T < 2:
        return None
    drops = []
    for j in range(T - 1):
        earlier = [R[l][j] for l in range(j, T - 1) if R[l][j] is not None]
        if earlier and R[T - 1][j] is not None:
            drops.append(max(earlier) - R[T - 1][j])
    return _mean(drops)


def plasticity(R: Matrix) -> float | None:
    """Mean of the diagonal R[j][j]: accuracy right after training on each repository (learning accuracy)."""
    return _mean([R[j][j] for j in range(len(R))])


def summarize(R: Matrix, b: Sequence[float | None] | None = None) -> dict[str, float | None]:
    """All five metrics in one dict (forward transfer is None without a baseline row)."""
    return {
        "average_accuracy": average_accuracy(R),
        "backward_transfer": backward_transfer(R),
        "forward_transfer": forward_transfer(R, b) if b is not None else None,
        "forgetting": forgetting(R),
        "plasticity": plasticity(R),
    }


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion k/n, in percent (95% for z = 1.96); None when n is 0.

    A small denominator makes a single figure misleading (2 of 7 is 29%, but anything from 8% to 64%
    fits); the report prints this beside every proved / attempted count. Wilson's interval, unlike the
    normal approximation, stays inside [0, 100] and is sensible at k = 0 and k = n."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def count_with_interval(k: int, n: int) -> str:
    """`k / n (lo–hi%)`: a count beside its denominator and its 95% Wilson interval."""
    ci = wilson_interval(k, n)
    return f"{k} / {n}" + (f" ({ci[0]:.0f}–{ci[1]:.0f}%)" if ci else "")
