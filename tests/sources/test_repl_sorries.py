"""Sorry theorems through the Lean REPL (lean-interact's client, the stand-in REPL of tests/fake_repl)."""

from __future__ import annotations

from sqlalchemy import select

from leanagent.config import PathEntry
from leanagent.db.models import Repository, TacticStep, Theorem
from leanagent.lean.repl import ReplSession
from leanagent.sources.repl_sorries import file_sorries, repl_records
from leanagent.sources.sync import sync_entry
from tests.fake_repl.stand_in import install, project, requests

GOAL = "n : Nat\n⊢ n + 0 = n"
SCRIPT = {"goals": {"add_zero'": GOAL, "two": "⊢ 1 + 1 = 2", "first_works": "⊢ True", "hidden": "⊢ True"},
          "moves": {"⊢ True": {"trivial": "no goals"}}}
BASIC = """import Init

namespace Toy

theorem add_zero' (n : Nat) : n + 0 = n := by
  sorry

theorem two : 1 + 1 = 2 := sorry

-- The scanner sees a `sorry` token; Lean never gets there (`first` takes `trivial`).
theorem first_works : True := by
  first | trivial | sorry

-- An error before the `sorry`: Lean cannot tell, the theorem is kept.
theorem hidden : True := by
  broken
  sorry

end Toy
"""
DONE = "import Init\n\ntheorem fine : True := by\n  trivial\n"


def test_file_sorries(tmp_path, monkeypatch):
    fake = install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC})
    session = ReplSession(root, fake.options)
    try:
        found = file_sorries(session, "Toy/Basic.lean", BASIC)
    finally:
        session.close()
    confirmed = {d.full_name: s for d, s in found.confirmed}
    assert set(confirmed) == {"Toy.add_zero'", "Toy.two"}
    assert confirmed["Toy.add_zero'"].goal == GOAL and confirmed["Toy.add_zero'"].whole_proof
    assert confirmed["Toy.add_zero'"].line == 6 and confirmed["Toy.add_zero'"].proof_state is not None
    assert confirmed["Toy.two"].goal == "⊢ 1 + 1 = 2"
    assert [d.full_name for d in found.dropped] == ["Toy.first_works"]
    assert [d.full_name for d in found.unconfirmed] == ["Toy.hidden"]


def test_repl_records_elaborate_only_files_with_sorry(tmp_path, monkeypatch):
    fake = install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC, "Toy/Done.lean": DONE})
    record, counts = repl_records(root, "toy", options=fake.options, commit=None, lean_version="v4.15.0")
    assert counts == {"files": 1, "confirmed": 2, "unconfirmed": 1, "dropped": 1, "goals": 1}
    assert [f.path for f in record.files] == ["Toy/Basic.lean"]
    by_name = {t.full_name: t for t in record.theorems}
    assert set(by_name) == {"Toy.add_zero'", "Toy.two", "Toy.hidden"}
    (step,) = by_name["Toy.add_zero'"].steps  # what a LeanDojo trace records for `by sorry`
    assert (step.tactic, step.state_before, step.state_after) == ("sorry", GOAL, "no goals")
    assert by_name["Toy.two"].steps == [] and all(t.is_sorry for t in record.theorems)
    assert not any("fine" in r.get("cmd", "") for r in requests(fake.log))


def test_sync_path_entry_past_leandojo_traces_with_the_repl(db, tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, SCRIPT)  # puts the stand-in lean/lake first on PATH
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC})
    result = sync_entry(db, PathEntry(path=root, name="toy"), cache=tmp_path / "cache")
    assert result.action == "created" and result.message.startswith("traced with the Lean REPL (Lean v4.15.0)")
    with db.session() as s:
        repo = s.scalar(select(Repository).where(Repository.name == "toy"))
        assert (repo.kind, repo.lean_version, repo.path, repo.tracer) == ("path", "v4.15.0", str(root.resolve()),
                                                                         "repl")
        sorry = {t.full_name for t in s.scalars(select(Theorem)) if t.status.value == "sorry"}
        goals = list(s.scalars(select(TacticStep.state_before)))
    # Lean elaborated `first_works` without its sorry: a theorem like any other; `hidden` has an error before
    # its sorry: Lean cannot tell, the scanner keeps it.
    assert sorry == {"Toy.add_zero'", "Toy.two", "Toy.hidden"} and goals == [GOAL, "⊢ True"]
    assert sync_entry(db, PathEntry(path=root, name="toy"), cache=tmp_path / "cache").action == "unchanged"


def test_sync_falls_back_to_the_scanner_without_a_repl(db, tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, SCRIPT)
    monkeypatch.setenv("LEANAGENT_REPL_PATH", str(tmp_path / "no-repl-here"))
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC})
    result = sync_entry(db, PathEntry(path=root, name="toy"), cache=tmp_path / "cache")
    assert result.message.startswith("scan only: stored 4 sorry theorems; Lean v4.15.0 is past LeanDojo")
    assert "no-repl-here" in result.message


def test_sync_git_entry_past_leandojo_uses_the_repl(db, tmp_path, monkeypatch, lean_project):
    from git import Repo
    from sources_helpers import commit_files

    from leanagent.config import GitEntry

    install(tmp_path, monkeypatch, SCRIPT)
    sha = commit_files(lean_project["repo"], {"lean-toolchain": "leanprover/lean4:v4.15.0\n",
                                              "Toy/Basic.lean": BASIC}, "newer Lean")
    Repo(lean_project["bare"]).git.fetch(str(lean_project["work"]), "+refs/heads/*:refs/heads/*")
    entry = GitEntry(url=str(lean_project["bare"]), commit=sha, name="proj")
    result = sync_entry(db, entry, cache=tmp_path / "cache")
    assert result.kind == "git" and result.message.startswith("traced with the Lean REPL (Lean v4.15.0)")
    with db.session() as s:
        repo = s.scalar(select(Repository).where(Repository.name == "proj"))
        assert (repo.kind, repo.commit, repo.url) == ("git", sha, str(lean_project["bare"]))
        names = set(s.scalars(select(Theorem.full_name)))
    # Proj/Basic.lean's open_one and helper, and Toy/Basic.lean's confirmed ones (the stand-in's goal is ⊢ True)
    assert {"Toy.add_zero'", "Toy.two", "Toy.hidden", "open_one", "helper"} <= names
