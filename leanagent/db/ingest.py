"""The one code path that writes traced data: `store_repo`.

`leanagent import`, `leanagent trace` and the sorry scanner all end here, so
identity, replacement and atomicity are decided once:

- A theorem is (repository, file, full name): a declaration that moved (a line
  added above it) is the same theorem, updated in place, so its agent proofs
  and their reviews stay. Only where one file declares a name twice (anonymous
  `example`s) does the start position tell them apart. A theorem whose
  statement changed keeps its id and its proofs too; the review flags them
  (`statement-changed`), because each proof records the statement it was
  checked under.
- The same theorem in another repository (same full name and normalised
  statement: a LeanDojo trace carries its dependencies' theorems) is a copy.
  All copies share one `identity_id` (leave-one-out hides them all) and one
  split, the most held-out of theirs (test over val over train), so that a
  theorem evaluated in one repository never trains through another.
- The same repository with the same commit and input digest is a no-op.
- Anything else replaces the repository's theorems: theorems that still exist
  keep their id (and so their agent proofs); vanished ones are deleted.
- Everything happens in one transaction: an interrupted import leaves the
  database as it was, and running it again completes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from leanagent.curriculum import theorem_difficulty
from leanagent.db.engine import Database
from leanagent.db.models import (
    Premise,
    Repository,
    SourceFile,
    StepPremise,
    TacticStep,
    Theorem,
    TheoremStatus,
    utcnow,
)
from leanagent.db.records import PremiseRecord, RepoRecord
from leanagent.db.splits import decide_split
from leanagent.errors import DatasetError

_CHUNK = 500  # rows per IN (...) list; SQLite allows 999 parameters in older builds


@dataclass
class IngestResult:
    repo: str
    action: str  # created | updated | unchanged
    theorems: int = 0
    added: int = 0
    removed: int = 0
    kept: int = 0
    steps: int = 0
    premises_new: int = 0
    copies: int = 0  # theorems that also exist in another repository

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _chunks(items: list, n: int = _CHUNK) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def find_repo(session: Session, name: str) -> Repository | None:
    return session.scalar(select(Repository).where(Repository.name == name))


def stored_digest(db: Database, name: str) -> str | None:
    with db.session() as s:
        repo = find_repo(s, name)
        return repo.digest if repo else None


def holds(db: Database):
    """An `is_known(name, digest)` callback for readers: True when that exact input is stored."""
    return lambda name, digest: digest is not None and stored_digest(db, name) == digest


def _premise_ids(s: Session, refs: dict[tuple[str, str], PremiseRecord]) -> tuple[dict, int]:
    """Ids for every premise key, inserting the missing ones. Returns (ids, number inserted)."""
    ids: dict[tuple[str, str], int] = {}
    # Premises are shared by all repositories, and their number is small next to
    # theorems and steps, so one scan beats thousands of (name, path) look-ups.
    for pid, name, path in s.execute(select(Premise.id, Premise.full_name, Premise.path)):
        if (name, path) in refs:
            ids[(name, path)] = pid
    missing = [r for k, r in refs.items() if k not in ids]
    missing_keys = {r.key for r in missing}
    if missing:
        rows = [_premise_row(r) for r in missing]
        for chunk in _chunks(rows):
            for pid, name, path in s.execute(
                    insert(Premise).returning(Premise.id, Premise.full_name, Premise.path,
                                              sort_by_parameter_order=True), chunk):
                ids[(name, path)] = pid
    # A corpus may know code/kind for premises first seen as bare annotations.
    enrich = [r for k, r in refs.items() if (r.code or r.kind) and k not in missing_keys]
    if enrich:
        s.execute(update(Premise), [{"id": ids[r.key], **{k: v for k, v in _premise_row(r).items()
                                                          if k in ("code", "kind") and v}} for r in enrich])
    return ids, len(missing)


def _premise_row(r: PremiseRecord) -> dict:
    return {"full_name": r.full_name, "path": r.path, "kind": r.kind, "code": r.code,
            "start_line": r.start[0] if r.start else None, "start_col": r.start[1] if r.start else None,
            "end_line": r.end[0] if r.end else None, "end_col": r.end[1] if r.end else None}


def store_repo(db: Database, record: RepoRecord) -> IngestResult:
    """Write one repository's traced data in a single transaction."""
    with db.session() as s:
        repo = find_repo(s, record.name)
        if repo is not None and repo.commit == record.commit and repo.digest == record.digest \
                and record.digest is not None and (repo.split_policy or "hash") == record.split_policy:
            return IngestResult(record.name, "unchanged", theorems=_count_theorems(s, repo.id))
        if not record.parsed:
            raise DatasetError(f"{record.name}: the stored copy changed while the input was being read",
                               fix="run the same command again")
        action = "created" if repo is None else "updated"
        if repo is None:
            repo = Repository(name=record.name)
            s.add(repo)
        repo.kind, repo.url, repo.path = record.kind, record.url, record.path
        repo.commit, repo.lean_version, repo.digest = record.commit, record.lean_version, record.digest
        repo.split_policy = record.split_policy
        repo.tracer = record.tracer
        repo.updated_at = utcnow()
        s.flush()
        result = IngestResult(record.name, action, theorems=len(record.theorems))
        _store_files(s, repo.id, record)
        refs: dict[tuple[str, str], PremiseRecord] = {p.key: p for p in record.premises}
        for thm in record.theorems:
            for step in thm.steps:
                for p in step.premises:
                    refs.setdefault(p.key, p)
        premise_ids, result.premises_new = _premise_ids(s, refs)
        thm_ids = _store_theorems(s, repo.id, record, result)
        result.copies = _link_copies(s, repo.id, record, thm_ids)
        result.steps = _store_steps(s, record, thm_ids, premise_ids)
        return result


def _count_theorems(s: Session, repo_id: int) -> int:
    from sqlalchemy import func

    return s.scalar(select(func.count()).select_from(Theorem).where(Theorem.repo_id == repo_id)) or 0


def _store_files(s: Session, repo_id: int, record: RepoRecord) -> None:
    if not record.files:
        return
    s.execute(delete(SourceFile).where(SourceFile.repo_id == repo_id))
    rows = [{"repo_id": repo_id, "path": f.path, "module": f.module, "imports": f.imports, "content": f.content,
             "error": f.error} for f in record.files]
    for chunk in _chunks(rows):
        s.execute(insert(SourceFile), chunk)


def identities(keys: Iterable[tuple]) -> dict[tuple, tuple]:
    """{(file, full name, line, col): identity}: (file, full name) where that pair is unique among
    `keys`, else the whole key (two declarations of one name in one file: only the position tells)."""
    keys = list(keys)
    count: dict[tuple, int] = {}
    for k in keys:
        count[k[:2]] = count.get(k[:2], 0) + 1
    return {k: (k[:2] if count[k[:2]] == 1 else k) for k in keys}


def _store_theorems(s: Session, repo_id: int, record: RepoRecord, result: IngestResult) -> dict[tuple, int]:
    stored: dict[tuple, tuple[int, TheoremStatus]] = {}
    for tid, fp, fn, line, col, status in s.execute(
            select(Theorem.id, Theorem.file_path, Theorem.full_name, Theorem.start_line, Theorem.start_col,
                   Theorem.status).where(Theorem.repo_id == repo_id)):
        stored[(fp, fn, line, col)] = (tid, status)
    # Matched by identity, not position: a moved theorem keeps its row, its proofs and their reviews.
    old_ids, new_ids = identities(stored), identities(t.key for t in record.theorems)
    existing = {old_ids[k]: v for k, v in stored.items()}
    new_keys = set(new_ids.values())
    gone = [tid for k, (tid, _) in existing.items() if k not in new_keys]
    for chunk in _chunks(gone):
        s.execute(delete(Theorem).where(Theorem.id.in_(chunk)))
    result.removed = len(gone)

    kept_ids = [existing[k][0] for k in new_keys if k in existing]
    # Steps of kept theorems are rewritten from the new trace (cascade removes their premise links).
    for chunk in _chunks(kept_ids):
        s.execute(delete(TacticStep).where(TacticStep.theorem_id.in_(chunk)))

    ids: dict[tuple, int] = {}
    inserts, updates = [], []
    for t in record.theorems:
        try:
            split = decide_split(record.split_policy, (record.name, *t.key), t.dataset_split)
        except ValueError:
            raise DatasetError(f"{record.name}: {t.full_name} ({t.file_path}) comes from no train/val/test file",
                               fix="use --split hash, or import a dataset with random/{train,val,test}.json") from None
        row = {"file_path": t.file_path, "full_name": t.full_name, "start_line": t.start[0],
               "start_col": t.start[1], "end_line": t.end[0], "end_col": t.end[1], "statement": t.statement,
               "proof_text": t.proof_text, "num_steps": len(t.steps), "sorry_mode": t.sorry_mode,
               "url": t.url, "commit": t.commit,
               "difficulty": theorem_difficulty(len(t.steps), t.is_sorry), "split": split}
        status = TheoremStatus.SORRY if t.is_sorry else TheoremStatus.PROVEN
        if new_ids[t.key] in existing:
            tid, old_status = existing[new_ids[t.key]]
            # An agent proof of a theorem that is still `sorry` stays valid across commits.
            if status is TheoremStatus.SORRY and old_status is TheoremStatus.PROVED_BY_AGENT:
                status = TheoremStatus.PROVED_BY_AGENT
            updates.append({"id": tid, **row, "status": status})
            ids[t.key] = tid
        else:
            inserts.append({"repo_id": repo_id, **row, "status": status})
    if updates:
        s.execute(update(Theorem), updates)
    for chunk in _chunks(inserts):
        for tid, fp, fn, line, col in s.execute(
                insert(Theorem).returning(Theorem.id, Theorem.file_path, Theorem.full_name, Theorem.start_line,
                                          Theorem.start_col, sort_by_parameter_order=True), chunk):
            ids[(fp, fn, line, col)] = tid
    result.added, result.kept = len(inserts), len(updates)
    return ids


_HELD_OUT = {"test": 2, "val": 1, "train": 0}


def copy_key(full_name: str, statement: str | None) -> tuple[str, str | None]:
    """What makes two theorems one, whatever their repository (pure)."""
    return full_name, " ".join(statement.split()) if statement else None


def _link_copies(s: Session, repo_id: int, record: RepoRecord, thm_ids: dict[tuple, int]) -> int:
    """Give every theorem of `record` the identity of its copies in other repositories, and all copies
    the most held-out split among them. Returns the number of theorems with a copy."""
    names = sorted({t.full_name for t in record.theorems})
    others: dict[tuple, list] = {}
    for chunk in _chunks(names):
        for row in s.execute(select(Theorem.id, Theorem.full_name, Theorem.statement, Theorem.split,
                                    Theorem.identity_id).where(Theorem.full_name.in_(chunk),
                                                               Theorem.repo_id != repo_id)):
            others.setdefault(copy_key(row.full_name, row.statement), []).append(row)
    mine, theirs, copies = [], [], 0
    splits = dict(s.execute(select(Theorem.id, Theorem.split).where(Theorem.repo_id == repo_id)).all())
    for t in record.theorems:
        tid = thm_ids[t.key]
        group = others.get(copy_key(t.full_name, t.statement), [])
        if not group:
            mine.append({"id": tid, "identity_id": tid})
            continue
        copies += 1
        identity = min(r.identity_id or r.id for r in group)
        split = max([splits.get(tid) or "train", *(r.split or "train" for r in group)], key=_HELD_OUT.get)
        mine.append({"id": tid, "identity_id": identity, "split": split})
        theirs += [{"id": r.id, "identity_id": identity, "split": split} for r in group
                   if (r.identity_id, r.split) != (identity, split)]
    for rows in (mine, theirs):
        for chunk in _chunks(rows):
            # Rows with and without a split change are written apart (one statement per column set).
            for part in ([r for r in chunk if "split" in r], [r for r in chunk if "split" not in r]):
                if part:
                    s.execute(update(Theorem), part)
    return copies


def _store_steps(s: Session, record: RepoRecord, thm_ids: dict[tuple, int],
                 premise_ids: dict[tuple[str, str], int]) -> int:
    step_rows, links_per_step = [], []
    for t in record.theorems:
        tid = thm_ids[t.key]
        for idx, st in enumerate(t.steps):
            step_rows.append({"theorem_id": tid, "idx": idx, "tactic": st.tactic,
                              "annotated_tactic": st.annotated_tactic, "state_before": st.state_before,
                              "state_after": st.state_after})
            links_per_step.append([premise_ids[p.key] for p in st.premises])
    link_rows = []
    for chunk_rows, chunk_links in zip(_chunks(step_rows), _chunks(links_per_step)):
        step_ids = s.scalars(insert(TacticStep).returning(TacticStep.id, sort_by_parameter_order=True),
                             chunk_rows).all()
        for sid, pids in zip(step_ids, chunk_links):
            link_rows.extend({"step_id": sid, "position": pos, "premise_id": pid} for pos, pid in enumerate(pids))
    for chunk in _chunks(link_rows, 2000):
        s.execute(insert(StepPremise), chunk)
    return len(step_rows)
