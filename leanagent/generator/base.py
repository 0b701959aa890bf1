"""The `TacticProposer` interface that the search talks to, and small helpers for proposers."""

from __future__ import annotations

from typing import Iterable, Protocol, Sequence, runtime_checkable

from leanagent.data import TheoremRef
from leanagent.text import normalize_tactic

#: One proposal: (tactic text, log-probability). Scores of every proposer are log-probabilities,
#: so that proposers can be merged and the search can add them along a path.
Candidate = tuple[str, float]


@runtime_checkable
class TacticProposer(Protocol):
    """Proposes tactics for proof states. `name` identifies the model in proofs and attempts."""

    name: str

    def generate(self, states: Sequence[str], num: int,
                 targets: Sequence[TheoremRef | None] | None = None) -> list[list[Candidate]]:
        """For each state, up to `num` distinct tactics, best first, with log-probabilities <= 0.

        `targets[i]` is the theorem that state i belongs to: a proposer that reads recorded
        data never uses that theorem's own steps for it, and premises must be accessible
        from it (`leanagent.data.visible`). None: no target known (nothing is left out).
        """
        ...


def dedupe_top(cands: Iterable[Candidate], num: int) -> list[Candidate]:
    """Best `num` candidates with distinct (normalised) tactics, best first."""
    best: dict[str, Candidate] = {}
    for tac, lp in cands:
        key = normalize_tactic(tac)
        if key and (key not in best or lp > best[key][1]):
            best[key] = (tac, lp)
    return sorted(best.values(), key=lambda c: (-c[1], c[0]))[:num]
