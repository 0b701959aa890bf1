"""The queries behind the review web app and the patch export.

Agent proofs are shown in detail and reviewed (the list and its order: `leanagent.db.review_queue`).
A decision is appended as a `Review` row and copied to `Proof.review_status`
(the latest decision wins; the history is never overwritten).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leanagent.db.engine import Database
from leanagent.db.models import (
    Proof,
    Repository,
    Review,
    ReviewStatus,
    SourceFile,
    Theorem,
    TheoremStatus,
    chosen_variant,
    utcnow,
)
from leanagent.errors import DatabaseError

#: Longest reviewer name and comment accepted (the reviewer column is String(255)).
MAX_REVIEWER = 255
MAX_COMMENT = 20_000
#: The variants a reviewer can pick for export (Proof.variant).
VARIANTS = ("found", "polished")


class ReviewInputError(DatabaseError):
    """A review decision or filter that cannot be stored or applied."""


class NotFoundError(ReviewInputError):
    """The proof or repository named does not exist."""


@dataclass
class RepoSummary:
    id: int
    name: str
    counts: dict[str, int]  # review status value -> number of agent proofs

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ReviewEntry:
    status: str
    reviewer: str
    comment: str | None
    created_at: datetime


@dataclass
class ProofDetail:
    id: int
    theorem_id: int
    repo: str
    repo_path: str | None
    full_name: str
    file_path: str
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    statement: str | None
    proof_text: str | None
    file_content: str | None  # SourceFile.content, when known
    tactics: list[str]
    states: list[str]
    env: str
    expansions: int
    time_model: float
    time_lean: float
    time_search: float
    model: str | None
    run_id: int | None
    status: str
    file_digest: str | None
    found_at: datetime
    reviews: list[ReviewEntry] = field(default_factory=list)
    check_status: str | None = None   # verified | rejected | flagged | unchecked (None: before re-checks)
    checked_by: str | None = None     # repl | lake
    check_message: str | None = None
    axioms: list[str] | None = None   # `#print axioms` of the theorem with the proof in place
    statement_digest: str | None = None  # the statement the proof was checked under
    found_commit: str | None = None
    upstream: dict | None = None      # leanagent.sources.upstream.UpstreamStatus, as stored
    polished_tactics: list[str] | None = None  # the shorter variant polishing kept, if any
    polish: dict | None = None        # what polishing did: {tried, kept, seconds, budget_hit} or {skipped}
    measures: dict = field(default_factory=dict)  # {"found": M, "polished": M}, as the re-check stored it
    variant: str | None = None        # the reviewer's pick (None: polished when there is one)
    chosen: str = "found"             # the variant export uses (Proof.chosen)
    chosen_tactics: list[str] = field(default_factory=list)


def repo_summaries(db: Database) -> list[RepoSummary]:
    """Every repository with its number of agent proofs per review status (zeros included)."""
    with db.session() as s:
        repos = s.execute(select(Repository.id, Repository.name).order_by(Repository.name)).all()
        counts = s.execute(
            select(Theorem.repo_id, Proof.review_status, func.count(Proof.id))
            .join(Theorem, Proof.theorem_id == Theorem.id)
            .group_by(Theorem.repo_id, Proof.review_status)).all()
    by_repo: dict[int, dict[str, int]] = {rid: {st.value: 0 for st in ReviewStatus} for rid, _ in repos}
    for repo_id, status, n in counts:
        by_repo[repo_id][ReviewStatus(status).value] = n
    return [RepoSummary(id=rid, name=name, counts=by_repo[rid]) for rid, name in repos]


def proof_detail(db: Database, proof_id: int) -> ProofDetail | None:
    """Everything the proof page shows, or None when there is no such proof."""
    with db.session() as s:
        p = s.get(Proof, proof_id)
        if p is None:
            return None
        t = p.theorem
        repo = t.repository
        content = s.scalar(select(SourceFile.content).where(SourceFile.repo_id == t.repo_id,
                                                            SourceFile.path == t.file_path))
        reviews = [ReviewEntry(status=ReviewStatus(r.status).value, reviewer=r.reviewer, comment=r.comment,
                               created_at=r.created_at) for r in p.reviews]
        return ProofDetail(
            id=p.id, theorem_id=t.id, repo=repo.name, repo_path=repo.path, full_name=t.full_name,
            file_path=t.file_path, start_line=t.start_line, start_col=t.start_col, end_line=t.end_line,
            end_col=t.end_col, statement=t.statement, proof_text=t.proof_text, file_content=content,
            tactics=list(p.tactics or []), states=list(p.states or []), env=p.env, expansions=p.expansions,
            time_model=p.time_model, time_lean=p.time_lean, time_search=p.time_search, model=p.model,
            run_id=p.run_id, status=ReviewStatus(p.review_status).value, file_digest=p.file_digest,
            found_at=p.found_at, reviews=reviews, check_status=p.check_status, checked_by=p.checked_by,
            check_message=p.check_message, axioms=p.axioms, statement_digest=p.statement_digest,
            found_commit=p.found_commit or t.commit or repo.commit,
            upstream=p.upstream, polished_tactics=list(p.polished_tactics) if p.polished_tactics else None,
            polish=p.polish if isinstance(p.polish, dict) else None,
            measures=p.measures if isinstance(p.measures, dict) else {}, variant=p.variant, chosen=p.chosen,
            chosen_tactics=p.chosen_tactics)


def record_review(db: Database, proof_id: int, status: ReviewStatus | str, reviewer: str,
                  comment: str | None = None, variant: str | None = None) -> ReviewEntry:
    """Append a decision and make it the proof's current review status. `variant` (found | polished), when
    given, is the reviewer's pick of the variant export uses; the pick and the decision are stored together."""
    try:
        status = ReviewStatus(status)
    except ValueError:
        raise ReviewInputError(f"unknown review decision {status!r}",
                               fix="use one of: " + ", ".join(s.value for s in ReviewStatus)) from None
    if status is ReviewStatus.NEW:
        raise ReviewInputError("a decision must be accepted, rejected or needs_changes")
    reviewer = " ".join((reviewer or "").split())
    if not reviewer:
        raise ReviewInputError("a decision needs the reviewer's name", fix="fill in your name")
    if len(reviewer) > MAX_REVIEWER:
        raise ReviewInputError(f"the reviewer name is longer than {MAX_REVIEWER} characters")
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ReviewInputError(f"the comment is longer than {MAX_COMMENT} characters")
    variant = variant or None
    if variant is not None and variant not in VARIANTS:
        raise ReviewInputError(f"unknown proof variant {variant!r}", fix="use one of: " + ", ".join(VARIANTS))
    with db.session() as s:
        proof = s.get(Proof, proof_id)
        if proof is None:
            raise NotFoundError(f"no proof with id {proof_id}")
        if variant is not None:
            # A pick that `chosen_variant` would not honour (polished, but polishing kept nothing) is refused
            # rather than stored as a pick the export silently ignores.
            if chosen_variant(proof.polished_tactics, variant) != variant:
                raise ReviewInputError(f"proof {proof_id} has no polished variant to pick")
            proof.variant = variant
        review = Review(proof_id=proof_id, status=status, reviewer=reviewer, comment=comment,
                        created_at=utcnow())
        s.add(review)
        proof.review_status = status
        s.flush()
        return ReviewEntry(status=status.value, reviewer=reviewer, comment=comment,
                           created_at=review.created_at)


def export_rows(session: Session, repo_name: str, status: ReviewStatus) -> tuple[Repository, list]:
    """(repository, [(Proof, Theorem)]) with one proof per theorem: the most recently decided one."""
    repo = session.scalar(select(Repository).where(Repository.name == repo_name))
    if repo is None:
        names = session.scalars(select(Repository.name).order_by(Repository.name).limit(20)).all()
        raise NotFoundError(f"no repository named {repo_name!r}",
                               fix="use one of: " + (", ".join(names) or "(none: import a repository first)"))
    last_review = (select(Review.proof_id, func.max(Review.id).label("last"))
                   .group_by(Review.proof_id).subquery())
    rows = session.execute(
        select(Proof, Theorem, last_review.c.last)
        .join(Theorem, Proof.theorem_id == Theorem.id)
        .outerjoin(last_review, last_review.c.proof_id == Proof.id)
        .where(Theorem.repo_id == repo.id, Proof.review_status == status)).all()
    best: dict[int, tuple] = {}
    for proof, theorem, last in rows:
        key = (last or 0, proof.id)
        if theorem.id not in best or key > best[theorem.id][0]:
            best[theorem.id] = (key, proof, theorem)
    chosen = sorted(best.values(), key=lambda v: (v[2].file_path, v[2].start_line))
    return repo, [(proof, theorem) for _, proof, theorem in chosen]


def source_texts(session: Session, repo_id: int, paths: list[str]) -> dict[str, str]:
    """SourceFile.content for the given paths of a repository, where it is stored."""
    if not paths:
        return {}
    rows = session.execute(select(SourceFile.path, SourceFile.content)
                           .where(SourceFile.repo_id == repo_id, SourceFile.path.in_(paths))).all()
    return {path: content for path, content in rows if content is not None}


class FlagFacts(NamedTuple):
    """What the review flags (`leanagent.review.flags.proof_flags`) read about one proof."""

    proof_id: int
    repo_id: int
    full_name: str
    file_path: str
    statement: str | None
    tactics: list[str] | None
    check_status: str | None
    check_message: str | None
    upstream: dict | None
    repo_path: str | None
    stored_text: str | None  # SourceFile.content, when stored
    env: str
    axioms: list[str] | None
    statement_digest: str | None
    start_line: int
    polished_tactics: list[str] | None  # with `variant` and `measures`: which variant the flags judge
    variant: str | None
    measures: dict | None


def flag_facts(db: Database, proof_ids: list[int]) -> tuple[list[FlagFacts], list[tuple[int, str, str | None]]]:
    """(the facts of each given proof, [(repository id, full name, statement)] of the `sorry` and agent-proved
    theorems of their repositories: the candidates for placeholder definitions)."""
    with db.session() as s:
        rows = s.execute(
            select(Proof.id, Theorem.repo_id, Theorem.full_name, Theorem.file_path, Theorem.statement, Proof.tactics,
                   Proof.check_status, Proof.check_message, Proof.upstream, Repository.path,
                   Proof.env, Proof.axioms, Proof.statement_digest, Theorem.start_line, Proof.polished_tactics,
                   Proof.variant, Proof.measures)
            .join(Theorem, Proof.theorem_id == Theorem.id).join(Repository, Repository.id == Theorem.repo_id)
            .where(Proof.id.in_(list(proof_ids)))).all()
        repo_ids = sorted({r[1] for r in rows})
        # Each file's text once, not once per proof in it (a queue holds many proofs of one file).
        contents = {(rid, path): text for rid, path, text in s.execute(
            select(SourceFile.repo_id, SourceFile.path, SourceFile.content).where(
                SourceFile.repo_id.in_(repo_ids), SourceFile.path.in_(sorted({r[3] for r in rows}))))}
        defs = s.execute(select(Theorem.repo_id, Theorem.full_name, Theorem.statement).where(
            Theorem.repo_id.in_(repo_ids),
            Theorem.status.in_([TheoremStatus.SORRY, TheoremStatus.PROVED_BY_AGENT]))).all()
    return ([FlagFacts(*r[:10], contents.get((r[1], r[3])), *r[10:]) for r in rows],
            [tuple(d) for d in defs])
