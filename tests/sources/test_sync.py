"""sync_entry: every entry kind into the database, skipping what is already there."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanagent.config import GitEntry, PathEntry, TracedEntry
from leanagent.db.ingest import store_repo
from leanagent.db.records import RepoRecord
from leanagent.errors import DatasetError, SourceError, ToolchainError
from leanagent.lean import leandojo
from leanagent.sources import tracing
from leanagent.sources.sync import cache_dir, sync_entry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_toolchain(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin") + ":/usr/bin:/bin")
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    import shutil

    if shutil.which("lean") or shutil.which("lake"):
        pytest.skip("a Lean toolchain is installed system-wide")


def test_traced_entry_created_then_unchanged(db, example_path):
    entry = TracedEntry(traced=example_path, name="nat", include=["NatList/Nat/**"])
    first = sync_entry(db, entry, cache=Path("unused"))
    assert (first.action, first.ingest["theorems"]) == ("created", 98)
    assert sync_entry(db, entry, cache=Path("unused")).action == "unchanged"
    with pytest.raises(DatasetError, match="no theorem of .* matches the include/exclude globs"):
        sync_entry(db, TracedEntry(traced=example_path, name="none", include=["Nope/**"]), cache=Path("unused"))
    assert sync_entry(db, TracedEntry(traced=example_path, enabled=False), cache=Path("x")).action == "disabled"


def test_traced_entry_with_its_sources_stores_files_and_original_proofs(db, example_path):
    """Without the sources, review said "Original proof: Not recorded" and the patch export had no file text."""
    from sqlalchemy import select

    from leanagent.db.models import Repository, SourceFile, Theorem

    source = example_path.parent / "nat-list-src"
    plain = TracedEntry(traced=example_path, name="nat", include=["NatList/Nat/**"])
    assert sync_entry(db, plain, cache=Path("unused")).action == "created"
    # Adding `source:` to an entry already imported stores it again, now with the files.
    with_source = TracedEntry(traced=example_path, name="nat", include=["NatList/Nat/**"], source=source)
    assert sync_entry(db, with_source, cache=Path("unused")).action == "updated"
    assert sync_entry(db, with_source, cache=Path("unused")).action == "unchanged"
    with db.session() as s:
        assert s.scalar(select(Repository.path).where(Repository.name == "nat")) == str(source.resolve())
        proofs = dict(s.execute(select(Theorem.full_name, Theorem.proof_text)).all())
        content = s.scalar(select(SourceFile.content).where(SourceFile.path == "NatList/Nat/Order.lean"))
    assert proofs["NatList.Nat.max_self'"] == "by\n  simp"
    assert proofs["NatList.Nat.le_succ_of_le'_imp"] == "by\n  intro h\n  omega"
    assert proofs["NatList.Nat.add_comm_three"] == "by\n  sorry"
    assert content == (source / "NatList" / "Nat" / "Order.lean").read_text()
    with pytest.raises(SourceError, match="`source:` folder does not exist"):
        sync_entry(db, TracedEntry(traced=example_path, name="x", source=source / "nope"), cache=Path("unused"))


def test_git_entry_without_toolchain_fails_before_cloning(db, lean_project, tmp_path, no_toolchain):
    entry = GitEntry(url=str(lean_project["bare"]), commit=lean_project["first"])
    with pytest.raises(ToolchainError, match="no Lean toolchain found"):
        sync_entry(db, entry, cache=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_git_entry_already_traced_is_skipped_without_toolchain(db, lean_project, tmp_path, no_toolchain):
    entry = GitEntry(url=str(lean_project["bare"]), commit=lean_project["first"])
    store_repo(db, RepoRecord(name="proj", kind="git", url=entry.url, commit=entry.commit,
                              digest=tracing.trace_digest(entry.url, entry.commit, [], [])))
    result = sync_entry(db, entry, cache=tmp_path / "cache")
    assert result.action == "unchanged" and "already traced" in result.message


def test_git_entry_end_to_end(db, lean_project, ld_cache, tmp_path, monkeypatch):
    """Clone into the cache, check the version, trace (lean-dojo's `trace` replaced: it runs lake), store."""
    import lean_dojo
    from lean_dojo_objects import build_traced_repo

    monkeypatch.setattr(leandojo, "find_toolchain", lambda: {"lean": "lean", "lake": "lake"})
    traced_at = []

    def fake_trace(repo):
        traced_at.append(Path(repo.url))
        return build_traced_repo(Path(repo.url), repo.commit)

    monkeypatch.setattr(lean_dojo, "trace", fake_trace)
    entry = GitEntry(url=str(lean_project["bare"]), commit=lean_project["first"], name="proj")
    cache = tmp_path / "cache"
    result = sync_entry(db, entry, cache=cache)
    assert result.action == "created" and result.ingest["theorems"] == 3 and result.ingest["steps"] == 1
    assert traced_at[0].parent == cache  # traced from our clone, not from the remote
    assert sync_entry(db, entry, cache=cache).action == "unchanged"
    assert len(traced_at) == 1


def test_git_entry_with_unsupported_lean(db, lean_project, tmp_path, monkeypatch):
    from sources_helpers import commit_files

    monkeypatch.setattr(leandojo, "find_toolchain", lambda: {})
    sha = commit_files(lean_project["repo"], {"lean-toolchain": "leanprover/lean4:v4.2.0\n"}, "old")
    entry = GitEntry(url=str(lean_project["work"]), commit=sha)
    with pytest.raises(SourceError, match="Lean version v4.2.0 is not supported"):
        sync_entry(db, entry, cache=tmp_path / "cache")


def test_path_entry_scan_only_without_toolchain(db, lean_project, no_toolchain):
    entry = PathEntry(path=lean_project["work"], name="proj")
    result = sync_entry(db, entry, cache=Path("unused"))
    assert result.action == "created" and result.ingest["theorems"] == 2
    assert result.message.startswith("scan only: stored 2 sorry theorems") and "elan" in result.message
    assert sync_entry(db, entry, cache=Path("unused")).action == "unchanged"
    with pytest.raises(SourceError, match="has no lakefile"):
        sync_entry(db, PathEntry(path=lean_project["work"] / "Proj"), cache=Path("unused"))


def test_cache_dir(tmp_path):
    from leanagent.config import parse_repos

    assert cache_dir(parse_repos("repos: []\n", tmp_path / "r.yaml"), tmp_path / "home") == tmp_path / "home" / "repos"
    cfg = parse_repos("cache: clones\nrepos: []\n", tmp_path / "r.yaml")
    assert cache_dir(cfg, tmp_path / "home") == (tmp_path / "clones").resolve()
