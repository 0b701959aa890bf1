"""The patch export shared by `leanagent export-proofs` and the web app's download button."""

from __future__ import annotations

from pathlib import Path

from leanagent.db.engine import Database
from leanagent.db.models import ReviewStatus
from leanagent.lean.proof_text import current_text
from leanagent.db.review import ReviewInputError, export_rows, source_texts
from leanagent.lean.proof_text import Location, PatchError, safe_relpath
from leanagent.db.pr_facts import proof_facts
from leanagent.review.branch import FileChange, base_commit, create_branch
from leanagent.review.disclosure import Disclosure, commit_message, resolve_coauthors
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
                            tactics=p.chosen_tactics, file_digest=p.file_digest,  # the variant review picked
                            statement_digest=p.statement_digest) for p, t in rows]
        for item in items:  # refuse `..` and absolute paths before reading anything
            safe_relpath(item.file_path)
        stored = {safe_relpath(path): text
                  for path, text in source_texts(s, repo.id, sorted({i.file_path for i in items})).items()}
    if not items:
        raise PatchError(f"repository {repo_name!r} has no {status.value} proofs to export",
                         fix="review proofs with `leanagent review` first")
    result = build_patch(items, lambda rel: current_text(repo_path, stored.get(rel), rel))
    result.repo_path = repo_path
    return result


def check_out_path(out: Path, option: str = "--out") -> Path:
    """`out` if a file can be written there, else PatchError (checked before anything is made)."""
    out = Path(out)
    if out.is_dir():
        raise PatchError(f"{option} {out} is a directory", fix="give a file name, e.g. --out proofs.patch")
    if not out.parent.is_dir():
        raise PatchError(f"the folder of {option} {out} does not exist", fix="create it first")
    return out


def write_patch(result: PatchResult, out: Path, header: str = "") -> None:
    """Write the patch to `out` only (built in memory first: no partial file on refusal), after `header`
    (text before the first `diff --git`, which `git apply` skips)."""
    check_out_path(out).write_text(header + result.text, encoding="utf-8", newline="")


def export_disclosure(db: Database, repo_name: str, result: PatchResult, waived: dict[int, list],
                      force_reason: str | None = None, coauthors: list[str] = (),
                      strict: bool = False) -> Disclosure:
    """The disclosure of an export: the exported proofs' facts in file order, the commit they were checked
    against when it is one, the flags waived, and the reviewers' Co-authored-by identities (`strict`:
    refuse a reviewer without an email, as a branch's trailers need one)."""
    facts = proof_facts(db, result.proofs)
    ordered = [facts[pid] for pid in result.proofs]
    commits = {f.commit for f in ordered}
    reviewers = [f.reviewer for f in ordered if f.reviewer]
    return Disclosure(repo=repo_name, commit=commits.pop() if len(commits) == 1 else None, facts=ordered,
                      waived={pid: fl for pid, fl in waived.items() if fl and pid in facts},
                      force_reason=force_reason, coauthors=resolve_coauthors(reviewers, list(coauthors), strict))


def export_branch(result: PatchResult, d: Disclosure, name: str) -> list[str]:
    """`--branch NAME`: one commit per file on top of the proofs' common commit; returns the commits."""
    base = base_commit({f.proof_id: f.commit for f in d.facts})
    changes = [FileChange(rel, old, new, commit_message(d, rel)) for rel, (old, new) in sorted(result.texts.items())]
    return create_branch(result.repo_path, name, base, changes)
