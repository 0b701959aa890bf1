"""Plain data that flows from the database to the models and the prover, and what a proposer may see.

The database layer builds these (`leanagent.db.training_data`,
`leanagent.db.proofs`); the retriever, the generator and the prover read them
and know no SQL.

The visibility rule lives here, once (`TheoremRef.hidden`, `visible`), because kNN,
templates, frequency, the kNN premise prior and the model's retrieval all apply
it: when the target is theorem T, nothing recorded *for T*, nor for a copy of T
in another repository (the same identity, `Theorem.identity_id`), may help
propose a tactic for T (theorem-level leave-one-out), and a premise counts only
if it is accessible from T (`leanagent.retrieval.access`). It fails closed: a
missing target, or one without a theorem, raises; `TheoremRef.none()` says
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


@dataclass(slots=True)
class RecordedStep:
    """One recorded tactic step: the one in-memory type for a step, for training, evaluation and the
    proposers (kNN, templates, frequency). The database builds it (`leanagent.db.training_data`);
    where a field is not needed (the proposers' tables carry no premises), it keeps its default."""

    step_id: int          # the `TacticStep` id (negative for an agent proof's step)
    theorem_id: int | None  # the theorem's identity: shared by its copies in other repositories (leave-one-out)
    state: str            # the state before the tactic
    tactic: str
    annotated: str | None = None  # LeanDojo's annotated tactic (premise marks), for templates
    premise_ids: list[int] = field(default_factory=list)  # annotated premises, in order, without repeats
    repo: str | None = None
    file_path: str | None = None
    theorem_name: str | None = None
    theorem_start: tuple[int, int] | None = None
    split: str = "train"

    @property
    def theorem(self) -> TheoremRef:
        """The theorem this step belongs to (its identity: leave-one-out holds it out)."""
        return TheoremRef(self.theorem_id, self.repo, self.file_path, self.theorem_name, self.theorem_start)


@dataclass
class ImportGraph:
    """What the database knows about imports: module -> imported modules (None when unknown)."""

    imports: dict[str, list[str] | None] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return any(v is not None for v in self.imports.values())


class MissingTargetError(ValueError):
    """A proposer, retriever or judge was asked without saying which theorem it works for: leave-one-out
    cannot hold anything out, so nothing is proposed (fail closed). Pass `TheoremRef.none()` to mean it."""


@dataclass(frozen=True)
class TheoremRef:
    """One theorem, the one reference every layer passes: the prover's backends (which file, which
    name, which commit), the proposers and the retriever (leave-one-out by `identity`, accessibility
    by `file_path` and `start`). Built from a database row by `TheoremRef.of`, from a training step by
    `RecordedStep.theorem`; `TheoremRef.none()` holds nothing out."""

    id: int | None                       # the theorem's database id
    repo: str | None = None
    file_path: str | None = None
    full_name: str | None = None
    start: tuple[int, int] | None = (0, 0)  # (line, col) of the declaration
    url: str | None = None
    commit: str | None = None
    identity: int | None = None  # shared with its copies in other repositories (`Theorem.identity_id`);
    #                              None: the id itself
    unrestricted: bool = False   # `TheoremRef.none()`: nothing is held out

    @classmethod
    def of(cls, row) -> TheoremRef:
        """The reference to a selected theorem (`leanagent.db.proofs.TheoremRow`, or anything with its
        fields): the one conversion from a database row."""
        return cls(row.id, row.repo, row.file_path, row.full_name, (row.start_line, row.start_col), row.url,
                   row.commit, getattr(row, "identity", None))

    @classmethod
    def none(cls) -> TheoremRef:
        """Nothing held out: for proving a `sorry` theorem (it has no recorded steps) or a unit test, never
        for an evaluation."""
        return cls(None, start=None, unrestricted=True)

    def hidden(self) -> int | None:
        """The theorem identity whose recorded steps must not be seen (None: `TheoremRef.none()`)."""
        if self.unrestricted:
            return None
        hidden = self.identity if self.identity is not None else self.id
        if hidden is None:
            raise MissingTargetError(f"theorem {self.full_name or '(unnamed)'} has no id: leave-one-out "
                                     "cannot hold its steps out (use TheoremRef.none() to hold nothing out)")
        return hidden


@dataclass(frozen=True)
class SourceScope:
    """Which recorded steps may feed the proposers (kNN, templates, frequency).

    `repos` None means every repository; evaluation-only repositories (imported
    with `--split test`) never feed anything, whatever the scope says.
    """

    repos: tuple[str, ...] | None = None
    splits: tuple[str, ...] = ("train",)


def visible(step_theorem: int | None, target: TheoremRef | None) -> bool:
    """May a step recorded in theorem `step_theorem` (its identity) help with `target`? Never the steps of
    the target or of its copies; raises without a target (fail closed)."""
    if target is None:
        raise MissingTargetError("no target given: leave-one-out cannot hold anything out "
                                 "(use TheoremRef.none() to hold nothing out)")
    hidden = target.hidden()
    return hidden is None or step_theorem != hidden


def require_targets(targets: Sequence[TheoremRef | None] | None, n: int) -> list[TheoremRef]:
    """`targets` as a list of n targets; raises when any is missing (fail closed: see `visible`)."""
    if targets is None or any(t is None for t in targets):
        raise MissingTargetError("proposals asked for without a target for every state "
                                 "(use TheoremRef.none() to hold nothing out)")
    out = list(targets)
    if len(out) != n:
        raise ValueError(f"{len(out)} targets for {n} states")
    return out
