"""The review queue as the app sees it: the filter and sort read from a query string, the order of
every proof in it, the page shown, and a proof's neighbours for next/previous.

The database orders by found date, theorem name and the re-check's measures
(`leanagent.db.review_queue`); the `flags` sort is added here, because flags are computed by
`leanagent.review.flags` over the proofs' facts, not stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Mapping
from urllib.parse import urlencode

from leanagent.db.models import ReviewStatus
from leanagent.db.review import ReviewInputError
from leanagent.db.review_queue import SORTS as DB_SORTS
from leanagent.db.review_queue import ProofFilter, ProofPage, in_queue, order_by_key, page_of, queue_ids
from leanagent.review.flags import proof_flags

#: The sortable columns, with the direction a first click sorts in (the biggest time first, names A to Z).
FIRST_DIRECTION = {"found": "desc", "theorem": "asc", "time": "desc", "lines": "desc", "flags": "desc"}
SORTS = (*DB_SORTS, "flags")
DEFAULT_SORT = "found"


@dataclass
class Queue:
    """A filter and an order: what the list shows, and what next/previous walk through."""

    f: ProofFilter = field(default_factory=ProofFilter)
    sort: str = DEFAULT_SORT
    descending: bool = True

    def query(self, **override) -> str:
        """The query string naming this queue (the page left out unless given), defaults omitted."""
        f = self.f
        values = {"repo": f.repo, "status": f.status.value if f.status else None, "model": f.model,
                  "run": f.run_id, "since": f.since, "until": f.until, "q": f.q,
                  "sort": None if self.sort == DEFAULT_SORT else self.sort,
                  "dir": None if self._default_direction() else ("desc" if self.descending else "asc"),
                  "page": None}
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})

    def _default_direction(self) -> bool:
        return self.descending == (FIRST_DIRECTION[self.sort] == "desc")

    def header_query(self, sort: str) -> str:
        """The query a click on column `sort` opens: the other direction when it is the current sort, else
        that column's first direction; back to page 1 either way."""
        if sort == self.sort:
            descending = not self.descending
        else:
            descending = FIRST_DIRECTION[sort] == "desc"
        return replace(self, sort=sort, descending=descending).query()

    def arrow(self, sort: str) -> str:
        """`descending` / `ascending` for the sorted column (aria-sort), else `none`."""
        if sort != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"


def parse_queue(params: Mapping[str, str], per_page: int) -> Queue:
    """The queue named by a query string's parameters; a value that names no filter or sort is an error
    (the page answers 400), never ignored silently."""

    def opt(name: str) -> str | None:
        value = (params.get(name) or "").strip()
        return value or None

    try:
        status = ReviewStatus(opt("status")) if opt("status") else None
        run_id = int(opt("run")) if opt("run") else None
        since = date.fromisoformat(opt("since")) if opt("since") else None
        until = date.fromisoformat(opt("until")) if opt("until") else None
        page = int(opt("page") or 1)
    except ValueError as exc:
        raise ReviewInputError(f"invalid filter: {exc}") from None
    if page < 1:
        raise ReviewInputError("invalid filter: page must be 1 or more")
    sort = opt("sort") or DEFAULT_SORT
    if sort not in SORTS:
        raise ReviewInputError(f"invalid sort {sort!r}: use one of " + ", ".join(SORTS))
    direction = opt("dir") or FIRST_DIRECTION[sort]
    if direction not in ("asc", "desc"):
        raise ReviewInputError(f"invalid sort direction {direction!r}: use asc or desc")
    f = ProofFilter(repo=opt("repo"), status=status, model=opt("model"), run_id=run_id, since=since,
                    until=until, q=opt("q"), page=page, per_page=per_page)
    return Queue(f=f, sort=sort, descending=direction == "desc")


def ordered_ids(db, q: Queue, include: int | None = None) -> list[int]:
    """Every proof id of the queue in its order (`include`: see `queue_ids`)."""
    if q.sort != "flags":
        return queue_ids(db, q.f, q.sort, q.descending, include)
    ids = queue_ids(db, q.f, DEFAULT_SORT, True, include)
    flags = proof_flags(db, ids)
    # Most flags first when descending; proofs with the same flags together, newest first among them.
    keyed = [(pid, (len(fl), ", ".join(sorted(x.label for x in fl))))
             for pid, fl in ((pid, flags.get(pid, [])) for pid in ids)]
    return order_by_key(keyed, q.descending)


def queue_page(db, q: Queue) -> ProofPage:
    return page_of(db, ordered_ids(db, q), q.f)


@dataclass
class Position:
    """Where a proof stands in a queue: its neighbours and its place (1-based; None when not in it)."""

    prev_id: int | None
    next_id: int | None
    index: int | None
    total: int


def position(db, q: Queue, proof_id: int) -> Position:
    """The proof's neighbours in the queue, found even when the proof itself has left it (reviewed out
    of a `status=new` queue, say): it is kept in the order where it would stand."""
    return _position(ordered_ids(db, q, include=proof_id), proof_id, in_queue(db, q.f, proof_id))


def _position(ids: list[int], proof_id: int, inside: bool) -> Position:
    """`position` over the queue's ids listed with `proof_id` kept in them (`inside`: it matches the filter)."""
    if proof_id not in ids:
        return Position(None, None, None, len(ids))
    i = ids.index(proof_id)
    return Position(prev_id=ids[i - 1] if i else None, next_id=ids[i + 1] if i + 1 < len(ids) else None,
                    index=i + 1 if inside else None, total=len(ids) if inside else len(ids) - 1)


def after_decision(db, q: Queue, proof_id: int) -> tuple[int | None, int]:
    """(the proof to mark current after a decision on `proof_id`, the page it stands on): the next proof of
    the queue (the reviewed one when it is still in the queue and last, else the one before it). The
    queue is listed once: with the flags sort that computes every proof's flags."""
    ids = ordered_ids(db, q, include=proof_id)
    inside = in_queue(db, q.f, proof_id)
    pos = _position(ids, proof_id, inside)
    at = pos.next_id if pos.next_id is not None else (proof_id if pos.index is not None else pos.prev_id)
    # The queue itself: the reviewed proof was kept in the listing only to find its neighbours. Leaving
    # one id out changes no other's order (every sort is stable).
    queue = ids if inside else [i for i in ids if i != proof_id]
    page = queue.index(at) // q.f.per_page + 1 if at is not None and at in queue else 1
    return at, page
