"""Plain data that flows from the database to the models and the prover, and what a proposer may see.

The database layer builds these (`leanagent.db.training_data`,
`leanagent.db.proofs`); the retriever, the generator and the prover read them
and know no SQL.

The visibility rule lives here, once, because kNN, templates, frequency, the
model's retrieval and replay all apply it: when the target is theorem T,
nothing recorded *for T* may help propose or judge a tactic for T (theorem-level
leave-one-out), and a premise counts only if it is accessible from T. Which
repositories and splits feed the proposers in the first place is a
`SourceScope`, chosen by the caller (`learn` stage i sees repositories 0..i)
and applied by the database query that loads recorded steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence


@dataclass(frozen=True)
class PremiseItem:
    """One premise of the corpus, with the text that the encoders read."""

    id: int
    full_name: str
    path: str
    text: str
    start: tuple[int, int] | None = None  # (line, col) of the definition, when known


@dataclass
class StepExample:
    """One traced tactic step, with its annotated premises (ids, in order, without repeats)."""

    step_id: int
    theorem_id: int
    repo: str
    file_path: str
    theorem_name: str
    theorem_start: tuple[int, int]
    split: str
    state: str
    tactic: str
    premise_ids: list[int] = field(default_factory=list)

    @property
    def target(self) -> Target:
        """The theorem this step belongs to, as a proposer's target (for leave-one-out)."""
        return Target(self.theorem_id, self.file_path, self.theorem_start, self.theorem_name)


@dataclass
class ImportGraph:
    """What the database knows about imports: module -> imported modules (None when unknown)."""

    imports: dict[str, list[str] | None] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return any(v is not None for v in self.imports.values())


@dataclass(frozen=True)
class RecordedStep:
    """A recorded tactic step as the proposers see it: which theorem it came from, for leave-one-out."""

    key: int          # tactic step id
    state: str
    tactic: str
    annotated: str | None = None  # LeanDojo's annotated tactic (premise marks), for templates
    theorem_id: int | None = None


@dataclass(frozen=True)
class Target:
    """The theorem a tactic is proposed for: its id (leave-one-out) and where it is (accessibility)."""

    theorem_id: int | None
    file_path: str | None = None
    start: tuple[int, int] | None = None
    full_name: str | None = None


@dataclass(frozen=True)
class SourceScope:
    """Which recorded steps may feed the proposers (kNN, templates, frequency).

    `repos` None means every repository; evaluation-only repositories (imported
    with `--split test`) never feed anything, whatever the scope says.
    """

    repos: tuple[str, ...] | None = None
    splits: tuple[str, ...] = ("train",)


def visible(step_theorem: int | None, target: Target | None) -> bool:
    """May a step recorded in theorem `step_theorem` help with `target`? Never its own theorem's steps."""
    return target is None or target.theorem_id is None or step_theorem != target.theorem_id


def targets_or_none(targets: Sequence[Target | None] | None, n: int) -> list[Target | None]:
    """`targets` as a list of length n (None: no target known for any state)."""
    if targets is None:
        return [None] * n
    out = list(targets)
    if len(out) != n:
        raise ValueError(f"{len(out)} targets for {n} states")
    return out
