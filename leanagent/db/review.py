"""The queries behind the review web app and the patch export.

Agent proofs are listed with filters and pages, shown in detail, and reviewed.
A decision is appended as a `Review` row and copied to `Proof.review_status`
(the latest decision wins; the history is never overwritten).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leanagent.db.engine import Database
from leanagent.db.models import Proof, Repository, Review, ReviewStatus, SourceFile, Theorem, TheoremStatus, utcnow
from leanagent.errors import DatabaseError

#: Longest reviewer name and comment accepted (the reviewer column is String(255)).
MAX_REVIEWER = 255
MAX_COMMENT = 20_000


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
class ProofFilter:
    """What the proof list shows. Empty fields do not filter."""

    repo: str | None = None
    status: ReviewStatus | None = None
    model: str | None = None
    run_id: int | None = None
    since: date | None = None  # found on or after this day (UTC)
    until: date | None = None  # found on or before this day (UTC)
    q: str | None = None       # substring of the theorem's full name, case-insensitive
    page: int = 1
    per_page: int = 50


@dataclass
class ProofRow:
    id: int
    full_name: str
    repo: str
    file_path: str
    start_line: int
    status: str
    model: str | None
    run_id: int | None
    env: str
    found_at: datetime
    check_status: str | None = None  # the whole-file re-check (db/proof_checks.py)


@dataclass
class ProofPage:
    rows: list[ProofRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


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


def filter_choices(db: Database) -> dict[str, list]:
    """The values the list filters offer: repository names, models and run ids that have proofs."""
    with db.session() as s:
        repos = s.scalars(select(Repository.name).order_by(Repository.name)).all()
        models = s.scalars(select(Proof.model).where(Proof.model.is_not(None)).distinct()
                           .order_by(Proof.model)).all()
        runs = s.scalars(select(Proof.run_id).where(Proof.run_id.is_not(None)).distinct()
                         .order_by(Proof.run_id.desc())).all()
    return {"repos": list(repos), "models": list(models), "runs": list(runs)}


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=timezone.utc)


def _like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_proofs(db: Database, f: ProofFilter) -> ProofPage:
    """One page of agent proofs, newest first."""
    if f.page < 1 or not (1 <= f.per_page <= 500):
        raise ReviewInputError(f"invalid page {f.page} / page size {f.per_page}")
    conds = []
    if f.repo:
        conds.append(Repository.name == f.repo)
    if f.status is not None:
        conds.append(Proof.review_status == f.status)
    if f.model:
        conds.append(Proof.model == f.model)
    if f.run_id is not None:
        conds.append(Proof.run_id == f.run_id)
    if f.since is not None:
        conds.append(Proof.found_at >= _day_start(f.since))
    if f.until is not None:
        conds.append(Proof.found_at < _day_start(f.until + timedelta(days=1)))
    if f.q and f.q.strip():
        conds.append(Theorem.full_name.ilike(_like_pattern(f.q.strip()), escape="\\"))
    base = (select(Proof.id).join(Theorem, Proof.theorem_id == Theorem.id)
            .join(Repository, Theorem.repo_id == Repository.id).where(*conds))
    cols = (Proof.id, Theorem.full_name, Repository.name, Theorem.file_path, Theorem.start_line,
            Proof.review_status, Proof.model, Proof.run_id, Proof.env, Proof.found_at, Proof.check_status)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = s.execute(base.with_only_columns(*cols)
                         .order_by(Proof.found_at.desc(), Proof.id.desc())
                         .limit(f.per_page).offset((f.page - 1) * f.per_page)).all()
    return ProofPage(rows=[ProofRow(id=r[0], full_name=r[1], repo=r[2], file_path=r[3], start_line=r[4],
                                    status=ReviewStatus(r[5]).value, model=r[6], run_id=r[7], env=r[8],
                                    found_at=r[9], check_status=r[10]) for r in rows],
                     total=total, page=f.page, per_page=f.per_page)


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
            upstream=p.upstream)


def record_review(db: Database, proof_id: int, status: ReviewStatus | str, reviewer: str,
                  comment: str | None = None) -> ReviewEntry:
    """Append a decision and make it the proof's current review status."""
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
    with db.session() as s:
        proof = s.get(Proof, proof_id)
        if proof is None:
            raise NotFoundError(f"no proof with id {proof_id}")
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


def flag_facts(db: Database, proof_ids: list[int]) -> tuple[list[FlagFacts], list[tuple[int, str, str | None]]]:
    """(the facts of each given proof, [(repository id, full name, statement)] of the `sorry` and agent-proved
    theorems of their repositories: the candidates for placeholder definitions)."""
    with db.session() as s:
        rows = s.execute(
            select(Proof.id, Theorem.repo_id, Theorem.full_name, Theorem.file_path, Theorem.statement, Proof.tactics,
                   Proof.check_status, Proof.check_message, Proof.upstream, Repository.path, SourceFile.content,
                   Proof.env, Proof.axioms, Proof.statement_digest, Theorem.start_line)
            .join(Theorem, Proof.theorem_id == Theorem.id).join(Repository, Repository.id == Theorem.repo_id)
            .outerjoin(SourceFile, (SourceFile.repo_id == Theorem.repo_id) & (SourceFile.path == Theorem.file_path))
            .where(Proof.id.in_(list(proof_ids)))).all()
        repo_ids = sorted({r[1] for r in rows})
        defs = s.execute(select(Theorem.repo_id, Theorem.full_name, Theorem.statement).where(
            Theorem.repo_id.in_(repo_ids),
            Theorem.status.in_([TheoremStatus.SORRY, TheoremStatus.PROVED_BY_AGENT]))).all()
    return [FlagFacts(*r) for r in rows], [tuple(d) for d in defs]
