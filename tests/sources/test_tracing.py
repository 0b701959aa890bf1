"""lean-dojo's traced objects -> records, with lean-dojo's own classes built in the test.

No Lean here, so the objects come from `lean_dojo_objects.build_traced_repo` (see there).
Everything `convert_traced_repo` calls (`get_traced_theorems`,
`get_traced_tactics`, `get_annotated_tactic`, `get_theorem_statement`) is lean-dojo's code.
"""

from __future__ import annotations

import pytest

ld = pytest.importorskip("lean_dojo")
from lean_dojo_objects import BASIC, STATE  # noqa: E402

from leanagent.errors import SourceError, ToolchainError  # noqa: E402
from leanagent.lean import leandojo  # noqa: E402
from leanagent.sources import tracing  # noqa: E402


def test_convert_traced_repo(traced_repo, lean_project):
    rec = tracing.convert_traced_repo(traced_repo, "proj", url="https://example.org/proj",
                                      commit=lean_project["first"], lean_version="v4.9.0")
    assert (rec.name, rec.kind, rec.commit, rec.lean_version) == ("proj", "git", lean_project["first"], "v4.9.0")
    by_name = {t.full_name: t for t in rec.theorems}
    assert set(by_name) == {"add_zero'", "open_one", "helper"}  # not the dependency's dep_thm

    t = by_name["add_zero'"]
    assert (t.file_path, t.start, t.end) == (BASIC, (1, 1), (2, 20))
    assert t.statement == "theorem add_zero' (n : Nat) : n + 0 = n :="
    (step,) = t.steps
    assert (step.tactic, step.state_before, step.state_after) == ("rw [Nat.add_zero]", STATE, "no goals")
    assert step.annotated_tactic == "rw [<a>Nat.add_zero</a>]"
    (p,) = step.premises
    assert (p.full_name, p.path, p.start, p.end) == ("Nat.add_zero", ".lake/packages/lean4/src/lean/Init/Core.lean",
                                                     (1520, 1), (1521, 30))
    assert not t.is_sorry and t.url == "https://example.org/proj"

    s = by_name["open_one"]  # term-mode sorry: known although LeanDojo has no tactic for it
    assert s.steps == [] and s.is_sorry and s.sorry_mode == "term" and s.proof_text == "sorry"
    h = by_name["helper"]
    assert h.is_sorry and h.sorry_mode == "tactic" and h.start == (6, 1)

    assert [f.path for f in rec.files] == [BASIC]
    assert rec.files[0].content.startswith("theorem add_zero'")  # kept: the file has sorry theorems
    assert rec.digest == tracing.trace_digest("https://example.org/proj", lean_project["first"], [], [])


def test_convert_respects_globs_and_stores(traced_repo, lean_project, db):
    from leanagent.db.ingest import store_repo

    assert tracing.convert_traced_repo(traced_repo, "p", exclude=["Proj/**"]).theorems == []
    rec = tracing.convert_traced_repo(traced_repo, "p", include=["Proj/**"])
    assert rec.url == str(lean_project["work"].resolve())  # lean-dojo's own url for a local repo
    res = store_repo(db, rec)
    assert (res.action, res.theorems, res.steps) == ("created", 3, 1)
    assert store_repo(db, tracing.convert_traced_repo(traced_repo, "p", include=["Proj/**"])).action == "unchanged"


def test_find_toolchain(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    with pytest.raises(ToolchainError) as err:
        leandojo.find_toolchain()
    line = err.value.one_line()
    assert "`lean` and `lake` not on PATH" in line and "elan" in line and "\n" not in line
    bin_dir = tmp_path / "no-elan" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("lean", "lake"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    assert set(leandojo.find_toolchain()) == {"lean", "lake"}


def test_supported_versions():
    assert leandojo.is_supported("v4.9.0") and leandojo.is_supported("v4.3.0-rc2")
    assert not leandojo.is_supported("v4.3.0-rc1") and not leandojo.is_supported("v4.2.0")
    assert not leandojo.is_supported("nightly-2024-01-01") and not leandojo.is_supported(None)
    with pytest.raises(SourceError, match="Lean version v4.2.0 is not supported by lean-dojo"):
        leandojo.check_supported("v4.2.0", "x")


def test_trace_repo_glue(traced_repo, lean_project, monkeypatch, tmp_path):
    """trace_repo: toolchain check, a real LeanGitRepo for the checkout, lean-dojo's trace, conversion.
    Only `lean_dojo.trace` (which runs `lake build`) is replaced."""
    monkeypatch.setattr(leandojo, "find_toolchain", lambda: {"lean": "lean", "lake": "lake"})
    seen = {}

    def fake_trace(repo):
        seen["repo"] = repo
        return traced_repo

    monkeypatch.setattr(ld, "trace", fake_trace)
    rec = tracing.trace_repo(lean_project["work"], lean_project["first"], "proj", url="u", lean_version="v4.9.0")
    assert seen["repo"].commit == lean_project["first"] and seen["repo"].lean_version == "v4.9.0"
    assert len(rec.theorems) == 3 and rec.url == "u"

    def broken(repo):
        raise AssertionError("lake build failed\nlong log")

    monkeypatch.setattr(ld, "trace", broken)
    with pytest.raises(SourceError, match="lean-dojo could not trace proj at .*: lake build failed$"):
        tracing.trace_repo(lean_project["work"], lean_project["first"], "proj", lean_version="v4.9.0")
