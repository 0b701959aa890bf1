"""The review queue: which agent proofs the list shows, in which order, and one page of them.

A queue is a `ProofFilter` plus a sort. The order is computed as the full list of proof ids
(`queue_ids`), so the list page, its pages and the proof page's next/previous links all follow
the same order. Found date and theorem name sort in SQL; the re-check's measures (time, lines)
sort here, because which variant's measures count (`chosen_variant`) is decided in Python.
Proofs without a measure go last in both directions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, func, or_, select

from leanagent.db.engine import Database
from leanagent.db.models import Proof, Repository, ReviewStatus, Theorem, chosen_parts, chosen_variant
from leanagent.db.review import ReviewInputError

#: The sorts the database answers (the review app adds `flags`), with the measure each reads.
MEASURE_SORTS = {"time": "seconds", "lines": "lines"}
SORTS = ("found", "theorem", *MEASURE_SORTS)


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
    chosen: str = "found"            # the variant export uses (Proof.chosen)
    seconds: float | None = None     # the re-check's elaboration time of that variant, when measured
    lines: int | None = None         # its number of lines, when measured


@dataclass
class ProofPage:
    rows: list[ProofRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


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


def _conditions(f: ProofFilter) -> list:
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
    return conds


def _number(value) -> float | None:
    """A measure as a number, or None when it is missing or not a finite number (older or odd rows)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def chosen_measure(measures: dict | None, polished: list | None, variant: str | None, name: str) -> float | None:
    """One measure (`seconds`, `lines`, ...) of the variant export uses, or None when not measured."""
    return _number(chosen_parts(None, polished, variant, measures)[2].get(name))


def queue_ids(db: Database, f: ProofFilter, sort: str = "found", descending: bool = True,
              include: int | None = None) -> list[int]:
    """Every proof id of the queue, in its order. `include`: a proof kept in the order even when it no
    longer matches the filter (the one just reviewed, so that its neighbours can be found)."""
    if sort not in SORTS:
        raise ReviewInputError(f"unknown sort {sort!r}", fix="use one of: " + ", ".join(SORTS))
    conds = _conditions(f)
    where = [or_(Proof.id == include, and_(*conds))] if include is not None and conds else conds
    base = (select(Proof.id).join(Theorem, Proof.theorem_id == Theorem.id)
            .join(Repository, Theorem.repo_id == Repository.id).where(*where))
    newest = (Proof.found_at.desc(), Proof.id.desc())
    with db.session() as s:
        if sort == "found":
            order = newest if descending else (Proof.found_at, Proof.id)
            return list(s.scalars(base.order_by(*order)).all())
        if sort == "theorem":
            name = func.lower(Theorem.full_name)
            return list(s.scalars(base.order_by(name.desc() if descending else name, *newest)).all())
        rows = s.execute(base.add_columns(Proof.measures, Proof.polished_tactics, Proof.variant)
                         .order_by(*newest)).all()
    keyed = [(pid, chosen_measure(m, pol, var, MEASURE_SORTS[sort])) for pid, m, pol, var in rows]
    return order_by_key(keyed, descending)


def in_queue(db: Database, f: ProofFilter, proof_id: int) -> bool:
    """Whether the proof matches the filter (one row looked up, not the queue listed)."""
    with db.session() as s:
        return s.scalar(select(Proof.id).join(Theorem, Proof.theorem_id == Theorem.id)
                        .join(Repository, Theorem.repo_id == Repository.id)
                        .where(Proof.id == proof_id, *_conditions(f))) is not None


def order_by_key(keyed: list[tuple[int, object]], descending: bool) -> list[int]:
    """Ids ordered by their key, ties kept in the given order, and ids without a key (None) last."""
    present = sorted((item for item in keyed if item[1] is not None), key=lambda item: item[1],
                     reverse=descending)  # Python's sort is stable with reverse=True too
    return [pid for pid, _ in present] + [pid for pid, key in keyed if key is None]


def proof_rows(db: Database, ids: list[int]) -> list[ProofRow]:
    """The list rows of the given proofs, in the order given (unknown ids are left out)."""
    if not ids:
        return []
    cols = (Proof.id, Theorem.full_name, Repository.name, Theorem.file_path, Theorem.start_line,
            Proof.review_status, Proof.model, Proof.run_id, Proof.env, Proof.found_at, Proof.check_status,
            Proof.measures, Proof.polished_tactics, Proof.variant)
    with db.session() as s:
        rows = s.execute(select(*cols).join(Theorem, Proof.theorem_id == Theorem.id)
                         .join(Repository, Theorem.repo_id == Repository.id).where(Proof.id.in_(ids))).all()
    by_id = {}
    for r in rows:
        measures, polished, variant = r[11], r[12], r[13]
        lines = chosen_measure(measures, polished, variant, "lines")
        by_id[r[0]] = ProofRow(
            id=r[0], full_name=r[1], repo=r[2], file_path=r[3], start_line=r[4], status=ReviewStatus(r[5]).value,
            model=r[6], run_id=r[7], env=r[8], found_at=r[9], check_status=r[10],
            chosen=chosen_variant(polished, variant), seconds=chosen_measure(measures, polished, variant, "seconds"),
            lines=int(lines) if lines is not None else None)
    return [by_id[i] for i in ids if i in by_id]


def page_of(db: Database, ids: list[int], f: ProofFilter) -> ProofPage:
    """Page `f.page` of an ordered queue."""
    if f.page < 1 or not (1 <= f.per_page <= 500):
        raise ReviewInputError(f"invalid page {f.page} / page size {f.per_page}")
    first = (f.page - 1) * f.per_page
    return ProofPage(rows=proof_rows(db, ids[first:first + f.per_page]), total=len(ids), page=f.page,
                     per_page=f.per_page)


def list_proofs(db: Database, f: ProofFilter, sort: str = "found", descending: bool = True) -> ProofPage:
    """One page of agent proofs, newest first unless another sort is asked for."""
    return page_of(db, queue_ids(db, f, sort, descending), f)
