"""The replay backend: answers tactics from recorded traces, without Lean.

This is offline evaluation on real data, and every report that uses it says
"replay". The rules, exactly:

- A state is known if some recorded step starts from it (`state_before`).
- A tactic is accepted if a recorded step from that exact state used the same
  tactic after whitespace normalisation; the recorded `state_after` is the
  answer, and `no goals` means the proof is finished.
- Anything else is a Lean error saying that the tactic is not in the record.

States are matched across theorems: the same goal text reached in two
theorems accepts the tactics recorded in either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from leanagent.db.records import mentions_sorry
from leanagent.errors import ProverError
from leanagent.prover.env import NO_GOALS, ProofState, TacResult, TacOutcome, TheoremRef, normalize_tactic

NOT_IN_RECORD = "replay: tactic not in the record for this state"
UNKNOWN_STATE = "replay: state not in the record"


@dataclass
class ReplayIndex:
    """state_before -> {normalised tactic -> state_after}, and each theorem's first state."""

    moves: dict[str, dict[str, str]] = field(default_factory=dict)
    first_state: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_steps(cls, steps: Iterable[tuple[int, int, str, str, str]]) -> ReplayIndex:
        """Build from (theorem_id, idx, tactic, state_before, state_after) rows.

        Rows may come in any order; the lowest idx of a theorem is its start.
        The first recorded answer for a (state, tactic) pair wins.
        """
        index = cls()
        first_idx: dict[int, int] = {}
        for thm_id, idx, tactic, before, after in steps:
            index.moves.setdefault(before, {}).setdefault(normalize_tactic(tactic), after)
            if thm_id not in first_idx or idx < first_idx[thm_id]:
                first_idx[thm_id] = idx
                index.first_state[thm_id] = before
        return index

    @classmethod
    def from_db(cls, db, repo: str | None = None) -> ReplayIndex:
        from leanagent.db.proofs import recorded_steps

        return cls.from_steps(recorded_steps(db, repo))

    def __len__(self) -> int:
        return sum(len(m) for m in self.moves.values())


class ReplayEnv:
    """A `ProofEnv` over a `ReplayIndex`. Cheap: a dictionary look-up per tactic."""

    name = "replay"

    def __init__(self, index: ReplayIndex):
        self.index = index

    def start(self, theorem: TheoremRef) -> ProofState:
        text = self.index.first_state.get(theorem.id) if theorem.id is not None else None
        if text is None:
            raise ProverError(f"replay: theorem {theorem.full_name} has no recorded tactic steps",
                              fix="replay can only prove theorems with traced tactics; use --env leandojo")
        return ProofState(text, ())

    def run_tac(self, state: ProofState, tactic: str, timeout: float | None = None) -> TacResult:
        if mentions_sorry(tactic):
            return TacResult(TacOutcome.GIVEN_UP)
        known = self.index.moves.get(state.text)
        if known is None:
            return TacResult.error(UNKNOWN_STATE)
        after = known.get(normalize_tactic(tactic))
        if after is None:
            return TacResult.error(NOT_IN_RECORD)
        path = state.path + (tactic,)
        if after.strip() == NO_GOALS:
            return TacResult.proved(path)
        return TacResult.new_state(ProofState(after, path))

    def close(self) -> None:
        pass
