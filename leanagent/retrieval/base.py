"""The `Retriever` interface: proof states in, ranked accessible premises out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class Query:
    """A proof state, with where its theorem is (for the accessibility filter)."""

    state: str
    file_path: str | None = None
    theorem_start: tuple[int, int] | None = None
    theorem_id: int | None = None  # the theorem the state belongs to: recorded states of it never vote

    @classmethod
    def at(cls, state: str, target) -> Query:
        """The query for `state` of `target` (a `leanagent.data.Target`, or None when unknown)."""
        if target is None:
            return cls(state)
        return cls(state, target.file_path, target.start, target.theorem_id)


@dataclass(frozen=True)
class Hit:
    premise_id: int
    score: float


@runtime_checkable
class Retriever(Protocol):
    """Top-k premises accessible from each query's theorem, best first."""

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]: ...
