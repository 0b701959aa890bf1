"""The queries that training, evaluation and the proposers need: premise corpus, examples, imports.

Everything comes back as the plain dataclasses of `leanagent.data`, so models
never see SQL. A theorem's train/val/test split is the one stored with it
(`Theorem.split`, decided once by the repository's split policy when it was
stored; see `leanagent.db.splits`). Evaluation-only repositories (policy
`test`) have every theorem in `test`, so nothing here ever trains on them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import func, select

from leanagent.db.engine import Database
from leanagent.data import ImportGraph, PremiseItem, RecordedStep, SourceScope
from leanagent.db.models import Premise, Repository, SourceFile, StepPremise, TacticStep, Theorem
from leanagent.db.splits import SPLITS, stored_split
from leanagent.errors import DatasetError
from leanagent.text import module_of_path, usable_tactic

#: What `--split` accepts: one split or all of them.
SPLIT_CHOICES = (*SPLITS, "all")


def premise_text(full_name: str, path: str, code: str | None) -> str:
    """The text a premise is encoded from: its code when known, else full name + module path."""
    if code:
        return code
    return f"{full_name} {module_of_path(path)}"


def premise_corpus(db: Database) -> list[PremiseItem]:
    """Every premise in the database, ordered by id (the order of the index rows)."""
    with db.session() as s:
        rows = s.execute(select(Premise.id, Premise.full_name, Premise.path, Premise.code,
                                Premise.start_line, Premise.start_col).order_by(Premise.id)).all()
    return [PremiseItem(pid, name, path, premise_text(name, path, code),
                        (line, col) if line is not None else None)
            for pid, name, path, code, line, col in rows]


def repo_names(db: Database) -> list[str]:
    """Repositories in curriculum order (position, then name; unknown positions last)."""
    with db.session() as s:
        rows = s.execute(select(Repository.name, Repository.curriculum_position)).all()
    rows.sort(key=lambda r: (r[1] is None, r[1] or 0, r[0]))
    return [r[0] for r in rows]


def repo_names_newest_first(db: Database) -> list[str]:
    """Repositories, the most recently added first (nightly proves their sorry theorems in this order)."""
    with db.session() as s:
        return list(s.scalars(select(Repository.name).order_by(Repository.added_at.desc(), Repository.id.desc())))


@dataclass(frozen=True)
class CorpusVersion:
    """What the premise corpus and import graph are made of, without reading a premise (the example cache
    keys on it: `leanagent.training.example_cache.corpus_key`)."""

    repos: list[tuple[str, str, str | None, str | None]]  # (name, import digest, commit, split policy), by name
    premises: tuple[int, int | None]  # (number of premises, highest id)
    files: tuple[int, int | None]     # (number of source files, highest id)


def corpus_version(db: Database) -> CorpusVersion | None:
    """The repositories' import digests and the premise and file tables' sizes; None when some repository
    has no import digest (then nothing about the corpus can be told from them)."""
    with db.session() as s:
        repos = s.execute(select(Repository.name, Repository.digest, Repository.commit, Repository.split_policy)
                          .order_by(Repository.name)).all()
        if any(r[1] is None for r in repos):
            return None
        prem = s.execute(select(func.count(Premise.id), func.max(Premise.id))).one()
        files = s.execute(select(func.count(SourceFile.id), func.max(SourceFile.id))).one()
    return CorpusVersion([tuple(r) for r in repos], tuple(prem), tuple(files))


def repo_version(db: Database, repo: str) -> tuple[str | None, str | None, str | None] | None:
    """(import digest, commit, split policy) of one repository; None when there is no such repository."""
    with db.session() as s:
        row = s.execute(select(Repository.digest, Repository.commit, Repository.split_policy)
                        .where(Repository.name == repo)).one_or_none()
    return None if row is None else tuple(row)


def resolve_repos(db: Database, names: list[str] | None) -> list[str]:
    """The named repositories (checked), or all of them in curriculum order."""
    known = repo_names(db)
    if not known:
        raise DatasetError("the database holds no repositories",
                           fix="load traced data first with `leanagent import PATH`")
    if not names:
        return known
    missing = [n for n in names if n not in known]
    if missing:
        raise DatasetError(f"unknown repository {', '.join(missing)}",
                           fix=f"use one of: {', '.join(known)} (see `leanagent db stats`)")
    return list(names)


def identity():
    """The column that names a theorem for leave-one-out: its identity, shared by its copies in other
    repositories (`Theorem.identity_id`; the row id for rows stored before identities existed)."""
    return func.coalesce(Theorem.identity_id, Theorem.id)


def step_examples(db: Database, repo: str, split: str = "all", *,
                  with_premises_only: bool = True) -> list[RecordedStep]:
    """The tactic steps of one repository in one split (or all), ordered by theorem then step."""
    if split not in SPLIT_CHOICES:
        raise DatasetError(f"unknown split {split!r}", fix=f"use one of {', '.join(SPLIT_CHOICES)}")
    with db.session() as s:
        rid = s.scalar(select(Repository.id).where(Repository.name == repo))
        if rid is None:
            raise DatasetError(f"unknown repository {repo!r}", fix="see `leanagent db stats` for the names")
        rows = s.execute(
            select(TacticStep.id, identity(), Theorem.file_path, Theorem.full_name, Theorem.start_line,
                   Theorem.start_col, TacticStep.state_before, TacticStep.tactic, Theorem.split)
            .join(Theorem, TacticStep.theorem_id == Theorem.id)
            .where(Theorem.repo_id == rid).order_by(Theorem.id, TacticStep.idx)).all()
        links: dict[int, list[int]] = defaultdict(list)
        for sid, pid in s.execute(
                select(StepPremise.step_id, StepPremise.premise_id)
                .join(TacticStep, StepPremise.step_id == TacticStep.id)
                .join(Theorem, TacticStep.theorem_id == Theorem.id)
                .where(Theorem.repo_id == rid).order_by(StepPremise.step_id, StepPremise.position)):
            if pid not in links[sid]:
                links[sid].append(pid)
    out = []
    for sid, tid, fp, name, line, col, state, tactic, stored in rows:
        sp = stored_split(stored, (repo, fp, name, line, col))
        if split != "all" and sp != split:
            continue
        pids = links.get(sid, [])
        if with_premises_only and not pids:
            continue
        out.append(RecordedStep(sid, tid, state, tactic, premise_ids=list(pids), repo=repo, file_path=fp,
                                theorem_name=name, theorem_start=(line, col), split=sp))
    return out


def import_graph(db: Database, repo: str | None = None) -> ImportGraph:
    """Imports per module from the stored source files (of one repository, or all)."""
    with db.session() as s:
        stmt = select(SourceFile.path, SourceFile.module, SourceFile.imports)
        if repo is not None:
            stmt = stmt.join(Repository, SourceFile.repo_id == Repository.id).where(Repository.name == repo)
        rows = s.execute(stmt).all()
    graph = ImportGraph()
    for path, module, imports in rows:
        # Imports may be stored as file paths or as module names; module_of_path maps both to modules.
        graph.imports[module or module_of_path(path)] = (
            [module_of_path(i) for i in imports] if imports is not None else None)
    return graph


def evaluation_only(db: Database) -> set[str]:
    """Names of the repositories imported as evaluation-only (split policy `test`)."""
    with db.session() as s:
        return set(s.scalars(select(Repository.name).where(Repository.split_policy == "test")))


def proposer_steps(db: Database, scope: SourceScope) -> list[RecordedStep]:
    """The recorded steps that may feed kNN, templates and frequency under `scope`.

    Only the scope's repositories and splits, never an evaluation-only
    repository, never a `sorry` step. Each step keeps its theorem's identity, so the
    proposers can leave the target theorem's own steps out, and those of its copies in other
    repositories (`leanagent.data.visible`).
    """
    for sp in scope.splits:
        if sp not in SPLITS:
            raise DatasetError(f"unknown split {sp!r}", fix=f"use one of {', '.join(SPLITS)}")
    excluded = evaluation_only(db)
    names = [r for r in (scope.repos if scope.repos is not None else repo_names(db)) if r not in excluded]
    out: list[RecordedStep] = []
    with db.session() as s:
        for repo in names:
            rows = s.execute(
                select(TacticStep.id, identity(), TacticStep.state_before, TacticStep.tactic,
                       TacticStep.annotated_tactic, Theorem.split, Theorem.file_path, Theorem.full_name,
                       Theorem.start_line, Theorem.start_col)
                .join(Theorem, TacticStep.theorem_id == Theorem.id).join(Repository, Repository.id == Theorem.repo_id)
                .where(Repository.name == repo).order_by(Theorem.id, TacticStep.idx)).all()
            for sid, tid, state, tactic, ann, stored, fp, name, line, col in rows:
                sp = stored_split(stored, (repo, fp, name, line, col))
                if sp in scope.splits and usable_tactic(tactic):
                    out.append(RecordedStep(sid, tid, state, tactic, ann))
    return out


def theorem_keys(db: Database, identities: Iterable[int]) -> dict[int, str]:
    """{theorem identity: a short digest of its full name and normalised statement}: what a checkpoint
    records of the theorems it trained on, comparable across databases (leanagent/training/provenance.py)."""
    import hashlib

    from leanagent.db.ingest import copy_key

    ids = sorted(set(identities))
    out: dict[int, str] = {}
    with db.session() as s:
        for i in range(0, len(ids), 500):
            for ident, name, statement in s.execute(
                    select(identity(), Theorem.full_name, Theorem.statement).where(identity().in_(ids[i:i + 500]))):
                key = "\0".join(str(x) for x in copy_key(name, statement))
                out[ident] = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return out


def split_identities(db: Database, repos: Iterable[str], split: str) -> dict[int, str]:
    """{theorem identity: full name} of the theorems of `repos` stored in `split` (what is evaluated)."""
    names = list(repos)
    with db.session() as s:
        rows = s.execute(select(identity(), Theorem.full_name).join(Repository, Repository.id == Theorem.repo_id)
                         .where(Repository.name.in_(names), Theorem.split == split)).all()
    return dict(rows)
