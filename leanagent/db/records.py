"""Plain records that flow into the database.

Every source (a LeanDojo-format dataset, a fresh LeanDojo trace, a scanned
Lean tree) produces a `RepoRecord`; `leanagent.db.ingest.store_repo` is the
one code path that writes it. No SQL and no model here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from leanagent.text import mentions_sorry

Pos = tuple[int, int]  # (line, column), 1-based lines as LeanDojo writes them

def file_digest(text: str) -> str:
    """sha256 hex of a file's text (UTF-8): what `Proof.file_digest` records when a proof is found."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PremiseRecord:
    full_name: str
    path: str  # defining file (LeanDojo's def_path / corpus path)
    start: Pos | None = None
    end: Pos | None = None
    kind: str | None = None
    code: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.full_name, self.path)


@dataclass
class StepRecord:
    tactic: str
    state_before: str
    state_after: str
    annotated_tactic: str | None = None
    premises: list[PremiseRecord] = field(default_factory=list)


@dataclass
class TheoremRecord:
    file_path: str
    full_name: str
    start: Pos
    end: Pos
    steps: list[StepRecord] = field(default_factory=list)
    url: str | None = None
    commit: str | None = None
    statement: str | None = None
    proof_text: str | None = None
    # Set by a source that knows better than the tactics (the sorry scanner):
    # None means "decide from the traced tactics".
    has_sorry: bool | None = None
    sorry_mode: str | None = None  # tactic | term
    # The split file the record came from (train/val/test), for the `dataset` split policy.
    dataset_split: str | None = None

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.file_path, self.full_name, self.start[0], self.start[1])

    @property
    def is_sorry(self) -> bool:
        if self.has_sorry is not None:
            return self.has_sorry
        return any(mentions_sorry(s.tactic) for s in self.steps)


@dataclass
class FileRecord:
    path: str
    module: str | None = None
    imports: list[str] | None = None
    content: str | None = None
    error: str | None = None  # why the file could not be traced (its other data may be partial or empty)


@dataclass
class RepoRecord:
    """One repository's worth of traced data, ready to be stored."""

    name: str
    kind: str = "traced"  # git | path | traced
    url: str | None = None
    path: str | None = None
    commit: str | None = None
    lean_version: str | None = None
    digest: str | None = None  # fingerprint of the input; same name+commit+digest = nothing to do
    tracer: str | None = None  # leandojo | repl | scan | dataset: what produced the records
    split_policy: str = "hash"  # hash | dataset | test (see leanagent.db.splits.SPLIT_POLICIES)
    theorems: list[TheoremRecord] = field(default_factory=list)
    files: list[FileRecord] = field(default_factory=list)
    premises: list[PremiseRecord] = field(default_factory=list)  # from a corpus, with code and kind
    # False when a reader skipped parsing because the database already holds this digest.
    parsed: bool = True
