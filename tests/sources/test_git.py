"""Clone/fetch/checkout against local repositories made in tmp_path."""

from __future__ import annotations

import pytest

from leanagent.errors import SourceError
from leanagent.lean.versions import lean_version_of, read_toolchain
from leanagent.sources.git import checkout, clone_dir, head_commit

from sources_helpers import commit_files


def test_lean_version_of():
    assert lean_version_of("leanprover/lean4:v4.9.0") == "v4.9.0"
    assert lean_version_of("leanprover/lean4:4.3.0-rc2\n") == "v4.3.0-rc2"
    assert lean_version_of("leanprover/lean4:nightly-2024-01-01") == "nightly-2024-01-01"
    assert lean_version_of("leanprover/lean:3.4.2") is None
    assert lean_version_of(None) is None


def test_clone_checkout_and_fetch(lean_project, tmp_path):
    cache = tmp_path / "cache"
    url = str(lean_project["bare"])
    co = checkout(url, lean_project["first"], cache)
    assert co.commit == lean_project["first"] and co.path == clone_dir(cache, url)
    assert co.toolchain == "leanprover/lean4:v4.9.0" and co.lean_version == "v4.9.0"
    assert (co.path / "Proj" / "Basic.lean").is_file()
    assert head_commit(co.path) == lean_project["first"]

    # A new commit and tag upstream: the cached clone fetches them on demand.
    repo = lean_project["repo"]
    second = commit_files(repo, {"lean-toolchain": "leanprover/lean4:v4.10.0\n"}, "bump")
    repo.create_tag("v2")
    from git import Repo

    Repo(lean_project["bare"]).git.fetch(str(lean_project["work"]), "+refs/heads/*:refs/heads/*", "--tags")
    co2 = checkout(url, "v2", cache)
    assert co2.commit == second and co2.lean_version == "v4.10.0" and co2.path == co.path
    # Back to the first commit: no network needed, the object is already there.
    assert checkout(url, lean_project["first"], cache).lean_version == "v4.9.0"
    assert read_toolchain(co.path) == "leanprover/lean4:v4.9.0"


def test_errors_are_one_line(lean_project, tmp_path):
    with pytest.raises(SourceError, match="no commit or tag 'nope'"):
        checkout(str(lean_project["bare"]), "nope", tmp_path / "cache")
    with pytest.raises(SourceError) as err:
        checkout(str(tmp_path / "does-not-exist.git"), "main", tmp_path / "cache")
    assert err.value.message.startswith("cannot clone") and "\n" not in err.value.one_line()


def test_head_commit_outside_git(tmp_path):
    assert head_commit(tmp_path) is None
