"""Merging proposers: a mixture of their distributions, so scores stay log-probabilities.

p(t) = sum_i w_i p_i(t) over the proposers that propose t (a proposer that
does not propose t gives it 0). The search adds these log-probabilities along
a path exactly as it would add one model's.
"""

from __future__ import annotations

import math
from typing import Sequence

from leanagent.generator.base import Candidate, TacticGenerator, dedupe_top
from leanagent.prover.env import normalize_tactic


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
    takes_keys = True
    def __init__(self, proposers: Sequence[TacticGenerator], weights: Sequence[float] | None = None,
                 name: str | None = None):
        self.proposers = list(proposers)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.proposers)
        self.name = name or "merged(" + ",".join(p.name for p in self.proposers) + ")"

    def generate(self, states: Sequence[str], num: int, keys: Sequence[int | None] | None = None
                 ) -> list[list[Candidate]]:
        """`keys` (recorded step ids) reach the proposers that do leave-one-out (kNN)."""
        per = [generate_with_keys(p, states, num, keys) for p in self.proposers]  # [proposer][state]
        return [mix([per[i][s] for i in range(len(per))], self.weights, num) for s in range(len(states))]


def generate_with_keys(proposer, states: Sequence[str], num: int, keys: Sequence[int | None] | None):
    """Call `generate`, passing leave-one-out keys to proposers that take them."""
    if keys is not None and getattr(proposer, "takes_keys", False):
        return proposer.generate(states, num, keys=keys)
    return proposer.generate(states, num)
