"""Discovering Lean 4 repositories on GitHub (PyGithub).

The token comes from `GITHUB_TOKEN` when `crawl` runs, never at import. Tests
pass a fake client with the few methods used here: `search_repositories`,
and on each repository `full_name`, `html_url`, `stargazers_count`, `fork`,
`default_branch`, `get_contents(path, ref=)` and `get_branch(name)`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from leanagent.config import GitEntry
from leanagent.errors import SourceError
from leanagent.lean.versions import TOOLCHAIN_FILE, lean_version_of

TOKEN_ENV = "GITHUB_TOKEN"
# Repositories that are dependencies of nearly everything (LeanAgent skips them too):
# learning from them would repeat what every other repository already brings along.
DEFAULT_BLOCK = (
    "leanprover/lean4", "leanprover-community/mathlib4", "leanprover-community/batteries",
    "leanprover/std4", "leanprover-community/aesop", "leanprover-community/ProofWidgets4",
    "leanprover-community/quote4", "leanprover-community/import-graph", "leanprover-community/plausible",
    "leanprover/lean4-cli", "leanprover/doc-gen4", "leanprover/LeanInk", "leanprover-community/repl",
    "lean-dojo/LeanDojo", "lean-dojo/LeanCopilot",
)


@dataclass
class CrawlOptions:
    """What `leanagent crawl --github` looks for."""

    min_stars: int = 10
    """Only repositories with at least this many stars."""
    limit: int = 20
    """Stop after this many accepted repositories."""
    block: tuple[str, ...] = DEFAULT_BLOCK
    """`owner/name` of repositories never to return (case-insensitive)."""
    skip_urls: set[str] = field(default_factory=set)
    """URLs already listed (for `--append`), compared without a trailing `.git` or `/`."""
    max_scanned: int = 1000
    """Give up after looking at this many search results."""


@dataclass(frozen=True)
class Found:
    full_name: str
    url: str
    commit: str
    stars: int
    lean_version: str

    def entry(self) -> GitEntry:
        return GitEntry(name=self.full_name.split("/", 1)[1], url=self.url, commit=self.commit)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def default_client() -> Any:
    """A PyGithub client, authenticated when GITHUB_TOKEN is set (read now, at call time)."""
    from github import Auth, Github

    token = os.environ.get(TOKEN_ENV)
    return Github(auth=Auth.Token(token), per_page=100) if token else Github(per_page=100)


def normalize_url(url: str) -> str:
    url = url.rstrip("/")
    return (url[:-4] if url.endswith(".git") else url).lower()


def _network_error(exc: Exception) -> SourceError:
    status = getattr(exc, "status", None)
    data = getattr(exc, "data", None)
    detail = data.get("message") if isinstance(data, dict) and data.get("message") else str(exc).splitlines()[0]
    if type(exc).__name__ == "RateLimitExceededException" or status in (403, 429) and "rate limit" in str(detail).lower():
        return SourceError(f"GitHub API rate limit reached ({detail})",
                           fix=f"set {TOKEN_ENV} to a personal access token, or wait an hour and run again")
    if type(exc).__name__ == "BadCredentialsException" or status == 401:
        return SourceError(f"GitHub rejected the token in {TOKEN_ENV} ({detail})",
                           fix=f"create a new token, or unset {TOKEN_ENV} to crawl unauthenticated")
    return SourceError(f"GitHub API request failed: {detail}",
                       fix="check the network connection (https://api.github.com must be reachable)")


def _errors() -> tuple[type[BaseException], ...]:
    from github import GithubException
    from requests.exceptions import RequestException

    return (GithubException, RequestException, OSError)


def _toolchain(repo: Any) -> str | None:
    from github import UnknownObjectException

    try:
        content = repo.get_contents(TOOLCHAIN_FILE, ref=repo.default_branch)
    except UnknownObjectException:
        return None
    if isinstance(content, list):  # a folder named lean-toolchain
        return None
    return content.decoded_content.decode("utf-8", "replace").strip()


def crawl(options: CrawlOptions, client: Any = None, supported: Callable[[str], bool] | None = None,
          on_skip: Callable[[str, str], None] | None = None) -> list[Found]:
    """Lean 4 repositories by stars, most first, whose lean-toolchain lean-dojo supports."""
    if supported is None:
        from leanagent.lean.leandojo import is_supported as supported
    client = client if client is not None else default_client()
    blocked = {b.lower() for b in options.block}
    skip_urls = {normalize_url(u) for u in options.skip_urls}
    skip = on_skip or (lambda name, why: None)
    found: list[Found] = []
    errors = _errors()
    try:
        results: Iterable[Any] = client.search_repositories(query=f"language:Lean stars:>={options.min_stars}",
                                                            sort="stars", order="desc")
        for scanned, repo in enumerate(results):
            if len(found) >= options.limit or scanned >= options.max_scanned:
                break
            name = repo.full_name
            if repo.stargazers_count < options.min_stars:
                break  # sorted by stars: nothing further qualifies
            if name.lower() in blocked:
                skip(name, "blocked")
                continue
            if repo.fork:
                skip(name, "fork")
                continue
            if normalize_url(repo.html_url) in skip_urls:
                skip(name, "already listed")
                continue
            toolchain = _toolchain(repo)
            version = lean_version_of(toolchain)
            if version is None:
                skip(name, "no Lean 4 lean-toolchain")
                continue
            if not supported(version):
                skip(name, f"Lean {version} not supported by lean-dojo")
                continue
            sha = repo.get_branch(repo.default_branch).commit.sha
            found.append(Found(name, repo.html_url, sha, repo.stargazers_count, version))
    except errors as exc:
        raise _network_error(exc) from None
    return found
