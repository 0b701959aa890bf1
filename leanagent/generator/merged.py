"""Merging proposers: a mixture of their distributions, so scores stay log-probabilities.

p(t) = sum_i w_i p_i(t) over the proposers that propose t (a proposer that
does not propose t gives it 0). The search adds these log-probabilities along
a path exactly as it would add one model's.
"""

from __future__ import annotations

import math
from typing import Sequence

from leanagent.data import TheoremRef
from leanagent.generator.base import Candidate, TacticProposer, dedupe_top
from leanagent.text import normalize_tactic


def mix(lists: Sequence[Sequence[Candidate]], weights: Sequence[float], num: int) -> list[Candidate]:
    """Mixture of several candidate lists (pure). Weights are normalised to sum to 1."""
    total_w = float(sum(weights))
    prob: dict[str, float] = {}
    shown: dict[str, str] = {}
    for cands, w in zip(lists, weights):
        for tac, lp in dedupe_top(cands, len(cands)):
            key = normalize_tactic(tac)
            prob[key] = prob.get(key, 0.0) + (w / total_w) * math.exp(lp)
            shown.setdefault(key, tac)
    ranked = sorted(prob.items(), key=lambda kv: (-kv[1], kv[0]))[:num]
    return [(shown[k], math.log(p)) for k, p in ranked if p > 0]


class MergedProposer:
    def __init__(self, proposers: Sequence[TacticProposer], weights: Sequence[float] | None = None,
                 name: str | None = None):
        self.proposers = list(proposers)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.proposers)
        self.name = name or "merged(" + ",".join(p.name for p in self.proposers) + ")"

    def generate(self, states: Sequence[str], num: int, targets: Sequence[TheoremRef | None] | None = None
                 ) -> list[list[Candidate]]:
        per = [p.generate(states, num, targets=targets) for p in self.proposers]  # [proposer][state]
        return [mix([per[i][s] for i in range(len(per))], self.weights, num) for s in range(len(states))]
