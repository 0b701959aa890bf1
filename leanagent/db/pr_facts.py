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
from leanagent.db.models import Proof, ProofAttempt, Review, ReviewStatus, Theorem, chosen_parts


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
        # Columns, not whole rows: the flags read every proof of a queue, and `states` is the bulk of a row.
        for (pid, tactics, polished, variant, measures, found_commit, model, env, check_status, checked_by, axioms,
             full_name, file_path, commit) in s.execute(
                select(Proof.id, Proof.tactics, Proof.polished_tactics, Proof.variant, Proof.measures,
                       Proof.found_commit, Proof.model, Proof.env, Proof.check_status, Proof.checked_by, Proof.axioms,
                       Theorem.full_name, Theorem.file_path, Theorem.commit)
                .join(Theorem, Proof.theorem_id == Theorem.id).where(Proof.id.in_(ids))).all():
            chosen, chosen_tactics, chosen_measures = chosen_parts(tactics, polished, variant, measures)
            out[pid] = ProofFacts(
                proof_id=pid, full_name=full_name, file_path=file_path, variant=chosen,
                tactics=chosen_tactics, measures=chosen_measures,
                # Older proofs have no found_commit: the theorem's own commit is the one it was read at.
                commit=found_commit or commit, model=model, budget=budgets.get(pid), env=env,
                check_status=check_status, checked_by=checked_by,
                axioms=list(axioms) if axioms is not None else None, reviewer=reviewers.get(pid))
    return out
