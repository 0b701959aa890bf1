"""The replay backend: answers tactics from recorded traces, without Lean.

This is offline evaluation on real data, and every report that uses it says
"replay". What replay accepts, exactly:

- The start state of theorem T is T's first recorded `state_before` (the
  statement as Lean printed it; no tactic of T is revealed by it).
- A tactic is compared after `leanagent.text.normalize_tactic`: spaces within
  a line collapse, indentation and line breaks stay, so a one-line version of
  a multi-line `·`/`calc`/`case` block does not match the block.
- At a state, a tactic is accepted when a recorded step from that exact state
  text used the same normalised tactic, and either
  (a) the step is T's own (the trace of T is Lean's recorded answer for T: the
      judge's reference, never shown to a proposer), or
  (b) the step is another theorem's and would plausibly be legal in T: its
      tactic names neither T nor anything declared at or after T in T's file,
      and every premise it is annotated with is accessible from T (imported
      modules, or earlier in T's own file: the retriever's rule).
  The recorded `state_after` is the answer; `no goals` finishes the proof.
- Anything else is a Lean error saying that the tactic is not in the record.

A tactic accepted under (a) was accepted by Lean at that very point. One
accepted under (b) passed the checks above but may still fail in T's context
(other `open`s, local instances, notation), and Lean accepts many tactics that
no trace recorded: replay figures are replay figures, not bounds on Lean's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from leanagent.errors import ProverError
from leanagent.prover.env import NO_GOALS, ProofState, TacResult, TacOutcome
from leanagent.data import TheoremRef
from leanagent.text import identifiers, mentions_sorry, module_of_path, names_declaration, normalize_tactic

NOT_IN_RECORD = "replay: tactic not in the record for this state"
UNKNOWN_STATE = "replay: state not in the record"
NOT_LEGAL_HERE = "replay: recorded only in another theorem, where it names a later declaration or an inaccessible premise"


@dataclass(frozen=True)
class Move:
    """One recorded step out of a state: its tactic as recorded, the state after, where it came from."""

    tactic: str
    after: str
    theorem_id: int
    premise_ids: tuple[int, ...] = ()


@dataclass
class ReplayIndex:
    """state_before -> {normalised tactic -> recorded moves}, each theorem's first state, and what
    is needed to judge another theorem's move: declarations per file and premise accessibility."""

    moves: dict[str, dict[str, list[Move]]] = field(default_factory=dict)
    first_state: dict[int, str] = field(default_factory=dict)
    declarations: dict[str, list[tuple[tuple[int, int], str]]] = field(default_factory=dict)  # by module
    access: object = None                 # leanagent.retrieval.access.Accessibility over the corpus
    premise_row: dict[int, int] = field(default_factory=dict)  # premise id -> corpus row

    @classmethod
    def from_steps(cls, steps: Iterable[tuple], declarations: dict | None = None, corpus=None,
                   graph=None) -> ReplayIndex:
        """Build from (theorem_id, idx, tactic, state_before, state_after[, premise ids]) rows.

        Rows may come in any order; the lowest idx of a theorem is its start.
        `declarations`: {file: [((line, col), full name)]} of theorems and premises;
        `corpus` (PremiseItems) and `graph` (ImportGraph) give premise accessibility.
        """
        # Keyed by module: a LeanDojo trace writes one file as `Mathlib/X.lean` (theorems) and as
        # `.lake/packages/mathlib/Mathlib/X.lean` (premises); both are the same file's declarations.
        by_module: dict[str, list] = {}
        for path, decls in (declarations or {}).items():
            by_module.setdefault(module_of_path(path), []).extend(decls)
        index = cls(declarations=by_module)
        first_idx: dict[int, int] = {}
        for row in steps:
            thm_id, idx, tactic, before, after = row[:5]
            premises = tuple(row[5]) if len(row) > 5 and row[5] else ()
            index.moves.setdefault(before, {}).setdefault(normalize_tactic(tactic), []).append(
                Move(tactic, after, thm_id, premises))
            if thm_id not in first_idx or idx < first_idx[thm_id]:
                first_idx[thm_id] = idx
                index.first_state[thm_id] = before
        if corpus:
            from leanagent.retrieval.access import Accessibility

            index.access = Accessibility(corpus, graph)
            index.premise_row = {p.id: r for r, p in enumerate(corpus)}
        return index

    @classmethod
    def from_db(cls, db, repo: str | None = None) -> ReplayIndex:
        from leanagent.db.proofs import declarations, replay_rows
        from leanagent.db.training_data import import_graph, premise_corpus

        return cls.from_steps(replay_rows(db, repo), declarations(db), premise_corpus(db), import_graph(db))

    def __len__(self) -> int:
        return sum(len(m) for m in self.moves.values())

    def later_declarations(self, target: TheoremRef) -> list[str]:
        """T itself and every declaration at or after T's start in T's file."""
        names = [name for pos, name in self.declarations.get(module_of_path(target.file_path), [])
                 if pos >= tuple(target.start)]
        return [target.full_name, *names]

    def legal(self, move: Move, target: TheoremRef, later: list[str] | None = None) -> bool:
        """Would `move` plausibly be legal in `target`? Always for T's own steps (the rule in the docstring)."""
        if target.id is not None and move.theorem_id == target.id:
            return True
        tokens = identifiers(move.tactic)
        later = later if later is not None else self.later_declarations(target)
        if any(names_declaration(tokens, d) for d in later):
            return False
        if move.premise_ids and self.access is not None:
            rows = np.array([self.premise_row.get(p, -1) for p in move.premise_ids], dtype=np.int64)
            if (rows < 0).any():
                return False  # a premise outside the corpus: cannot show it is accessible
            ok = self.access.allowed(target.file_path, tuple(target.start), rows)
            if ok is not None and not ok.all():
                return False
        return True


class ReplayEnv:
    """A `ProofEnv` over a `ReplayIndex`. Cheap: a dictionary look-up per tactic."""

    name = "replay"

    def __init__(self, index: ReplayIndex):
        self.index = index
        self.target: TheoremRef | None = None
        self._later: list[str] | None = None

    def start(self, theorem: TheoremRef) -> ProofState:
        text = self.index.first_state.get(theorem.id) if theorem.id is not None else None
        if text is None:
            raise ProverError(f"replay: theorem {theorem.full_name} has no recorded tactic steps",
                              fix="replay can only prove theorems with traced tactics; use a Lean environment")
        self.target, self._later = theorem, None
        return ProofState(text, ())

    def run_tac(self, state: ProofState, tactic: str, timeout: float | None = None) -> TacResult:
        if mentions_sorry(tactic):
            return TacResult(TacOutcome.GIVEN_UP)
        known = self.index.moves.get(state.text)
        if known is None:
            return TacResult.error(UNKNOWN_STATE)
        moves = known.get(normalize_tactic(tactic))
        if not moves:
            return TacResult.error(NOT_IN_RECORD)
        after = self._accepted(moves)
        if after is None:
            return TacResult.error(NOT_LEGAL_HERE)
        path = state.path + (tactic,)
        if after.strip() == NO_GOALS:
            return TacResult.proved(path)
        return TacResult.new_state(ProofState(after, path))

    def _accepted(self, moves: list[Move]) -> str | None:
        """The state after the first acceptable move: the target's own first, then other theorems'."""
        target = self.target
        if target is None:  # fail closed: without a theorem, nothing tells its own steps from others'
            raise ProverError("replay: run_tac before start(): no target theorem to judge against")
        own = [m for m in moves if m.theorem_id == target.id]
        if own:
            return own[0].after
        if self._later is None:
            self._later = self.index.later_declarations(target)
        for m in moves:
            if self.index.legal(m, target, self._later):
                return m.after
        return None

    def close(self) -> None:
        pass
