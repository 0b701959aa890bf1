"""The patch export shared by `leanagent export-proofs` and the web app's download button."""

from __future__ import annotations

from pathlib import Path

from leanagent.db.engine import Database
from leanagent.db.models import ReviewStatus
from leanagent.lean.proof_text import current_text
from leanagent.db.review import ReviewInputError, export_rows, source_texts
from leanagent.lean.proof_text import Location, PatchError, safe_relpath
from leanagent.review.patch import ExportItem, PatchResult, build_patch


def export_patch(db: Database, repo_name: str, status: ReviewStatus | str = ReviewStatus.ACCEPTED) -> PatchResult:
    """The patch that applies every `status` proof of `repo_name` to its files."""
    try:
        status = ReviewStatus(status)
    except ValueError:
        raise ReviewInputError(f"unknown review status {status!r}",
                               fix="use one of: " + ", ".join(s.value for s in ReviewStatus)) from None
    with db.session() as s:
        repo, rows = export_rows(s, repo_name, status)
        repo_path = repo.path
        items = [ExportItem(proof_id=p.id, full_name=t.full_name, file_path=t.file_path,
                            location=Location(t.full_name, t.start_line, t.file_path),
                            tactics=list(p.tactics or []), file_digest=p.file_digest,
                            statement_digest=p.statement_digest) for p, t in rows]
        for item in items:  # refuse `..` and absolute paths before reading anything
            safe_relpath(item.file_path)
        stored = {safe_relpath(path): text
                  for path, text in source_texts(s, repo.id, sorted({i.file_path for i in items})).items()}
    if not items:
        raise PatchError(f"repository {repo_name!r} has no {status.value} proofs to export",
                         fix="review proofs with `leanagent review` first")
    return build_patch(items, lambda rel: current_text(repo_path, stored.get(rel), rel))


def write_patch(result: PatchResult, out: Path) -> None:
    """Write the patch to `out` only (built in memory first: no partial file on refusal)."""
    out = Path(out)
    if out.is_dir():
        raise PatchError(f"--out {out} is a directory", fix="give a file name, e.g. --out proofs.patch")
    if not out.parent.is_dir():
        raise PatchError(f"the folder of --out {out} does not exist", fix="create it first")
    out.write_text(result.text, encoding="utf-8", newline="")
