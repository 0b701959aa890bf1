"""GitHub crawl against a fake client object (there is no network here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from github import RateLimitExceededException, UnknownObjectException

from leanagent.errors import SourceError
from leanagent.sources import github as gh


@dataclass
class FakeRepo:
    full_name: str
    stargazers_count: int
    toolchain: str | None = "leanprover/lean4:v4.9.0"
    fork: bool = False
    default_branch: str = "main"
    sha: str = "a" * 40
    html_url: str = ""

    def __post_init__(self):
        self.html_url = self.html_url or f"https://github.com/{self.full_name}"

    def get_contents(self, path, ref=None):
        assert path == "lean-toolchain" and ref == self.default_branch
        if self.toolchain is None:
            raise UnknownObjectException(404, {"message": "Not Found"}, None)
        return SimpleNamespace(decoded_content=self.toolchain.encode())

    def get_branch(self, name):
        return SimpleNamespace(commit=SimpleNamespace(sha=self.sha))


@dataclass
class FakeClient:
    repos: list
    queries: list = field(default_factory=list)
    fail_after: int | None = None

    def search_repositories(self, query, sort, order):
        self.queries.append((query, sort, order))
        for i, r in enumerate(self.repos):
            if self.fail_after is not None and i >= self.fail_after:
                raise RateLimitExceededException(403, {"message": "API rate limit exceeded for 1.2.3.4."}, None)
            yield r


def _client():
    return FakeClient([
        FakeRepo("leanprover-community/mathlib4", 2000),           # default block list
        FakeRepo("teorth/pfr", 500, sha="b" * 40),
        FakeRepo("someone/pfr-fork", 400, fork=True),
        FakeRepo("old/lean3-thing", 300, toolchain="leanprover/lean:3.4.2"),
        FakeRepo("no/toolchain", 250, toolchain=None),
        FakeRepo("ancient/lean4", 200, toolchain="leanprover/lean4:v4.2.0"),
        FakeRepo("x/blocked-by-me", 150),
        FakeRepo("y/good", 120, toolchain="leanprover/lean4:v4.10.0-rc1", default_branch="master"),
        FakeRepo("z/also-good", 100),
        FakeRepo("w/too-few-stars", 5),
    ])


def test_crawl_filters_and_orders():
    client = _client()
    skipped = []
    opts = gh.CrawlOptions(min_stars=50, limit=10, block=gh.DEFAULT_BLOCK + ("X/Blocked-By-Me",))
    found = gh.crawl(opts, client=client, on_skip=lambda n, why: skipped.append((n, why)))
    assert [f.full_name for f in found] == ["teorth/pfr", "y/good", "z/also-good"]
    assert found[0].commit == "b" * 40 and found[0].lean_version == "v4.9.0" and found[0].stars == 500
    assert found[1].lean_version == "v4.10.0-rc1"
    assert client.queries == [("language:Lean stars:>=50", "stars", "desc")]
    assert dict(skipped) == {
        "leanprover-community/mathlib4": "blocked", "someone/pfr-fork": "fork",
        "old/lean3-thing": "no Lean 4 lean-toolchain", "no/toolchain": "no Lean 4 lean-toolchain",
        "ancient/lean4": "Lean v4.2.0 not supported by lean-dojo", "x/blocked-by-me": "blocked"}
    entry = found[0].entry()
    assert (entry.repo_name, entry.url, entry.commit) == ("pfr", "https://github.com/teorth/pfr", "b" * 40)


def test_limit_min_stars_and_known_urls():
    found = gh.crawl(gh.CrawlOptions(min_stars=50, limit=1), client=_client())
    assert [f.full_name for f in found] == ["teorth/pfr"]
    found = gh.crawl(gh.CrawlOptions(min_stars=110, limit=10, skip_urls={"https://github.com/teorth/pfr.git/"}),
                     client=_client())
    assert [f.full_name for f in found] == ["x/blocked-by-me", "y/good"]  # pfr is already listed


def test_rate_limit_is_one_clear_line():
    client = _client()
    client.fail_after = 2
    with pytest.raises(SourceError) as err:
        gh.crawl(gh.CrawlOptions(min_stars=1), client=client)
    line = err.value.one_line()
    assert line.startswith("GitHub API rate limit reached (API rate limit exceeded") and "GITHUB_TOKEN" in line


def test_network_error_is_one_clear_line():
    import requests

    class Down:
        def search_repositories(self, **kw):
            raise requests.exceptions.ConnectionError("Failed to establish a new connection: [Errno -3]")

    with pytest.raises(SourceError, match="GitHub API request failed: Failed to establish"):
        gh.crawl(gh.CrawlOptions(), client=Down())


def test_token_is_read_at_call_time(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    anonymous = gh.default_client()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_testtoken")
    authed = gh.default_client()
    assert anonymous._Github__requester.auth is None
    assert authed._Github__requester.auth.token == "ghp_testtoken"
