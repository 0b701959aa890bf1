"""The queries that training and evaluation need: premise corpus, examples, accessibility, evaluations.

Everything comes back as plain dataclasses, so models never see SQL. Every
train/val/test decision goes through `leanagent.db.splits.random_split` with
the key (repo name, file path, full name, start line, start column).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from leanagent.db.engine import Database
from leanagent.db.models import (
    Checkpoint,
    Evaluation,
    Premise,
    Repository,
    Run,
    SourceFile,
    StepPremise,
    TacticStep,
    Theorem,
    StepStatus,
    utcnow,
)
from leanagent.db.records import module_of_path
from leanagent.db.splits import DEFAULT_SEED, SPLITS, random_split
from leanagent.errors import DatasetError

#: What `--split` accepts: one split or all of them.
SPLIT_CHOICES = (*SPLITS, "all")


@dataclass(frozen=True)
class PremiseItem:
    """One premise of the corpus, with the text that the encoders read."""

    id: int
    full_name: str
    path: str
    text: str
    start: tuple[int, int] | None = None  # (line, col) of the definition, when known


@dataclass
class StepExample:
    """One traced tactic step, with its annotated premises (ids, in order, without repeats)."""

    step_id: int
    theorem_id: int
    repo: str
    file_path: str
    theorem_name: str
    theorem_start: tuple[int, int]
    split: str
    state: str
    tactic: str
    premise_ids: list[int] = field(default_factory=list)


@dataclass
class ImportGraph:
    """What the database knows about imports: module -> imported modules (None when unknown)."""

    imports: dict[str, list[str] | None] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        return any(v is not None for v in self.imports.values())


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


def step_examples(db: Database, repo: str, split: str = "all", *, with_premises_only: bool = True,
                  seed: int = DEFAULT_SEED) -> list[StepExample]:
    """The tactic steps of one repository in one split (or all), ordered by theorem then step."""
    if split not in SPLIT_CHOICES:
        raise DatasetError(f"unknown split {split!r}", fix=f"use one of {', '.join(SPLIT_CHOICES)}")
    with db.session() as s:
        rid = s.scalar(select(Repository.id).where(Repository.name == repo))
        if rid is None:
            raise DatasetError(f"unknown repository {repo!r}", fix="see `leanagent db stats` for the names")
        rows = s.execute(
            select(TacticStep.id, Theorem.id, Theorem.file_path, Theorem.full_name, Theorem.start_line,
                   Theorem.start_col, TacticStep.state_before, TacticStep.tactic)
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
    for sid, tid, fp, name, line, col, state, tactic in rows:
        sp = random_split((repo, fp, name, line, col), seed)
        if split != "all" and sp != split:
            continue
        pids = links.get(sid, [])
        if with_premises_only and not pids:
            continue
        out.append(StepExample(sid, tid, repo, fp, name, (line, col), sp, state, tactic, list(pids)))
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


def start_run(db: Database, kind: str, name: str | None, config: dict | None = None) -> int:
    """Create a Run row and return its id (evaluations and checkpoints hang off it)."""
    with db.session() as s:
        run = Run(kind=kind, name=name, config=config)
        s.add(run)
        s.flush()
        return run.id


def finish_run(db: Database, run_id: int, ok: bool = True) -> None:
    with db.session() as s:
        run = s.get(Run, run_id)
        if run is not None:
            run.status = StepStatus.DONE if ok else StepStatus.FAILED
            run.finished_at = utcnow()


def record_checkpoint(db: Database, run_id: int | None, repo: str | None, kind: str, path: str,
                      config: dict | None = None, metrics: dict | None = None) -> int:
    with db.session() as s:
        repo_id = s.scalar(select(Repository.id).where(Repository.name == repo)) if repo else None
        row = Checkpoint(run_id=run_id, repo_id=repo_id, kind=kind, path=path, config=config, metrics=metrics)
        s.add(row)
        s.flush()
        return row.id


def latest_checkpoint(db: Database, kind: str) -> str | None:
    """Path of the newest recorded checkpoint of a kind (retriever | generator | index)."""
    with db.session() as s:
        return s.scalar(select(Checkpoint.path).where(Checkpoint.kind == kind)
                        .order_by(Checkpoint.created_at.desc(), Checkpoint.id.desc()).limit(1))


def store_evaluation(db: Database, run_id: int, metric: str, trained_index: int, trained_repo: str | None,
                     eval_repo: str, value: float) -> None:
    """Write one cell of the lifelong matrix (replacing an earlier value of the same cell)."""
    with db.session() as s:
        ids = dict(s.execute(select(Repository.name, Repository.id)).all())
        if eval_repo not in ids:
            raise DatasetError(f"unknown repository {eval_repo!r}")
        s.execute(delete(Evaluation).where(Evaluation.run_id == run_id, Evaluation.metric == metric,
                                           Evaluation.trained_index == trained_index,
                                           Evaluation.eval_repo_id == ids[eval_repo]))
        s.add(Evaluation(run_id=run_id, metric=metric, trained_index=trained_index,
                         trained_repo_id=ids.get(trained_repo) if trained_repo else None,
                         eval_repo_id=ids[eval_repo], value=float(value)))


def evaluation_matrix(db: Database, run_id: int, metric: str) -> dict[tuple[int, str], float]:
    """{(trained index i, evaluated repository j): value} for one run and metric."""
    with db.session() as s:
        rows = s.execute(select(Evaluation.trained_index, Repository.name, Evaluation.value)
                         .join(Repository, Evaluation.eval_repo_id == Repository.id)
                         .where(Evaluation.run_id == run_id, Evaluation.metric == metric)).all()
    return {(i, name): v for i, name, v in rows}
