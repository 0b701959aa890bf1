"""The queries behind real-Lean proving: where a theorem's file is, and how each proof was checked.

- `theorem_sources`: the project folder, the file and the position of each theorem, which the
  LeanInteract backend needs to open it and the whole-file re-check needs to place a proof.
- `repo_lean_versions`: the Lean version per repository, from which the backend is chosen.
- `upstream_targets`, `set_upstream`: which proofs to ask the upstream branch head about, and what it says
  about a proof's theorem (review flags).
- `check_statuses`: what the re-check said of given proofs.

Check statuses of a proof (`Proof.check_status`; the names and rules are in `leanagent.lean.check`):
- `verified`: the proof was put into its file (found by the theorem's name), the whole file elaborated
  to its end without an error, and `#print axioms` answered nothing beyond propext, Classical.choice
  and Quot.sound. `Proof.checked_by` says how (`repl`: a LeanInteract REPL command, `lake`:
  `lake env lean`). Only this makes the theorem `proved_by_agent`.
- `rejected`: Lean refused the file with the proof, or the theorem depends on `sorryAx`;
  `Proof.check_message` holds Lean's message. The theorem stays `sorry`.
- `flagged`: the file elaborates, but the theorem depends on native evaluation or another axiom
  (`Proof.axioms`). The theorem stays `sorry`; review flags it.
- `unchecked`: no verdict (replay; no checkout or toolchain; a crash, timeout or an error before the
  theorem); the message says why. The theorem stays `sorry`; review flags it unless it is replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple

from sqlalchemy import select

from leanagent.db.engine import Database
from leanagent.db.models import Proof, Repository, SourceFile, Theorem

_CHUNK = 500


@dataclass(frozen=True)
class TheoremSource:
    """Where one theorem lives, as plain data."""

    theorem_id: int
    repo: str
    repo_kind: str
    repo_path: str | None      # the local project folder (a `path` entry, or the clone of a git entry)
    lean_version: str | None
    file_path: str
    start: tuple[int, int]
    end: tuple[int, int]
    proof_text: str | None
    stored_text: str | None    # SourceFile.content, when stored

    def text(self) -> str | None:
        """The file as it is now: the checkout when it has the file, else the stored text (as the
        patch export reads it, so that what is checked is what will be patched)."""
        from leanagent.lean.proof_text import current_text

        return current_text(self.repo_path, self.stored_text, self.file_path)


def theorem_sources(db: Database, theorem_ids: Iterable[int]) -> dict[int, TheoremSource]:
    ids = list(theorem_ids)
    out: dict[int, TheoremSource] = {}
    with db.session() as s:
        for i in range(0, len(ids), _CHUNK):
            rows = s.execute(
                select(Theorem.id, Repository.name, Repository.kind, Repository.path, Repository.lean_version,
                       Theorem.file_path, Theorem.start_line, Theorem.start_col, Theorem.end_line, Theorem.end_col,
                       Theorem.proof_text, SourceFile.content)
                .join(Repository, Repository.id == Theorem.repo_id)
                .outerjoin(SourceFile, (SourceFile.repo_id == Theorem.repo_id) & (SourceFile.path == Theorem.file_path))
                .where(Theorem.id.in_(ids[i:i + _CHUNK])))
            for r in rows:
                out[r[0]] = TheoremSource(r[0], r[1], r[2], r[3], r[4], r[5], (r[6], r[7]), (r[8], r[9]), r[10], r[11])
    return out


def repo_lean_versions(db: Database, names: Iterable[str] | None = None) -> dict[str, str | None]:
    """{repository name: Lean version (e.g. v4.15.0) or None}."""
    q = select(Repository.name, Repository.lean_version).order_by(Repository.name)
    if names is not None:
        q = q.where(Repository.name.in_(list(names)))
    with db.session() as s:
        return {name: version for name, version in s.execute(q)}


def set_upstream(db: Database, proof_id: int, info: dict) -> None:
    """Store what the upstream branch head says about this proof (see `leanagent.sources.upstream`)."""
    with db.session() as s:
        proof = s.get(Proof, proof_id)
        if proof is not None:
            proof.upstream = info


class UpstreamTarget(NamedTuple):
    """A proof to ask upstream about (`leanagent.sources.upstream.refresh_upstream`)."""

    proof_id: int
    repo: str
    repo_path: str | None  # the local clone
    file_path: str
    full_name: str
    commit: str | None     # the commit the proof was found on (else the theorem's, else the repository's)


def upstream_targets(db: Database, repos: Iterable[str] | None = None,
                     proof_ids: Iterable[int] | None = None) -> list[UpstreamTarget]:
    """Every proof (of `repos`, and/or the given proofs), by repository then proof id."""
    q = (select(Proof.id, Repository.name, Repository.path, Theorem.file_path, Theorem.full_name,
                Proof.found_commit, Theorem.commit, Repository.commit)
         .join(Theorem, Proof.theorem_id == Theorem.id).join(Repository, Repository.id == Theorem.repo_id)
         .order_by(Repository.name, Proof.id))
    if repos is not None:
        q = q.where(Repository.name.in_(list(repos)))
    if proof_ids is not None:
        q = q.where(Proof.id.in_(list(proof_ids)))
    with db.session() as s:
        rows = s.execute(q).all()
    return [UpstreamTarget(pid, repo, path, file_path, full_name, found or thm_commit or repo_commit)
            for pid, repo, path, file_path, full_name, found, thm_commit, repo_commit in rows]


def check_statuses(db: Database, proof_ids: Iterable[int]) -> list[str | None]:
    """`Proof.check_status` of each given proof (None: found before re-checks existed), in no order."""
    with db.session() as s:
        return list(s.scalars(select(Proof.check_status).where(Proof.id.in_(list(proof_ids)))))
