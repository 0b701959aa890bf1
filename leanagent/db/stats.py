"""Counts per repository, for `leanagent db stats` and the nightly report."""

from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import aliased

from leanagent.db.engine import Database
from leanagent.db.models import Proof, Repository, StepPremise, TacticStep, Theorem, TheoremStatus
from leanagent.db.splits import SPLITS

COLUMNS = ("theorems", "train", "val", "test", "with_proofs", "sorry", "steps", "premises", "agent_proofs", "copies")


def repo_stats(db: Database) -> list[dict]:
    """One dict per repository with the counts in COLUMNS, ordered by curriculum position then name."""
    with db.session() as s:
        repos = s.execute(select(Repository.id, Repository.name, Repository.commit,
                                 Repository.curriculum_position, Repository.split_policy, Repository.tracer)).all()

        def per_repo(stmt) -> dict[int, int]:
            return dict(s.execute(stmt).all())

        theorems = per_repo(select(Theorem.repo_id, func.count()).group_by(Theorem.repo_id))
        splits = {(rid, sp): n for rid, sp, n in s.execute(  # one grouped query for the three split columns
            select(Theorem.repo_id, Theorem.split, func.count()).group_by(Theorem.repo_id, Theorem.split))}
        proven = per_repo(select(Theorem.repo_id, func.count())
                          .where(Theorem.status.in_([TheoremStatus.PROVEN, TheoremStatus.PROVED_BY_AGENT]))
                          .group_by(Theorem.repo_id))
        sorry = per_repo(select(Theorem.repo_id, func.count())
                         .where(Theorem.status == TheoremStatus.SORRY).group_by(Theorem.repo_id))
        steps = per_repo(select(Theorem.repo_id, func.count()).join(TacticStep, TacticStep.theorem_id == Theorem.id)
                         .group_by(Theorem.repo_id))
        premises = per_repo(select(Theorem.repo_id, func.count(distinct(StepPremise.premise_id)))
                            .join(TacticStep, TacticStep.theorem_id == Theorem.id)
                            .join(StepPremise, StepPremise.step_id == TacticStep.id).group_by(Theorem.repo_id))
        proofs = per_repo(select(Theorem.repo_id, func.count()).join(Proof, Proof.theorem_id == Theorem.id)
                          .group_by(Theorem.repo_id))
        # Theorems that also exist in another repository (one identity, db/ingest.py).
        other = aliased(Theorem)
        copies = per_repo(select(Theorem.repo_id, func.count(distinct(Theorem.id)))
                          .join(other, (other.identity_id == func.coalesce(Theorem.identity_id, Theorem.id))
                                & (other.repo_id != Theorem.repo_id)).group_by(Theorem.repo_id))
    rows = []
    for rid, name, commit, pos, policy, tracer in repos:
        rows.append({"repository": name, "commit": commit, "curriculum_position": pos,
                     "split": policy or "hash", "tracer": tracer or "-", "theorems": theorems.get(rid, 0),
                     **{sp: splits.get((rid, sp), 0) for sp in SPLITS}, "with_proofs": proven.get(rid, 0),
                     "sorry": sorry.get(rid, 0), "steps": steps.get(rid, 0),
                     "premises": premises.get(rid, 0), "agent_proofs": proofs.get(rid, 0),
                     "copies": copies.get(rid, 0)})
    rows.sort(key=lambda r: (r["curriculum_position"] is None, r["curriculum_position"] or 0, r["repository"]))
    return rows


def repo_snapshot(db: Database) -> dict[str, dict]:
    """{repository: {commit, theorems, sorry (open sorry theorems), agent_proofs, added_at (ISO text)}}, what
    the nightly report compares before and after a night."""
    with db.session() as s:
        repos = s.execute(select(Repository.id, Repository.name, Repository.commit, Repository.added_at)).all()
        thms = dict(s.execute(select(Theorem.repo_id, func.count()).group_by(Theorem.repo_id)).all())
        sorry = dict(s.execute(select(Theorem.repo_id, func.count()).where(Theorem.status == TheoremStatus.SORRY)
                               .group_by(Theorem.repo_id)).all())
        proofs = dict(s.execute(select(Theorem.repo_id, func.count()).join(Proof, Proof.theorem_id == Theorem.id)
                                .group_by(Theorem.repo_id)).all())
    return {name: {"commit": commit, "theorems": thms.get(rid, 0), "sorry": sorry.get(rid, 0),
                   "agent_proofs": proofs.get(rid, 0), "added_at": added.isoformat() if added else None}
            for rid, name, commit, added in repos}
