"""The `Retriever` interface: proof states in, ranked accessible premises out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class Query:
    """A proof state, with where its theorem is (for the accessibility filter)."""

    state: str
    file_path: str | None = None
    theorem_start: tuple[int, int] | None = None
    target: Any = None  # the `leanagent.data.TheoremRef` it is asked for: its recorded states never vote

    @classmethod
    def at(cls, state: str, target) -> Query:
        """The query for `state` of `target` (a `leanagent.data.TheoremRef`; raises without one: fail closed)."""
        from leanagent.data import MissingTargetError

        if target is None:
            raise MissingTargetError("a retrieval query without a target (use TheoremRef.none() to hold nothing out)")
        return cls(state, target.file_path, target.start, target)


@dataclass(frozen=True)
class Hit:
    premise_id: int
    score: float


@runtime_checkable
class Retriever(Protocol):
    """Top-k premises accessible from each query's theorem, best first."""

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]: ...
