"""The frequency baseline: the same most frequent training tactics at every state."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Iterable, Sequence

from leanagent.data import RecordedStep, TheoremRef, require_targets
from leanagent.generator.base import Candidate
from leanagent.text import normalize_tactic, usable_tactic


class FrequencyProposer:
    """Proposes the `top` most frequent (normalised) recorded tactics, log-probability = log share.

    Leave-one-out by theorem: for a target theorem, the recorded steps of its identity (its own and its
    copies' in other repositories) are taken out of the counts before ranking.
    """

    def __init__(self, steps: Iterable[RecordedStep | str], top: int = 64):
        self.counts: Counter = Counter()
        self.per_theorem: dict[int, Counter] = defaultdict(Counter)
        for st in steps:
            tactic, thm = (st, None) if isinstance(st, str) else (st.tactic, st.theorem_id)
            if not usable_tactic(tactic):
                continue
            key = normalize_tactic(tactic)
            self.counts[key] += 1
            if thm is not None:
                self.per_theorem[thm][key] += 1
        self.top = top
        self.name = f"frequency-{top}"
        self.ranked: list[Candidate] = self._rank(self.counts)
        self._cache: tuple[int | None, list[Candidate]] = (None, self.ranked)

    def _rank(self, counts: Counter) -> list[Candidate]:
        total = sum(counts.values())
        return [(t, math.log(c / total)) for t, c in counts.most_common(self.top) if c > 0]

    def ranked_for(self, target: TheoremRef) -> list[Candidate]:
        thm = target.hidden()  # the visibility rule (leanagent.data): raises without a theorem
        if thm is None or thm not in self.per_theorem:
            return self.ranked
        if self._cache[0] != thm:  # one search asks for one theorem many times
            self._cache = (thm, self._rank(self.counts - self.per_theorem[thm]))
        return self._cache[1]

    def generate(self, states: Sequence[str], num: int, targets: Sequence[TheoremRef | None] | None = None
                 ) -> list[list[Candidate]]:
        targets = require_targets(targets, len(states))
        return [list(self.ranked_for(t)[:num]) for t in targets]
