"""Plain data that flows from the database to the models and the prover, and what a proposer may see.

The database layer builds these (`leanagent.db.training_data`,
`leanagent.db.proofs`); the retriever, the generator and the prover read them
and know no SQL.

The visibility rule lives here, once (`Target.hidden`, `visible`), because kNN,
templates, frequency, the kNN premise prior and the model's retrieval all apply
it: when the target is theorem T, nothing recorded *for T*, nor for a copy of T
in another repository (the same identity, `Theorem.identity_id`), may help
propose a tactic for T (theorem-level leave-one-out), and a premise counts only
if it is accessible from T (`leanagent.retrieval.access`). It fails closed: a
missing target, or one without a theorem, raises; `Target.none()` says
explicitly that nothing is held out (proving a `sorry` theorem, evaluating
nothing). Which
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
    theorem_id: int   # the theorem's identity: shared by its copies in other repositories (leave-one-out)
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


class MissingTargetError(ValueError):
    """A proposer, retriever or judge was asked without saying which theorem it works for: leave-one-out
    cannot hold anything out, so nothing is proposed (fail closed). Pass `Target.none()` to mean it."""


@dataclass(frozen=True)
class Target:
    """The theorem a tactic is proposed for: its identity (leave-one-out) and where it is (accessibility)."""

    theorem_id: int | None   # the theorem's identity (`Theorem.identity_id`), shared by its copies
    file_path: str | None = None
    start: tuple[int, int] | None = None
    full_name: str | None = None
    unrestricted: bool = False  # `Target.none()`: nothing is held out

    @classmethod
    def none(cls) -> Target:
        """Nothing held out: for proving a `sorry` theorem (it has no recorded steps) or a unit test, never
        for an evaluation."""
        return cls(None, unrestricted=True)

    def hidden(self) -> int | None:
        """The theorem identity whose recorded steps must not be seen (None: `Target.none()`)."""
        if self.unrestricted:
            return None
        if self.theorem_id is None:
            raise MissingTargetError(f"target {self.full_name or '(unnamed)'} has no theorem id: leave-one-out "
                                     "cannot hold its steps out (use Target.none() to hold nothing out)")
        return self.theorem_id


@dataclass(frozen=True)
class SourceScope:
    """Which recorded steps may feed the proposers (kNN, templates, frequency).

    `repos` None means every repository; evaluation-only repositories (imported
    with `--split test`) never feed anything, whatever the scope says.
    """

    repos: tuple[str, ...] | None = None
    splits: tuple[str, ...] = ("train",)


def visible(step_theorem: int | None, target: Target | None) -> bool:
    """May a step recorded in theorem `step_theorem` (its identity) help with `target`? Never the steps of
    the target or of its copies; raises without a target (fail closed)."""
    if target is None:
        raise MissingTargetError("no target given: leave-one-out cannot hold anything out "
                                 "(use Target.none() to hold nothing out)")
    hidden = target.hidden()
    return hidden is None or step_theorem != hidden


def require_targets(targets: Sequence[Target | None] | None, n: int) -> list[Target]:
    """`targets` as a list of n targets; raises when any is missing (fail closed: see `visible`)."""
    if targets is None or any(t is None for t in targets):
        raise MissingTargetError("proposals asked for without a target for every state "
                                 "(use Target.none() to hold nothing out)")
    out = list(targets)
    if len(out) != n:
        raise ValueError(f"{len(out)} targets for {n} states")
    return out
