"""What the upstream branch head says about a proved theorem: is it still `sorry` there, and how
far behind the head is the commit the proof was found on?

Maintainers declined agent proofs of theorems already proven upstream (fpvandoorn/carleson#145)
and proofs made against a commit far behind their branch (m4lvin/lean4-pdl#6). This module answers
both with GitPython on the repository's local clone (a `path` entry's folder, or the cache clone of
a git entry): fetch the remote, take its default branch head, count the commits from the proof's
commit to it, and scan the theorem's file at the head for `sorry` (the scanner, no Lean).

No guesses: when the remote cannot be fetched (no network, no remote, not a git folder) the answer
is `unknown` with the reason, and nothing is flagged from it. `refresh_upstream` stores the answer
per proof (`Proof.upstream`) for the review app and `export-proofs`, which read only the database.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from leanagent.lean.proof_text import safe_relpath

log = logging.getLogger("leanagent.sources")
_HEX = re.compile(r"[0-9a-f]{40}")

KNOWN, UNKNOWN = "known", "unknown"
#: Seconds a fetch may take before the answer is "unknown" (a hung network must not hold up review).
FETCH_TIMEOUT = 60


@dataclass
class UpstreamStatus:
    state: str                        # known | unknown
    reason: str | None = None         # why unknown
    branch: str | None = None         # e.g. origin/main
    head: str | None = None           # the branch head's commit
    found_commit: str | None = None   # the commit the proof was found on
    behind: int | None = None         # commits on the branch after found_commit (None: cannot tell)
    present: bool | None = None       # the theorem is still declared in its file at the head
    sorry_at_head: bool | None = None  # ... and its proof still has `sorry` there
    checked_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def as_dict(self) -> dict:
        return asdict(self)


def _detail(exc: Exception) -> str:
    text = getattr(exc, "stderr", None) or str(exc)
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    found = next((ln for ln in lines if "fatal:" in ln or "error:" in ln), lines[-1] if lines else type(exc).__name__)
    return found.replace("stderr: ", "").strip("' ")


class UpstreamClone:
    """One local clone: fetched once, then asked about any number of theorems."""

    def __init__(self, path: str | Path | None, *, fetch: bool = True, remote: str = "origin"):
        self.path, self.fetch, self.remote_name = path, fetch, remote
        self._ready: UpstreamStatus | None = None
        self._repo = None
        self._texts: dict[str, str | None] = {}

    def _prepare(self) -> UpstreamStatus:
        """Fetch and find the upstream head once; the answer is the template of every status."""
        if self._ready is not None:
            return self._ready
        from git import GitCommandError, InvalidGitRepositoryError, NoSuchPathError, Repo

        self._ready = UpstreamStatus(UNKNOWN)
        if not self.path:
            self._ready.reason = "no local clone of the repository"
            return self._ready
        try:
            repo = Repo(self.path)
        except (InvalidGitRepositoryError, NoSuchPathError):
            self._ready.reason = f"{self.path} is not a git repository"
            return self._ready
        remotes = {r.name: r for r in repo.remotes}
        remote = remotes.get(self.remote_name) or next(iter(remotes.values()), None)
        if remote is None:
            self._ready.reason = "the clone has no remote to compare with"
            return self._ready
        if self.fetch:
            try:
                remote.fetch(kill_after_timeout=FETCH_TIMEOUT)
            except (GitCommandError, ValueError) as exc:
                urls = ", ".join(remote.urls) if hasattr(remote, "urls") else remote.name
                self._ready.reason = f"cannot fetch {remote.name} ({urls}): {_detail(exc)}"
                return self._ready
        branch = self._upstream_branch(repo, remote.name)
        if branch is None:
            self._ready.reason = f"no default branch known for {remote.name}"
            return self._ready
        self._repo = repo
        self._ready = UpstreamStatus(KNOWN, branch=branch, head=repo.commit(branch).hexsha)
        return self._ready

    @staticmethod
    def _upstream_branch(repo, remote: str) -> str | None:
        from git import GitCommandError

        try:  # a branch checked out with a tracking branch (a `path` entry's work tree)
            tracking = repo.active_branch.tracking_branch()
            if tracking is not None:
                return tracking.name
        except (TypeError, ValueError):  # detached HEAD (a git entry's checkout)
            pass
        for ref in (f"{remote}/HEAD", f"{remote}/main", f"{remote}/master"):
            try:
                repo.commit(ref)
                return ref
            except (GitCommandError, ValueError, Exception):  # BadName is not exported consistently
                continue
        return None

    def _text_at_head(self, head: str, file_path: str) -> str | None:
        if file_path not in self._texts:
            try:
                self._texts[file_path] = self._repo.git.show("--end-of-options", f"{head}:{safe_relpath(file_path)}")
            except Exception:  # GitCommandError: the file does not exist at the head
                self._texts[file_path] = None
        return self._texts[file_path]

    def status(self, file_path: str, full_name: str, found_commit: str | None) -> UpstreamStatus:
        from git import GitCommandError

        from leanagent.lean.declarations import declarations
        from leanagent.sources.scan import scan_text

        base = self._prepare()
        out = UpstreamStatus(**{**base.as_dict(), "found_commit": found_commit})
        if base.state != KNOWN:
            return out
        if found_commit and not _HEX.fullmatch(found_commit):  # never an option to git (`--output=...`)
            out.reason = f"the proof's commit {found_commit[:40]!r} is not a commit id"
        elif found_commit:
            try:
                out.behind = int(self._repo.git.rev_list("--count", "--end-of-options", f"{found_commit}..{base.head}"))
            except GitCommandError:
                out.reason = f"the proof's commit {found_commit[:12]} is not in the clone"
        text = self._text_at_head(base.head, file_path)
        if text is None:
            out.present, out.sorry_at_head = False, False
            return out
        out.present = any(d.full_name == full_name for d in declarations(text))
        out.sorry_at_head = any(d.full_name == full_name for d in scan_text(text, file_path))
        return out


def upstream_status(repo_path: str | Path | None, file_path: str, full_name: str, found_commit: str | None, *,
                    fetch: bool = True) -> UpstreamStatus:
    return UpstreamClone(repo_path, fetch=fetch).status(file_path, full_name, found_commit)


def refresh_upstream(db, repos: Iterable[str] | None = None, *, fetch: bool = True,
                     proof_ids: Iterable[int] | None = None) -> dict[str, int]:
    """Ask upstream about every proof (of `repos`, or the given proofs) and store the answers.
    One fetch per repository. Returns {"known": n, "unknown": m}."""
    from leanagent.db.proof_checks import set_upstream, upstream_targets

    rows = upstream_targets(db, repos, proof_ids)
    clones: dict[str, UpstreamClone] = {}
    counts = {KNOWN: 0, UNKNOWN: 0}
    for pid, repo, path, file_path, full_name, commit in rows:
        clone = clones.setdefault(repo, UpstreamClone(path, fetch=fetch))
        status = clone.status(file_path, full_name, commit)
        set_upstream(db, pid, status.as_dict())
        counts[status.state] += 1
    return counts
