"""The queries the prover needs: which theorems to prove, recorded steps, and writing results.

Proofs and attempts are written as each search finishes, one short
transaction per result, by one writer (the driver of `leanagent prove`).
A theorem with an attempt under the same model and budget is skipped by a
later run unless it asks to retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from sqlalchemy import func, select, update

from leanagent.db.engine import Database
from leanagent.db.models import Proof, ProofAttempt, Repository, TacticStep, Theorem, TheoremStatus
from leanagent.db.splits import random_split
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

    @property
    def split_key(self) -> tuple:
        return (self.repo, self.file_path, self.full_name, self.start_line, self.start_col)


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


def select_theorems(db: Database, which: str = "sorry", repo: str | None = None,
                    with_steps: bool = False) -> list[TheoremRow]:
    """Theorems to prove: `sorry` ones, `all`, or the `test` split of `random_split`."""
    if which not in THEOREM_SETS:
        raise DatabaseError(f"unknown theorem set {which!r}", fix=f"use one of {', '.join(THEOREM_SETS)}")
    q = (select(Theorem.id, Repository.name, Theorem.file_path, Theorem.full_name, Theorem.start_line,
                Theorem.start_col, Theorem.url, Theorem.commit, Theorem.status, Theorem.num_steps)
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
        rows = [TheoremRow(*r[:8], status=TheoremStatus(r[8]).value, num_steps=r[9] or 0)
                for r in s.execute(q)]
    if which == "test":
        rows = [r for r in rows if random_split(r.split_key) == "test"]
    return rows


def recorded_steps(db: Database, repo: str | None = None) -> Iterator[tuple[int, int, str, str, str]]:
    """(theorem_id, idx, tactic, state_before, state_after) for every recorded step."""
    q = select(TacticStep.theorem_id, TacticStep.idx, TacticStep.tactic, TacticStep.state_before,
               TacticStep.state_after).order_by(TacticStep.theorem_id, TacticStep.idx)
    if repo is not None:
        q = (q.join(Theorem, Theorem.id == TacticStep.theorem_id)
             .join(Repository, Repository.id == Theorem.repo_id).where(Repository.name == repo))
    with db.session() as s:
        rows = s.execute(q).all()
    for r in rows:
        yield tuple(r)


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

    A proved `sorry` theorem becomes `proved_by_agent`; a `proven` one keeps its status.
    """
    with db.session() as s:
        proof_id = None
        if rec.outcome == "proved":
            if not rec.tactics or len(rec.states) != len(rec.tactics) + 1:
                raise DatabaseError(f"proof of theorem {rec.theorem_id} needs len(states) == len(tactics) + 1")
            proof = Proof(theorem_id=rec.theorem_id, run_id=rec.run_id, model=rec.model, tactics=rec.tactics,
                          states=rec.states, env=rec.env, expansions=rec.expansions,
                          time_model=rec.time_model, time_lean=rec.time_lean, time_search=rec.time_search,
                          file_digest=rec.file_digest)
            s.add(proof)
            s.flush()
            proof_id = proof.id
            s.execute(update(Theorem).where(Theorem.id == rec.theorem_id, Theorem.status == TheoremStatus.SORRY)
                      .values(status=TheoremStatus.PROVED_BY_AGENT))
        s.add(ProofAttempt(theorem_id=rec.theorem_id, run_id=rec.run_id, proof_id=proof_id, model=rec.model,
                           budget=rec.budget, env=rec.env, outcome=rec.outcome, expansions=rec.expansions,
                           time_model=rec.time_model, time_lean=rec.time_lean, time_search=rec.time_search,
                           error=rec.error))
    return proof_id


def count_proofs(db: Database, model: str | None = None) -> int:
    q = select(func.count(Proof.id))
    if model is not None:
        q = q.where(Proof.model == model)
    with db.session() as s:
        return int(s.scalar(q) or 0)



def annotated_tactics(db: Database, step_ids: Iterable[int]) -> dict[int, str]:
    """{step id: annotated tactic} for the steps that have one (premise marks as LeanDojo writes them)."""
    ids = list(step_ids)
    out: dict[int, str] = {}
    with db.session() as s:
        for i in range(0, len(ids), _CHUNK):
            out.update((sid, ann) for sid, ann in s.execute(
                select(TacticStep.id, TacticStep.annotated_tactic).where(
                    TacticStep.id.in_(ids[i:i + _CHUNK]), TacticStep.annotated_tactic.is_not(None))))
    return out


def agent_proof_examples(db: Database, repo: str, seed: int | None = None) -> list:
    """Training examples (state, tactic) along the agent's own proofs in one repository.

    LeanAgent stores found proofs without states, so they teach it nothing; we keep
    every state along the path. Proofs of `sorry` theorems are used. Proofs of
    proven theorems outside the train split (the held-out targets of replay mode)
    are not, so that later evaluations on those splits stay held out.
    """
    from leanagent.db.splits import DEFAULT_SEED
    from leanagent.db.training_data import StepExample

    seed = DEFAULT_SEED if seed is None else seed
    with db.session() as s:
        rows = s.execute(
            select(Proof.id, Proof.tactics, Proof.states, Theorem.id, Theorem.file_path, Theorem.full_name,
                   Theorem.start_line, Theorem.start_col, Theorem.status)
            .join(Theorem, Proof.theorem_id == Theorem.id).join(Repository, Repository.id == Theorem.repo_id)
            .where(Repository.name == repo).order_by(Proof.id)).all()
    out, seen = [], set()
    for pid, tactics, states, tid, fp, name, line, col, status in rows:
        was_sorry = TheoremStatus(status) in (TheoremStatus.SORRY, TheoremStatus.PROVED_BY_AGENT)
        if not was_sorry and random_split((repo, fp, name, line, col), seed) != "train":
            continue
        for i, tactic in enumerate(tactics or []):
            key = (states[i], tactic)
            if key in seen:  # several proofs of one theorem often share steps
                continue
            seen.add(key)
            # Negative ids keep agent steps apart from recorded TacticStep ids (kNN leave-one-out keys).
            out.append(StepExample(-(pid * 1000 + i + 1), tid, repo, fp, name, (line, col), "train",
                                   states[i], tactic, []))
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
