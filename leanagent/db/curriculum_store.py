"""The queries the curriculum needs: per-repository difficulty data, and storing the order."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select, update

from leanagent.db.engine import Database
from leanagent.db.models import Repository, Theorem, TheoremStatus

# A theorem whose source proof uses sorry stays infinitely hard for the curriculum
# even after the agent proves it: the curriculum describes the repository's own proofs.
_SORRY_STATUSES = (TheoremStatus.SORRY, TheoremStatus.PROVED_BY_AGENT)


def difficulty_data(db: Database) -> dict[str, list[tuple[int, bool]]]:
    """(num_steps, is_sorry) per theorem, for every repository in the database.

    Counted with GROUP BY, so memory grows with the number of distinct step counts,
    not with the number of theorems.
    """
    out: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    with db.session() as s:
        names = dict(s.execute(select(Repository.id, Repository.name)).all())
        for name in names.values():
            out[name]  # repositories without theorems still get a row
        rows = s.execute(select(Theorem.repo_id, Theorem.num_steps, Theorem.status, func.count())
                         .group_by(Theorem.repo_id, Theorem.num_steps, Theorem.status))
        for repo_id, steps, status, n in rows:
            out[names[repo_id]].extend([(int(steps or 0), status in _SORRY_STATUSES)] * n)
    return dict(out)


def store_positions(db: Database, order: list[str]) -> None:
    """Set `curriculum_position` (1-based) for the named repositories; clear it for all others."""
    with db.session() as s:
        s.execute(update(Repository).values(curriculum_position=None))
        ids = dict(s.execute(select(Repository.name, Repository.id).where(Repository.name.in_(order))).all())
        rows = [{"id": ids[name], "curriculum_position": i} for i, name in enumerate(order, 1) if name in ids]
        if rows:
            s.execute(update(Repository), rows)


def stored_order(db: Database) -> list[str]:
    """Repository names in stored curriculum order."""
    with db.session() as s:
        return list(s.scalars(select(Repository.name).where(Repository.curriculum_position.is_not(None))
                              .order_by(Repository.curriculum_position)))


def theorem_difficulties(db: Database, repo: str) -> dict[int, float | None]:
    """{theorem identity: stored difficulty e^S (None: infinite)} of one repository: what orders an
    easy-first training stage (`leanagent.curriculum.easy_first_bands`). Keyed as the training examples
    name their theorem (`leanagent.db.training_data.identity`)."""
    from leanagent.db.training_data import identity

    with db.session() as s:
        rows = s.execute(select(identity(), Theorem.difficulty).join(Repository, Repository.id == Theorem.repo_id)
                         .where(Repository.name == repo))
        return {tid: d for tid, d in rows}
