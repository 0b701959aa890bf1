"""`export-proofs --branch NAME`: a pull-request-ready branch in the repository's clone.

The branch starts at the commit the proofs were checked against and has one commit per file, whose
text is exactly the patched text that `build_patch` diffed (and that the whole-file re-check placed
the proof in). It is built with git plumbing (GitPython, as `leanagent.sources` uses it): blobs
into the object store, trees through a temporary index file, `commit-tree`, and the branch ref
created last and only if it does not exist. The user's checkout, index and HEAD are never touched;
a refused export leaves no branch.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from leanagent.errors import SourceError

_HEX = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class BranchError(SourceError):
    """The export branch cannot be made in the repository's clone."""


@dataclass(frozen=True)
class FileChange:
    path: str       # repository-relative
    old: str        # the text the patch was built from (must be the file at the base commit)
    new: str        # the patched text
    message: str    # the commit message


def base_commit(commits: dict[int, str | None]) -> str:
    """The one commit all proofs of an export were checked against ({proof id: commit})."""
    missing = sorted(pid for pid, c in commits.items() if not c)
    if missing:
        raise BranchError(f"proof(s) {', '.join(map(str, missing))} have no recorded commit to branch from",
                          fix="prove them again on a git checkout, or export a patch without --branch")
    distinct = sorted(set(commits.values()))
    if len(distinct) > 1:
        by = {c: sorted(pid for pid, x in commits.items() if x == c) for c in distinct}
        raise BranchError("the proofs were checked against different commits: "
                          + "; ".join(f"{c[:12]} (proofs {', '.join(map(str, p))})" for c, p in by.items()),
                          fix="export the proofs of one commit (review the others, or prove them again on one "
                              "commit), or export a patch without --branch")
    return distinct[0]


def _open(repo_path: str | None):
    from git import InvalidGitRepositoryError, NoSuchPathError, Repo

    if not repo_path:
        raise BranchError("the repository has no local clone to make a branch in",
                          fix="a `path:` or git entry in repos.yaml gives it one; or export a patch without --branch")
    try:
        return Repo(repo_path, search_parent_directories=False)
    except (InvalidGitRepositoryError, NoSuchPathError):
        raise BranchError(f"{repo_path} is not a git repository", fix="export a patch without --branch") from None


def _check_target(repo, name: str, base: str) -> None:
    from git import GitCommandError

    if name.startswith("-") or not name.strip():
        raise BranchError(f"{name!r} is not a branch name", fix="give a name like leanagent/proofs")
    try:
        repo.git.check_ref_format("--branch", name)
    except GitCommandError:
        raise BranchError(f"{name!r} is not a valid git branch name", fix="give a name like leanagent/proofs") from None
    if any(h.name == name for h in repo.heads):
        raise BranchError(f"the branch {name} already exists in {repo.working_dir}",
                          fix="choose another --branch name, or delete the old branch first")
    if repo.is_dirty(index=True, working_tree=True, untracked_files=False):
        raise BranchError(f"the clone {repo.working_dir} has uncommitted changes",
                          fix="commit or stash them first: the patch was read from those files")
    if not _HEX.fullmatch(base):  # never an option to git
        raise BranchError(f"the proofs' commit {base[:40]!r} is not a commit id")
    try:
        repo.commit(base)
    except (GitCommandError, ValueError):
        raise BranchError(f"the proofs' commit {base[:12]} is not in the clone {repo.working_dir}",
                          fix="fetch it (git fetch), or export a patch without --branch") from None


def _blob_at(repo, commit: str, path: str):
    try:
        return repo.commit(commit).tree / path
    except KeyError:
        return None


def create_branch(repo_path: str | None, name: str, base: str, changes: list[FileChange]) -> list[str]:
    """Make branch `name` at `base` plus one commit per change; returns the commits, oldest first."""
    from git import GitCommandError
    from gitdb import IStream

    repo = _open(repo_path)
    _check_target(repo, name, base)
    entries = []
    for ch in changes:  # every file is checked before anything is written
        blob = _blob_at(repo, base, ch.path)
        if blob is None or blob.data_stream.read().decode("utf-8", errors="replace") != ch.old:
            raise BranchError(f"{ch.path} at commit {base[:12]} is not the file the patch was made from",
                              fix="check out that commit's file (or export a patch without --branch)")
        entries.append((ch, blob.mode))
    parent = base
    commits = []
    try:
        with tempfile.TemporaryDirectory(prefix="leanagent-branch-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}  # a private index: the user's stays as it is
            repo.git.read_tree(base, env=env)
            for ch, mode in entries:
                data = ch.new.encode("utf-8")
                sha = repo.odb.store(IStream("blob", len(data), BytesIO(data))).hexsha.decode()
                repo.git.update_index("--cacheinfo", f"{mode:o},{sha},{ch.path}", env=env)
                tree = repo.git.write_tree(env=env)
                parent = repo.git.commit_tree(tree, "-p", parent, "-m", ch.message)
                commits.append(parent)
            # Created last, and only if it is still absent (an all-zero old value): no half-made branch.
            repo.git.update_ref(f"refs/heads/{name}", parent, "0" * len(base))
    except GitCommandError as exc:
        detail = (exc.stderr or str(exc)).strip().splitlines()
        raise BranchError(f"git could not make the branch {name}: {detail[-1] if detail else exc}",
                          fix="set user.name and user.email in the clone (git config) if git asks who you are")
    return commits
