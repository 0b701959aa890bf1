"""The `ProofEnv` interface: three calls between the search and a checker of tactics.

A backend (LeanDojo running real Lean, or replay of recorded traces) answers
`run_tac` with exactly one of the five `TacResult` kinds. States carry the
tactic path from the root, so a backend that loses its session (a timeout or
a crash in Lean) can rebuild any state by replaying that path.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from leanagent.data import TheoremRef

#: What LeanDojo and the traced data print for a finished proof.
NO_GOALS = "no goals"


@dataclass(frozen=True)
class ProofState:
    """One proof state. `text` is the pretty-printed goals; `path` the tactics from the root."""

    text: str
    path: tuple[str, ...] = ()
    # Backend-private handle (LeanDojo's TacticState); never compared.
    handle: Any = field(default=None, compare=False, repr=False)


class TacOutcome(str, enum.Enum):
    STATE = "state"          # a new proof state
    PROVED = "proved"        # no goals left
    ERROR = "error"          # Lean rejected the tactic (or the safety policy did)
    TIMEOUT = "timeout"      # the tactic ran over its time limit
    GIVEN_UP = "given_up"    # the tactic closes the goal with sorry


@dataclass(frozen=True)
class TacResult:
    kind: TacOutcome
    state: ProofState | None = None  # set for STATE and PROVED
    message: str | None = None        # the error text for ERROR/TIMEOUT

    @classmethod
    def new_state(cls, state: ProofState) -> TacResult:
        return cls(TacOutcome.STATE, state)

    @classmethod
    def proved(cls, path: tuple[str, ...]) -> TacResult:
        return cls(TacOutcome.PROVED, ProofState(NO_GOALS, path))

    @classmethod
    def error(cls, message: str) -> TacResult:
        return cls(TacOutcome.ERROR, message=message)


@runtime_checkable
class ProofEnv(Protocol):
    """A checker of tactics. `name` is written into every proof and attempt (`leandojo`, `replay`)."""

    name: str

    def start(self, theorem: TheoremRef) -> ProofState:
        """The initial state of `theorem`. Raises ProverError when it cannot be opened."""
        ...

    def run_tac(self, state: ProofState, tactic: str, timeout: float | None = None) -> TacResult:
        """Run one tactic on a state from the current theorem."""
        ...

    def close(self) -> None:
        ...


class PathReplayFailed(Exception):
    """Replaying a state's tactic path in a fresh session did not reach a state again."""


class PathRestoringEnv:
    """`run_tac` for the Lean backends, whose states live in a session that can die and restart.

    A subclass provides `_ensure_live()` (raise before `start`, reopen a lost session),
    `_raw(handle, tactic, timeout)` (one tactic in the live session; the result's state handle is
    `(generation, handle)`), `_generation` (bumped at every restart) and `_cache` ({tactic path:
    handle in the live session}, holding at least `()`). A handle of a dead session means nothing
    in the new one (LeanDojo issue 218), so states are rebuilt from their tactic paths.
    """

    _cache: dict
    _generation: int

    def _ensure_live(self) -> None:
        raise NotImplementedError

    def _raw(self, handle: Any, tactic: str, timeout: float | None) -> TacResult:
        raise NotImplementedError

    def _handle(self, state: ProofState, timeout: float | None) -> Any:
        """The live session's handle for `state`: its own, or the longest cached prefix of its path
        with the rest replayed (every replayed prefix is cached)."""
        self._ensure_live()
        if state.handle is not None and state.handle[0] == self._generation:
            return state.handle[1]
        path = state.path
        k = max(i for i in range(len(path) + 1) if path[:i] in self._cache)
        cur = self._cache[path[:k]]
        for i in range(k, len(path)):
            res = self._raw(cur, path[i], timeout)
            if res.kind is not TacOutcome.STATE:
                raise PathReplayFailed(f"replaying the path failed at tactic {i + 1}: {res.kind.value} "
                                       f"{res.message or ''}")
            cur = res.state.handle[1]
            self._cache[path[:i + 1]] = cur
        return cur

    def run_tac(self, state: ProofState, tactic: str, timeout: float | None = None) -> TacResult:
        try:
            handle = self._handle(state, timeout)
        except PathReplayFailed as exc:
            return TacResult.error(str(exc))
        res = self._raw(handle, tactic, timeout)
        path = state.path + (tactic,)
        if res.kind is TacOutcome.PROVED:
            return TacResult.proved(path)
        if res.kind is TacOutcome.STATE:
            self._cache[path] = res.state.handle[1]
            return TacResult.new_state(ProofState(res.state.text, path, handle=res.state.handle))
        return res
