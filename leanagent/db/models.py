"""The dynamic theorem database: SQLAlchemy 2.x models.

Identity follows LeanDojo: a theorem is (repository, file, full name, start).
A premise is (full name, defining file): the same premise seen from several
repositories is stored once. The schema is created and upgraded only by the
Alembic migrations in `leanagent/db/migrations`; keep the two in step.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings (no native PostgreSQL enum type), so that adding a
    # value later needs no ALTER TYPE, and SQLite and PostgreSQL behave alike.
    return Enum(cls, name=name, native_enum=False, length=32,
                values_callable=lambda e: [m.value for m in e], validate_strings=True)


class TheoremStatus(str, enum.Enum):
    PROVEN = "proven"                    # the repository has a proof
    SORRY = "sorry"                      # the proof contains sorry/admit: a target for the prover
    PROVED_BY_AGENT = "proved_by_agent"  # a sorry theorem that the agent has proved


class ReviewStatus(str, enum.Enum):
    NEW = "new"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NEEDS_CHANGES = "needs_changes"


class StepStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    # Stopped by Ctrl-C (or SIGTERM): resumable, and not an error. The status columns are plain strings
    # (`_enum`: no native enum, no CHECK constraint), so a new value needs no migration.
    INTERRUPTED = "interrupted"


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="traced")  # git | path | traced
    url: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)
    commit: Mapped[str | None] = mapped_column(String(64))
    lean_version: Mapped[str | None] = mapped_column(String(64))
    # Fingerprint of what was imported (input files + filters), so that importing
    # the same data twice is recognised without comparing every row.
    digest: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    curriculum_position: Mapped[int | None] = mapped_column(Integer)
    # How its theorems' splits were decided: hash | dataset | test (evaluation-only). See db/splits.py.
    split_policy: Mapped[str | None] = mapped_column(String(16), default="hash")
    # What produced its records: leandojo | repl | scan | dataset (migration 0007; repl-sorries in databases from before the REPL tracer).
    tracer: Mapped[str | None] = mapped_column(String(16))

    files: Mapped[list[SourceFile]] = relationship(back_populates="repository", cascade="all, delete-orphan",
                                                   passive_deletes=True)
    theorems: Mapped[list[Theorem]] = relationship(back_populates="repository", cascade="all, delete-orphan",
                                                   passive_deletes=True)


class SourceFile(Base):
    __tablename__ = "source_files"
    __table_args__ = (UniqueConstraint("repo_id", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    module: Mapped[str | None] = mapped_column(Text)
    imports: Mapped[list | None] = mapped_column(JSON)  # module paths, None when unknown
    # Source text when a local checkout was read (review shows context, export patches it).
    content: Mapped[str | None] = mapped_column(Text)
    # Why the REPL tracer could not trace the file (its first error), None when it could.
    error: Mapped[str | None] = mapped_column(Text)

    repository: Mapped[Repository] = relationship(back_populates="files")


class Premise(Base):
    __tablename__ = "premises"
    __table_args__ = (UniqueConstraint("full_name", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)  # defining file, as LeanDojo writes it (def_path)
    kind: Mapped[str | None] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(Text)
    start_line: Mapped[int | None] = mapped_column(Integer)
    start_col: Mapped[int | None] = mapped_column(Integer)
    end_line: Mapped[int | None] = mapped_column(Integer)
    end_col: Mapped[int | None] = mapped_column(Integer)


class Theorem(Base):
    __tablename__ = "theorems"
    __table_args__ = (
        UniqueConstraint("repo_id", "file_path", "full_name", "start_line", "start_col", name="uq_theorem_identity"),
        Index("ix_theorems_status", "status"),
        Index("ix_theorems_full_name", "full_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    file_path: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text)
    start_line: Mapped[int] = mapped_column(Integer)
    start_col: Mapped[int] = mapped_column(Integer)
    end_line: Mapped[int] = mapped_column(Integer)
    end_col: Mapped[int] = mapped_column(Integer)
    statement: Mapped[str | None] = mapped_column(Text)
    # The original proof text when known (a `sorry` proof, for review and patches).
    proof_text: Mapped[str | None] = mapped_column(Text)
    num_steps: Mapped[int] = mapped_column(Integer, default=0)
    # e^S for S proof steps. NULL means infinite: a `sorry` theorem (see curriculum).
    difficulty: Mapped[float | None] = mapped_column(Float)
    status: Mapped[TheoremStatus] = mapped_column(_enum(TheoremStatus, "theorem_status"))
    sorry_mode: Mapped[str | None] = mapped_column(String(16))  # tactic | term, when found by the scanner
    # train | val | test, decided once when stored (db/splits.py); every query reads it.
    split: Mapped[str | None] = mapped_column(String(8), index=True)
    # The same theorem (full name and normalised statement) in every repository shares one identity: the id
    # of its first stored copy (db/ingest.py). Leave-one-out hides all copies; all copies share one split.
    identity_id: Mapped[int | None] = mapped_column(Integer, index=True)
    url: Mapped[str | None] = mapped_column(Text)  # the repository the file belongs to (LeanDojo's `url`)
    commit: Mapped[str | None] = mapped_column(String(64))

    repository: Mapped[Repository] = relationship(back_populates="theorems")
    steps: Mapped[list[TacticStep]] = relationship(back_populates="theorem", cascade="all, delete-orphan",
                                                   passive_deletes=True, order_by="TacticStep.idx")
    proofs: Mapped[list[Proof]] = relationship(back_populates="theorem", cascade="all, delete-orphan",
                                               passive_deletes=True)


class TacticStep(Base):
    __tablename__ = "tactic_steps"
    __table_args__ = (UniqueConstraint("theorem_id", "idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    theorem_id: Mapped[int] = mapped_column(ForeignKey("theorems.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    tactic: Mapped[str] = mapped_column(Text)
    annotated_tactic: Mapped[str | None] = mapped_column(Text)
    state_before: Mapped[str] = mapped_column(Text)
    state_after: Mapped[str] = mapped_column(Text)

    theorem: Mapped[Theorem] = relationship(back_populates="steps")
    premise_links: Mapped[list[StepPremise]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                            order_by="StepPremise.position")


class StepPremise(Base):
    """The premises annotated in one tactic step, in the order of their marks."""

    __tablename__ = "step_premises"

    step_id: Mapped[int] = mapped_column(ForeignKey("tactic_steps.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    premise_id: Mapped[int] = mapped_column(ForeignKey("premises.id", ondelete="CASCADE"), index=True)

    premise: Mapped[Premise] = relationship()


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # learn | nightly | train | prove | eval
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[StepStatus] = mapped_column(_enum(StepStatus, "run_status"), default=StepStatus.RUNNING)
    config: Mapped[dict | None] = mapped_column(JSON)     # the resolved config
    versions: Mapped[dict | None] = mapped_column(JSON)   # package versions used
    report_path: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    steps: Mapped[list[RunStep]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                passive_deletes=True, order_by="RunStep.id")


class RunStep(Base):
    __tablename__ = "run_steps"
    __table_args__ = (UniqueConstraint("run_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))  # e.g. "repo:mathlib-order/train-retriever"
    status: Mapped[StepStatus] = mapped_column(_enum(StepStatus, "step_status"), default=StepStatus.PENDING)
    details: Mapped[dict | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    run: Mapped[Run] = relationship(back_populates="steps")


class Checkpoint(Base):
    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    repo_id: Mapped[int | None] = mapped_column(ForeignKey("repositories.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))  # retriever | generator | index
    path: Mapped[str] = mapped_column(Text)
    config: Mapped[dict | None] = mapped_column(JSON)
    metrics: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Evaluation(Base):
    """One cell of a lifelong matrix: after training on repository i, metric on repository j."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("run_id", "metric", "trained_index", "eval_repo_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    metric: Mapped[str] = mapped_column(String(32))  # e.g. R@10, tactic_acc
    trained_index: Mapped[int] = mapped_column(Integer)  # i: position in the run's sequence
    trained_repo_id: Mapped[int | None] = mapped_column(ForeignKey("repositories.id", ondelete="SET NULL"))
    eval_repo_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    value: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Proof(Base):
    """A proof found by the agent, with the states along it, waiting for review."""

    __tablename__ = "proofs"
    __table_args__ = (Index("ix_proofs_review_status", "review_status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    theorem_id: Mapped[int] = mapped_column(ForeignKey("theorems.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    model: Mapped[str | None] = mapped_column(String(255))  # model/checkpoint version that found it
    tactics: Mapped[list] = mapped_column(JSON)           # [str]
    states: Mapped[list] = mapped_column(JSON)            # [str], len(tactics) + 1, the last "no goals"
    env: Mapped[str] = mapped_column(String(16))          # leandojo | replay: who checked it
    expansions: Mapped[int] = mapped_column(Integer, default=0)
    time_model: Mapped[float] = mapped_column(Float, default=0.0)
    time_lean: Mapped[float] = mapped_column(Float, default=0.0)
    time_search: Mapped[float] = mapped_column(Float, default=0.0)
    review_status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus, "review_status"),
                                                        default=ReviewStatus.NEW)
    # Digest of the file's text when the proof was found; the patch export refuses a changed file.
    file_digest: Mapped[str | None] = mapped_column(String(64))
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The whole-file re-check (leanagent/prover/recheck.py): verified | rejected | unchecked (NULL: before
    # re-checks existed), which check ran (repl | lake), and Lean's message or why none ran.
    check_status: Mapped[str | None] = mapped_column(String(16))
    checked_by: Mapped[str | None] = mapped_column(String(16))
    check_message: Mapped[str | None] = mapped_column(Text)
    # The statement the proof was found for (digest of the declaration's text from its keyword to `:=`, as
    # the re-check located it by name: leanagent/lean/declarations.py), and the axioms Lean says the theorem
    # depends on with the proof in place (`#print axioms`; NULL when no re-check answered).
    statement_digest: Mapped[str | None] = mapped_column(String(64))
    axioms: Mapped[list | None] = mapped_column(JSON)
    # The splits whose recorded steps the proposers could read when it was found (the train split alone, or
    # more). A proof found with evaluation steps visible is kept for review but never becomes training data.
    source_splits: Mapped[list | None] = mapped_column(JSON)
    # The repository commit the proof was found on, and what the upstream branch head says about the
    # theorem (leanagent/sources/upstream.py: still sorry? how many commits behind?), for review flags.
    found_commit: Mapped[str | None] = mapped_column(String(64))
    upstream: Mapped[dict | None] = mapped_column(JSON)
    # Polishing (leanagent/prover/polish.py, issue 28): the shorter variant it kept (NULL: none kept or not
    # run), what it did ({tried, kept, seconds, budget_hit, skipped}), what the re-check measured per variant
    # ({"found": M, "polished": M}, M = {seconds, file_median_seconds, heartbeats, lines, warnings,
    # max_heartbeats}) and the reviewer's pick (found | polished; NULL: polished when there is one).
    polished_tactics: Mapped[list | None] = mapped_column(JSON)
    polish: Mapped[dict | None] = mapped_column(JSON)
    measures: Mapped[dict | None] = mapped_column(JSON)
    variant: Mapped[str | None] = mapped_column(String(16))

    theorem: Mapped[Theorem] = relationship(back_populates="proofs")
    reviews: Mapped[list[Review]] = relationship(back_populates="proof", cascade="all, delete-orphan",
                                                 passive_deletes=True, order_by="Review.id")

    @property
    def chosen(self) -> str:
        """`found` or `polished`: the variant the patch, the branch and the flags use."""
        return chosen_variant(self.polished_tactics, self.variant)

    @property
    def chosen_tactics(self) -> list:
        return chosen_parts(self.tactics, self.polished_tactics, self.variant, self.measures)[1]

    @property
    def chosen_measures(self) -> dict:
        """What the re-check measured for the chosen variant ({} when nothing was measured)."""
        return chosen_parts(self.tactics, self.polished_tactics, self.variant, self.measures)[2]


def chosen_variant(polished: list | None, variant: str | None) -> str:
    """The variant export uses: the reviewer's pick, else the polished one when polishing kept one."""
    if variant == "found" or not polished:
        return "found"
    return "polished"


def chosen_parts(tactics: list | None, polished: list | None, variant: str | None,
                 measures: dict | None) -> tuple[str, list, dict]:
    """(the variant export uses, its tactics, its measures) from a proof's stored columns."""
    name = chosen_variant(polished, variant)
    m = (measures if isinstance(measures, dict) else {}).get(name)
    return name, list((polished if name == "polished" else tactics) or []), dict(m) if isinstance(m, dict) else {}


class ProofAttempt(Base):
    """One search over one theorem, successful or not."""

    __tablename__ = "proof_attempts"
    __table_args__ = (Index("ix_attempts_key", "theorem_id", "model", "budget"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    theorem_id: Mapped[int] = mapped_column(ForeignKey("theorems.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"), index=True)
    proof_id: Mapped[int | None] = mapped_column(ForeignKey("proofs.id", ondelete="SET NULL"))
    model: Mapped[str | None] = mapped_column(String(255))
    budget: Mapped[str | None] = mapped_column(String(255))  # canonical text of the search budget
    env: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))  # proved | failed | timeout | error | given_up
    expansions: Mapped[int] = mapped_column(Integer, default=0)
    time_model: Mapped[float] = mapped_column(Float, default=0.0)
    time_lean: Mapped[float] = mapped_column(Float, default=0.0)
    time_search: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Review(Base):
    """One reviewer decision. Decisions are appended, never overwritten."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proof_id: Mapped[int] = mapped_column(ForeignKey("proofs.id", ondelete="CASCADE"), index=True)
    status: Mapped[ReviewStatus] = mapped_column(_enum(ReviewStatus, "review_decision"))
    reviewer: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    proof: Mapped[Proof] = relationship(back_populates="reviews")
