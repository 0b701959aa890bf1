"""Local git repositories made in tmp_path: the only remotes tests may use."""

from __future__ import annotations


import pytest
from sources_helpers import commit_files


@pytest.fixture
def lean_project(tmp_path):
    """A work tree shaped like a Lake project (one commit), and a bare clone of it as a remote."""
    from git import Repo

    work = tmp_path / "work" / "proj"
    repo = Repo.init(work)
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "t").set_value("user", "email", "t@example.org")
    sha = commit_files(repo, {
        "lean-toolchain": "leanprover/lean4:v4.9.0\n",
        "lakefile.lean": "import Lake\nopen Lake DSL\npackage proj\n@[default_target] lean_lib Proj\n",
        "Proj/Basic.lean": "theorem add_zero' (n : Nat) : n + 0 = n := by\n  rw [Nat.add_zero]\n\n"
                           "theorem open_one : True := sorry\n\ndef helper : Nat := by exact sorry\n",
    }, "first")
    bare = tmp_path / "remote" / "proj.git"
    Repo.clone_from(work, bare, bare=True)
    return {"repo": repo, "work": work, "bare": bare, "first": sha}


@pytest.fixture
def ld_cache(tmp_path, monkeypatch):
    """lean-dojo's repo cache in tmp_path, and no remote cache (there is no network)."""
    import lean_dojo.data_extraction.cache as cache_mod
    import lean_dojo.data_extraction.lean as lean_mod

    monkeypatch.setattr(cache_mod, "DISABLE_REMOTE_CACHE", True)
    monkeypatch.setattr(lean_mod, "repo_cache", cache_mod.Cache(tmp_path / "ld-cache"))


@pytest.fixture
def traced_repo(lean_project, ld_cache):
    work = lean_project["work"]
    (work / ".lake" / "packages" / "dep").mkdir(parents=True)
    (work / ".lake" / "packages" / "dep" / "Dep.lean").write_text("theorem dep_thm : True := sorry\n")
    from lean_dojo_objects import build_traced_repo

    return build_traced_repo(work, lean_project["first"])
