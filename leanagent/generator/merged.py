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


def learned_nothing(metrics: dict | None) -> str | None:
    """Why a generator checkpoint is not worth its cost in a mixture (pure): its held-out exact-match tactic
    accuracy, stored with it at training time (the stage's metrics.json), is 0 on every repository it was
    evaluated on. None: keep it (it learned something, or nothing was measured)."""
    per = {repo: m.get("tactic_acc") for repo, m in ((metrics or {}).get("per_repo") or {}).items()}
    measured = {repo: acc for repo, acc in per.items() if acc is not None}
    if not measured or any(acc > 0 for acc in measured.values()):
        return None
    return f"its held-out tactic accuracy was 0% when it was trained ({', '.join(sorted(measured))})"


class MergedProposer:
    def __init__(self, proposers: Sequence[TacticProposer], weights: Sequence[float] | None = None,
                 name: str | None = None, asks: Sequence[int | None] | None = None):
        self.proposers = list(proposers)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.proposers)
        self.name = name or "merged(" + ",".join(p.name for p in self.proposers) + ")"
        # Candidates asked of each proposer at most (None: as many as the caller asks): on a CPU the model
        # is asked for fewer beams than kNN supplies (leanagent.device's merged_model_beams).
        self.asks = list(asks) if asks is not None else [None] * len(self.proposers)

    def generate(self, states: Sequence[str], num: int, targets: Sequence[TheoremRef | None] | None = None
                 ) -> list[list[Candidate]]:
        per = [p.generate(states, min(num, ask) if ask else num, targets=targets)
               for p, ask in zip(self.proposers, self.asks)]  # [proposer][state]
        return [mix([per[i][s] for i in range(len(per))], self.weights, num) for s in range(len(states))]
