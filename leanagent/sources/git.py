"""Git checkouts of `url` + `commit` entries, kept in a cache folder (GitPython).

One folder per remote URL: the first use clones, later uses fetch only when the
pinned commit is not there yet, then check it out detached. A file lock per
folder keeps two leanagent processes from cloning into the same place.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from leanagent.errors import SourceError
from leanagent.lean.versions import lean_version_of, read_toolchain



@dataclass(frozen=True)
class Checkout:
    path: Path
    commit: str  # full hash the ref resolved to
    toolchain: str | None  # text of lean-toolchain, e.g. "leanprover/lean4:v4.9.0"

    @property
    def lean_version(self) -> str | None:
        return lean_version_of(self.toolchain)


def clone_dir(cache: Path, url: str) -> Path:
    """`<cache>/<name>-<hash of url>`: readable, and distinct for forks with the same name."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    name = re.sub(r"[^\w.-]", "_", tail[:-4] if tail.endswith(".git") else tail) or "repo"
    return Path(cache) / f"{name}-{hashlib.sha1(url.encode()).hexdigest()[:10]}"


def _git_error(action: str, url: str, exc: Exception) -> SourceError:
    text = getattr(exc, "stderr", None) or str(exc)
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    detail = next((ln for ln in lines if "fatal:" in ln or "error:" in ln), lines[-1] if lines else type(exc).__name__)
    detail = detail.replace("stderr: ", "").strip("' ")
    return SourceError(f"cannot {action} {url}: {detail}",
                       fix="check the url and commit in repos.yaml, and that the remote is reachable")


def _resolve(repo, ref: str) -> str | None:
    from git import BadName, GitCommandError

    try:
        return repo.commit(ref).hexsha
    except (BadName, ValueError, GitCommandError):
        return None


def checkout(url: str, commit: str, cache: Path) -> Checkout:
    """The repository at `url` checked out at `commit` (a hash or tag) in a cache folder."""
    from git import GitCommandError, InvalidGitRepositoryError, NoSuchPathError, Repo

    dest = clone_dir(cache, url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        try:
            if (dest / ".git").exists():
                repo = Repo(dest)
            else:
                repo = Repo.clone_from(url, dest, no_checkout=True)
        except (GitCommandError, NoSuchPathError, InvalidGitRepositoryError) as exc:
            raise _git_error("clone", url, exc) from None
        sha = _resolve(repo, commit)
        if sha is None:
            try:
                repo.remotes.origin.fetch(tags=True)
            except (GitCommandError, AttributeError, IndexError) as exc:
                raise _git_error("fetch", url, exc) from None
            sha = _resolve(repo, commit) or _resolve(repo, f"origin/{commit}")
        if sha is None:
            raise SourceError(f"{url}: no commit or tag {commit!r}",
                              fix="check the commit in repos.yaml (a full hash or a tag of that repository)")
        try:
            if repo.head.is_detached is False or repo.head.commit.hexsha != sha:
                repo.git.checkout(sha, force=True)
        except ValueError:  # a fresh clone with no checkout has no HEAD commit yet
            repo.git.checkout(sha, force=True)
        except GitCommandError as exc:
            raise _git_error("check out", url, exc) from None
    return Checkout(dest, sha, read_toolchain(dest))


def head_commit(path: Path) -> str | None:
    """The commit a local project folder is at, or None when it is not a git work tree."""
    from git import InvalidGitRepositoryError, NoSuchPathError, Repo

    try:
        return Repo(path, search_parent_directories=False).head.commit.hexsha
    except (InvalidGitRepositoryError, NoSuchPathError, ValueError):
        return None
