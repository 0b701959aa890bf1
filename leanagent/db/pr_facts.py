"""What a pull request says about each exported proof, and the variant the review flags judge.

`proof_facts` reads, per proof: the variant export uses (`Proof.chosen`: the polished one unless the
reviewer picked the one found) with its tactics and the re-check's measures of it, the commit it
was checked against, the model and search budget that found it, the re-check's verdict, and the
reviewer whose acceptance is the latest. `leanagent.review.flags` judges the chosen variant from
these; `leanagent.review.disclosure` writes them into commit messages, the patch header and PR.md.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from sqlalchemy import func, select

from leanagent.db.engine import Database
from leanagent.db.models import Proof, ProofAttempt, Review, ReviewStatus, Theorem


class ProofFacts(NamedTuple):
    proof_id: int
    full_name: str
    file_path: str
    variant: str               # found | polished: the one exported and flagged
    tactics: list[str]         # of that variant
    measures: dict             # the re-check's measures of that variant ({}: not measured)
    commit: str | None         # the commit the proof was checked against (None: not recorded)
    model: str | None          # the checkpoint that found it
    budget: str | None         # the search budget of the attempt that found it
    env: str                   # the backend that found it (replay: no Lean ran)
    check_status: str | None   # the whole-file re-check's verdict (None: before re-checks)
    checked_by: str | None     # repl | lake
    axioms: list[str] | None   # `#print axioms` with the proof in place
    reviewer: str | None       # of the latest acceptance (None: never accepted)


def proof_facts(db: Database, proof_ids: Iterable[int]) -> dict[int, ProofFacts]:
    """{proof id: its facts} for the given proofs (unknown ids are left out)."""
    ids = list(proof_ids)
    if not ids:
        return {}
    with db.session() as s:
        # The attempt that found the proof: the first one that points at it (later runs that find it
        # again point at it too, under their own budgets).
        first = (select(ProofAttempt.proof_id, func.min(ProofAttempt.id).label("first"))
                 .where(ProofAttempt.proof_id.in_(ids)).group_by(ProofAttempt.proof_id).subquery())
        budgets = dict(s.execute(select(first.c.proof_id, ProofAttempt.budget)
                                 .join(ProofAttempt, ProofAttempt.id == first.c.first)).all())
        last = (select(Review.proof_id, func.max(Review.id).label("last"))
                .where(Review.proof_id.in_(ids), Review.status == ReviewStatus.ACCEPTED)
                .group_by(Review.proof_id).subquery())
        reviewers = dict(s.execute(select(last.c.proof_id, Review.reviewer)
                                   .join(Review, Review.id == last.c.last)).all())
        out = {}
        for p, t in s.execute(select(Proof, Theorem).join(Theorem, Proof.theorem_id == Theorem.id)
                              .where(Proof.id.in_(ids))).all():
            out[p.id] = ProofFacts(
                proof_id=p.id, full_name=t.full_name, file_path=t.file_path, variant=p.chosen,
                tactics=p.chosen_tactics, measures=p.chosen_measures,
                # Older proofs have no found_commit: the theorem's own commit is the one it was read at.
                commit=p.found_commit or t.commit, model=p.model, budget=budgets.get(p.id), env=p.env,
                check_status=p.check_status, checked_by=p.checked_by,
                axioms=list(p.axioms) if p.axioms is not None else None, reviewer=reviewers.get(p.id))
    return out
