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
    key: int | None = None  # the tactic step id when the state is a recorded one (kNN leave-one-out)


@dataclass(frozen=True)
class Hit:
    premise_id: int
    score: float


@runtime_checkable
class Retriever(Protocol):
    """Top-k premises accessible from each query's theorem, best first."""

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]: ...
