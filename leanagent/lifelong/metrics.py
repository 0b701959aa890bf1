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
