"""The `TacticGenerator` interface that the search talks to, and small helpers for proposers."""

from __future__ import annotations

from typing import Iterable, Protocol, Sequence, runtime_checkable

from leanagent.prover.env import normalize_tactic

#: One proposal: (tactic text, log-probability). Scores of every proposer are log-probabilities,
#: so that proposers can be merged and the search can add them along a path.
Candidate = tuple[str, float]


@runtime_checkable
class TacticGenerator(Protocol):
    """Proposes tactics for proof states. `name` identifies the model in proofs and attempts."""

    name: str

    def generate(self, states: Sequence[str], num: int) -> list[list[Candidate]]:
        """For each state, up to `num` distinct tactics, best first, with log-probabilities <= 0."""
        ...


def dedupe_top(cands: Iterable[Candidate], num: int) -> list[Candidate]:
    """Best `num` candidates with distinct (whitespace-normalised) tactics, best first."""
    best: dict[str, Candidate] = {}
    for tac, lp in cands:
        key = normalize_tactic(tac)
        if key and (key not in best or lp > best[key][1]):
            best[key] = (tac, lp)
    return sorted(best.values(), key=lambda c: (-c[1], c[0]))[:num]

