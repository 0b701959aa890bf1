"""The queries the prover needs: which theorems to prove, recorded steps, and writing results.

Proofs and attempts are written as each search finishes, one short
transaction per result, by the driver of `leanagent prove`; several drivers
(or machines) may write to one database at once (`record_attempt`).
A theorem with an attempt under the same model and budget is skipped by a
later run unless it asks to retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from sqlalchemy import or_, select, update

from leanagent.db.engine import Database
from leanagent.db.models import (
    Premise,
    Proof,
    ProofAttempt,
    Repository,
    StepPremise,
    TacticStep,
    Theorem,
    TheoremStatus,
)
from leanagent.lean.check import VERIFIED
from leanagent.db.splits import stored_split
from leanagent.errors import DatabaseError

THEOREM_SETS = ("sorry", "all", "test")
_CHUNK = 500  # ids per IN (...) list


@dataclass
class TheoremRow:
    """A theorem to prove, as plain data (no session attached)."""

    id: int
    repo: str
    file_path: str
    full_name: str
    start_line: int
    start_col: int
    url: str | None
    commit: str | None
    status: str
    num_steps: int
    split: str = "train"  # as stored (db/splits.py)
    identity: int | None = None  # shared with its copies in other repositories (Theorem.identity_id)


@dataclass
class AttemptRecord:
    """One finished search, as the database stores it."""

    theorem_id: int
    model: str
    budget: str
    env: str
    outcome: str
    expansions: int = 0
    time_model: float = 0.0
    time_lean: float = 0.0
    time_search: float = 0.0
    tactics: list[str] | None = None   # the proof, when outcome == "proved"
    states: list[str] = field(default_factory=list)
    error: str | None = None
    run_id: int | None = None
    file_digest: str | None = None  # of the theorem's file when the search ran; the patch export checks it
    check_status: str | None = None  # verified | rejected | flagged | unchecked: the re-check (db/proof_checks.py)
    checked_by: str | None = None    # repl | lake
    check_message: str | None = None  # Lean's messages when rejected; the reason otherwise
    axioms: list[str] | None = None  # `#print axioms` of the theorem with the proof in place
    statement_digest: str | None = None  # of the statement the proof was checked under
    source_splits: list[str] | None = None  # the splits whose recorded steps the proposers could read
    commit: str | None = None        # the repository commit the search ran on
    measures: dict | None = None     # the re-check's measurements per variant (Proof.measures)
    polished: list[str] | None = None  # the polished variant (Proof.polished_tactics)
    polish: dict | None = None       # what polishing did (Proof.polish)


def select_theorems(db: Database, which: str = "sorry", repo: str | None = None,
                    with_steps: bool = False) -> list[TheoremRow]:
    """Theorems to prove: `sorry` ones, `all`, or the stored `test` split."""
    if which not in THEOREM_SETS:
        raise DatabaseError(f"unknown theorem set {which!r}", fix=f"use one of {', '.join(THEOREM_SETS)}")
    from leanagent.db.training_data import identity

    q = (select(Theorem.id, Repository.name, Theorem.file_path, Theorem.full_name, Theorem.start_line,
                Theorem.start_col, Theorem.url, Theorem.commit, Theorem.status, Theorem.num_steps, Theorem.split,
                identity())
         .join(Repository, Repository.id == Theorem.repo_id).order_by(Theorem.id))
    if repo is not None:
        q = q.where(Repository.name == repo)
    if which == "sorry":
        q = q.where(Theorem.status == TheoremStatus.SORRY)
    if with_steps:
        q = q.where(Theorem.num_steps > 0)
    with db.session() as s:
        if repo is not None and s.scalar(select(Repository.id).where(Repository.name == repo)) is None:
            raise DatabaseError(f"no repository named {repo!r} in the database",
                                fix="see `leanagent db stats` for the stored repositories")
        rows = [TheoremRow(*r[:8], status=TheoremStatus(r[8]).value, num_steps=r[9] or 0,
                           split=stored_split(r[10], (r[1], r[2], r[3], r[4], r[5])), identity=r[11])
                for r in s.execute(q)]
    if which == "test":
        rows = [r for r in rows if r.split == "test"]
    return rows


def replay_rows(db: Database, repo: str | None = None) -> Iterator[tuple[int, int, str, str, str, tuple]]:
    """(theorem_id, idx, tactic, state_before, state_after, premise ids) for every recorded step."""
    q = select(TacticStep.id, TacticStep.theorem_id, TacticStep.idx, TacticStep.tactic, TacticStep.state_before,
               TacticStep.state_after).order_by(TacticStep.theorem_id, TacticStep.idx)
    links = select(StepPremise.step_id, StepPremise.premise_id).order_by(StepPremise.step_id, StepPremise.position)
    if repo is not None:
        q = (q.join(Theorem, Theorem.id == TacticStep.theorem_id)
             .join(Repository, Repository.id == Theorem.repo_id).where(Repository.name == repo))
        links = (links.join(TacticStep, TacticStep.id == StepPremise.step_id)
                 .join(Theorem, Theorem.id == TacticStep.theorem_id)
                 .join(Repository, Repository.id == Theorem.repo_id).where(Repository.name == repo))
    with db.session() as s:
        rows = s.execute(q).all()
        premises: dict[int, list[int]] = {}
        for sid, pid in s.execute(links):
            premises.setdefault(sid, []).append(pid)
    for sid, *rest in rows:
        yield (*rest, tuple(premises.get(sid, ())))


def declarations(db: Database) -> dict[str, list[tuple[tuple[int, int], str]]]:
    """{file path: [((line, col), full name)]} of every theorem and every positioned premise."""
    out: dict[str, list[tuple[tuple[int, int], str]]] = {}
    with db.session() as s:
        for fp, name, line, col in s.execute(select(Theorem.file_path, Theorem.full_name, Theorem.start_line,
                                                     Theorem.start_col)):
            out.setdefault(fp, []).append(((line, col), name))
        for fp, name, line, col in s.execute(select(Premise.path, Premise.full_name, Premise.start_line,
                                                     Premise.start_col).where(Premise.start_line.is_not(None))):
            out.setdefault(fp, []).append(((line, col), name))
    return out


def already_attempted(db: Database, theorem_ids: Iterable[int], model: str, budget: str) -> set[int]:
    """The theorems that have an attempt (proved, failed or timed out) under this model and budget.

    Every proof is written with its attempt, so this also covers proofs. An
    `error` attempt (the environment could not run) does not count: the next
    run tries again. Uses the (theorem_id, model, budget) index.
    """
    ids = list(theorem_ids)
    done: set[int] = set()
    with db.session() as s:
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            done.update(s.scalars(select(ProofAttempt.theorem_id).where(
                ProofAttempt.theorem_id.in_(chunk), ProofAttempt.model == model,
                ProofAttempt.budget == budget, ProofAttempt.outcome != "error").distinct()))
    return done


def record_attempt(db: Database, rec: AttemptRecord) -> int | None:
    """Write one attempt (and its proof, when proved) in one transaction. Returns the proof id.

    A proved `sorry` theorem becomes `proved_by_agent`; a `proven` one keeps its status. Safe with several
    writers at once (Ray workers, `prove` on several machines): the writers of one theorem take turns, so
    the same proof found by two of them at once is still stored once.
    """
    with db.write_session() as s:
        # Lock the theorem's row (PostgreSQL; SQLite's write lock is whole-database) before looking for the
        # same proof: a concurrent writer of this theorem waits here until this transaction commits, then
        # sees its proof.
        s.execute(select(Theorem.id).where(Theorem.id == rec.theorem_id).with_for_update())
        proof_id = None
        # A `rejected` proof (accepted tactic by tactic, refused by the whole-file re-check) is kept for
        # review with Lean's message, but its theorem stays `sorry`.
        if rec.outcome in ("proved", "rejected"):
            if not rec.tactics or len(rec.states) != len(rec.tactics) + 1:
                raise DatabaseError(f"proof of theorem {rec.theorem_id} needs len(states) == len(tactics) + 1")
            proof = _same_proof(s, rec.theorem_id, rec.tactics)
            if proof is None:
                proof = Proof(theorem_id=rec.theorem_id, run_id=rec.run_id, model=rec.model, tactics=rec.tactics,
                              states=rec.states, env=rec.env, expansions=rec.expansions,
                              time_model=rec.time_model, time_lean=rec.time_lean, time_search=rec.time_search,
                              file_digest=rec.file_digest, check_status=rec.check_status,
                              checked_by=rec.checked_by, check_message=rec.check_message,
                              axioms=rec.axioms, statement_digest=rec.statement_digest, found_commit=rec.commit,
                              source_splits=rec.source_splits, measures=rec.measures,
                              polished_tactics=rec.polished, polish=rec.polish)
                s.add(proof)
                s.flush()
            else:
                _found_again(proof, rec)
            proof_id = proof.id
        # Only a whole-file check that verified the proof proves the theorem: "proved" tactic by tactic,
        # unchecked (no verdict) or flagged (extra axioms) leaves it `sorry`. Replay never changes a status
        # (its theorems are proven ones, held out).
        if rec.outcome == "proved" and rec.check_status == VERIFIED:
            s.execute(update(Theorem).where(Theorem.id == rec.theorem_id, Theorem.status == TheoremStatus.SORRY)
                      .values(status=TheoremStatus.PROVED_BY_AGENT))
        s.add(ProofAttempt(theorem_id=rec.theorem_id, run_id=rec.run_id, proof_id=proof_id, model=rec.model,
                           budget=rec.budget, env=rec.env, outcome=rec.outcome, expansions=rec.expansions,
                           time_model=rec.time_model, time_lean=rec.time_lean, time_search=rec.time_search,
                           error=rec.error))
    return proof_id


def _same_proof(s, theorem_id: int, tactics: list[str]) -> Proof | None:
    """The stored proof of this theorem with exactly these tactics, if any.

    Proving again (another model, budget or run) often finds the same proof; it is stored once, so
    that reviewers see it once and `db stats` counts distinct proofs. Its attempts all point to it.
    Exactly: in Lean indentation decides whether a line is a new tactic, so `exact h\\na` and
    `exact h\\n  a` are different proofs with their own checks (display may group them, storage never).
    """
    for proof in s.scalars(select(Proof).where(Proof.theorem_id == theorem_id).order_by(Proof.id)):
        if list(proof.tactics or []) == list(tactics):
            return proof
    return None


def _found_again(proof: Proof, rec: AttemptRecord) -> None:
    """Refresh a stored proof from a new finding of it: the newest file it was found on (what the patch
    export checks against), and the stronger evidence (Lean over replay, a whole-file check over none).
    Its review decisions stay."""
    if rec.file_digest is not None:
        proof.file_digest, proof.found_commit = rec.file_digest, rec.commit or proof.found_commit
    # Found again from the train split alone: the same text is now clean training data.
    if rec.source_splits is not None and (proof.source_splits is None
                                          or set(rec.source_splits) < set(proof.source_splits)):
        proof.source_splits = rec.source_splits
    if proof.env == "replay" and rec.env != "replay":
        proof.env = rec.env
    # A whole-file check (verified or rejected) describes the newest file; "unchecked" adds nothing.
    if rec.check_status not in (None, "unchecked") or (rec.check_status and proof.check_status is None):
        proof.check_status, proof.checked_by, proof.check_message = rec.check_status, rec.checked_by, rec.check_message
        proof.axioms, proof.statement_digest = rec.axioms, rec.statement_digest
        if rec.measures is not None:  # the newest check's measurements and polish go with its verdict
            proof.measures, proof.polished_tactics, proof.polish = rec.measures, rec.polished, rec.polish


def train_only(source_splits: list[str] | None) -> bool:
    """Were the proposers that found a proof limited to the train split? (None: unknown, so no.)"""
    return source_splits is not None and set(source_splits) <= {"train"}


def agent_proof_examples(db: Database, repo: str) -> list:
    """Training examples (state, tactic) along the agent's own proofs in one repository.

    LeanAgent stores found proofs without states, so they teach it nothing; we keep
    every state along the path. Only proofs of theorems in the train split are used
    (sorry theorems included), so that evaluations on val/test stay held out, and only
    proofs whose proposers read the train split alone: a proposer that saw a held-out
    theorem's tactic could copy it into a train theorem's proof (issue 24).
    """
    from leanagent.data import RecordedStep
    from leanagent.db.training_data import identity

    with db.session() as s:
        rows = s.execute(
            select(Proof.id, Proof.tactics, Proof.states, identity(), Theorem.file_path, Theorem.full_name,
                   Theorem.start_line, Theorem.start_col, Theorem.split, Proof.source_splits)
            .join(Theorem, Proof.theorem_id == Theorem.id).join(Repository, Repository.id == Theorem.repo_id)
            .where(Repository.name == repo,  # a proof its file refused (re-check) teaches nothing true
                   or_(Proof.check_status.is_(None), Proof.check_status != "rejected"))
            .order_by(Proof.id)).all()
    out, seen = [], set()
    for pid, tactics, states, tid, fp, name, line, col, stored, sources in rows:
        if not train_only(sources):
            continue
        # Only theorems of a train split: a proof of a val/test (or evaluation-only) theorem would
        # leak the answer into a later evaluation of that very theorem.
        if stored_split(stored, (repo, fp, name, line, col)) != "train":
            continue
        for i, tactic in enumerate(tactics or []):
            key = (states[i], tactic)
            if key in seen:  # several proofs of one theorem often share steps
                continue
            seen.add(key)
            # Negative ids keep agent steps apart from recorded TacticStep ids (kNN leave-one-out keys).
            out.append(RecordedStep(-(pid * 1000 + i + 1), tid, states[i], tactic, repo=repo, file_path=fp,
                                    theorem_name=name, theorem_start=(line, col), split="train"))
    return out


def file_sources(db: Database, theorem_ids: Iterable[int]) -> dict[int, tuple[str | None, str, str | None]]:
    """{theorem id: (repository checkout path, file path, stored file text)} for digesting the files."""
    from leanagent.db.models import SourceFile

    ids = list(theorem_ids)
    out: dict[int, tuple[str | None, str, str | None]] = {}
    with db.session() as s:
        for i in range(0, len(ids), _CHUNK):
            rows = s.execute(
                select(Theorem.id, Repository.path, Theorem.file_path, SourceFile.content)
                .join(Repository, Repository.id == Theorem.repo_id)
                .outerjoin(SourceFile, (SourceFile.repo_id == Theorem.repo_id)
                           & (SourceFile.path == Theorem.file_path))
                .where(Theorem.id.in_(ids[i:i + _CHUNK])))
            out.update({tid: (path, fp, content) for tid, path, fp, content in rows})
    return out
