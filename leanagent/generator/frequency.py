"""The frequency baseline: the same most frequent training tactics at every state."""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Sequence

from leanagent.db.records import mentions_sorry
from leanagent.generator.base import Candidate
from leanagent.prover.env import normalize_tactic


class FrequencyProposer:
    """Proposes the `top` most frequent (normalised) training tactics, log-probability = log share."""

    def __init__(self, tactics: Iterable[str], top: int = 64):
        counts = Counter(normalize_tactic(t) for t in tactics if t.strip() and not mentions_sorry(t))
        total = sum(counts.values())
        self.top = top
        self.name = f"frequency-{top}"
        self.ranked: list[Candidate] = [(t, math.log(c / total)) for t, c in counts.most_common(top)]

    def generate(self, states: Sequence[str], num: int) -> list[list[Candidate]]:
        return [list(self.ranked[:num]) for _ in states]
