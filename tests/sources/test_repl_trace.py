"""Tracing through the Lean REPL (the stand-in of tests/fake_repl answering in the real REPL's shapes)."""

from __future__ import annotations

import json

import pytest

from leanagent.sources.repl_premises import UNRESOLVED
from leanagent.sources.repl_trace import DependenciesNotBuilt, repl_trace
from tests.fake_repl.stand_in import install, project, requests

S0 = "a b : Nat\nh : a ≤ b\n⊢ a + 0 ≤ b ∧ a ≤ b"
S_HAVE = "a b : Nat\nh : a ≤ b\nh' : a + 0 = a\n⊢ a + 0 ≤ b ∧ a ≤ b"
S_SPLIT = ("case left\na b : Nat\nh : a ≤ b\nh' : a + 0 = a\n⊢ a + 0 ≤ b\n\n"
           "case right\na b : Nat\nh : a ≤ b\nh' : a + 0 = a\n⊢ a ≤ b")
LEFT, RIGHT = S_SPLIT.split("\n\n")
SCRIPT = {
    "goals": {"Toy.both": S0, "Toy.Use.again": "a : Nat\n⊢ a + 0 = a", "Toy.Use.todo": "⊢ 2 = 2",
              "Toy.zero_right": "a : Nat\n⊢ a + 0 = a"},
    "moves": {
        "a : Nat\n⊢ a + 0 = a": {"exact Nat.add_zero a": "no goals", "exact zero_right a": "no goals"},
        S0: {"have h' : a + 0 = a := by": S_HAVE},
        S_HAVE: {"constructor": S_SPLIT},
        LEFT: {"rw [h']": "case left\na b : Nat\nh : a ≤ b\nh' : a + 0 = a\n⊢ a ≤ b"},
        "case left\na b : Nat\nh : a ≤ b\nh' : a + 0 = a\n⊢ a ≤ b": {"exact h": "no goals"},
        RIGHT: {"exact h": "no goals"},
        "a b : Nat\nh : a ≤ b\n⊢ a + 0 = a": {"simp [Nat.add_zero]": "no goals"},
    },
    "blocks": {"have h' : a + 0 = a := by": "a b : Nat\nh : a ≤ b\n⊢ a + 0 = a"},
    "constants": {"Nat.add_zero": {"module": "Init.Core", "kind": "theorem", "type": "∀ (n : Nat), n + 0 = n",
                                   "range": [300, 0, 301, 20], "selection": [300, 8, 300, 20]}},
    "noise": {"rw": ["Eq.mpr", "congrArg"], "exact": ["HAdd.hAdd"]},
}
BASIC = """namespace Toy

/-- doc -/
theorem zero_right (a : Nat) : a + 0 = a := by
  exact Nat.add_zero a

theorem both (a b : Nat) (h : a ≤ b) : a + 0 ≤ b ∧ a ≤ b := by
  have h' : a + 0 = a := by
    simp [Nat.add_zero]
  constructor
  · rw [h']
    exact h
  · exact h

def helper : Nat := 2

end Toy
"""
USE = """import Toy.Basic

namespace Toy.Use

theorem again (a : Nat) : a + 0 = a := by
  exact zero_right a

theorem todo : 2 = 2 := by
  sorry

end Toy.Use
"""


def _trace(tmp_path, monkeypatch, script=SCRIPT, files=None):
    fake = install(tmp_path, monkeypatch, script)
    root = project(tmp_path / "toy", files or {"Toy/Basic.lean": BASIC, "Toy/Use.lean": USE})
    record, counts = repl_trace(root, "toy", options=fake.options, lean_version="v4.15.0")
    return fake, record, counts


def test_steps_in_leandojo_order_with_states_and_premises(tmp_path, monkeypatch):
    fake, record, counts = _trace(tmp_path, monkeypatch)
    thms = {t.full_name: t for t in record.theorems}
    assert set(thms) == {"Toy.zero_right", "Toy.both", "Toy.Use.again", "Toy.Use.todo"}  # no def
    both = thms["Toy.both"]
    assert both.file_path == "Toy/Basic.lean" and both.start == (7, 1) and both.end == (13, 12)
    assert both.statement == "theorem Toy.both (a b : Nat) (h : a ≤ b) : a + 0 ≤ b ∧ a ≤ b"
    # The outer sequence first (the `·` steps dropped), then the nested ones, as LeanDojo lists them.
    assert [s.tactic for s in both.steps] == ["have h' : a + 0 = a := by\n  simp [Nat.add_zero]", "constructor",
                                              "simp [Nat.add_zero]", "rw [h']", "exact h", "exact h"]
    assert [(s.state_before, s.state_after) for s in both.steps[1:3]] == [
        (S_HAVE, S_SPLIT), ("a b : Nat\nh : a ≤ b\n⊢ a + 0 = a", "no goals")]
    assert both.steps[3].state_before == LEFT and both.steps[5].state_before == RIGHT
    have = both.steps[0]
    assert have.annotated_tactic == "have h' : a + 0 = a := by\n  simp [<a>Nat.add_zero</a>]"
    p = have.premises[0]
    assert (p.full_name, p.path, p.start, p.end) == (
        "Nat.add_zero", ".lake/packages/lean4/src/lean/Init/Core.lean", (300, 9), (300, 21))
    # A premise of another file of the repository: its file and the name's position there.
    again = thms["Toy.Use.again"].steps[0]
    assert again.annotated_tactic == "exact <a>zero_right</a> a"
    assert [(q.full_name, q.path, q.start) for q in again.premises] == [("Toy.zero_right", "Toy/Basic.lean",
                                                                          (4, 9))]
    assert thms["Toy.Use.todo"].is_sorry and thms["Toy.Use.todo"].steps[0].tactic == "sorry"
    files = {f.path: f for f in record.files}
    assert files["Toy/Use.lean"].imports == [".lake/packages/lean4/src/lean/Init.lean", "Toy/Basic.lean"]
    assert files["Toy/Use.lean"].content == USE and files["Toy/Basic.lean"].content is None
    corpus = {p.full_name: p for p in record.premises}
    assert {"Toy.zero_right", "Toy.both", "Toy.helper", "Nat.add_zero"} <= set(corpus)
    assert corpus["Toy.zero_right"].start == (4, 1) and corpus["Nat.add_zero"].code.startswith("theorem Nat.add_zero")
    assert corpus["Toy.helper"].code == "def Toy.helper : Nat" and corpus["Toy.zero_right"].kind == "theorem"
    assert record.tracer == "repl" and counts.failed == 0 and counts.steps == 9
    # Each file elaborated once (header, body), plus one premise request where a file needs one.
    cmds = [r for r in requests(fake.log) if "cmd" in r]
    assert sum(1 for r in cmds if r.get("allTactics")) == 2 and len(cmds) <= 6


def test_premises_fall_back_to_check(tmp_path, monkeypatch):
    _, record, counts = _trace(tmp_path, monkeypatch, {**SCRIPT, "premise_program_error": "unknown constant"})
    have = next(t for t in record.theorems if t.full_name == "Toy.both").steps[0]
    assert [(p.full_name, p.path) for p in have.premises] == [("Nat.add_zero", UNRESOLVED)]
    assert counts.unresolved == 2 and "#check" in counts.line()


def test_a_file_with_errors_is_an_error_row_and_others_go_on(tmp_path, monkeypatch):
    broken = BASIC.replace("  exact Nat.add_zero a", "  exact nonsense")
    _, record, counts = _trace(tmp_path, monkeypatch, files={"Toy/Basic.lean": broken, "Toy/Use.lean": USE})
    files = {f.path: f for f in record.files}
    assert "unknown tactic 'exact nonsense'" in files["Toy/Basic.lean"].error
    assert files["Toy/Use.lean"].error is None
    names = {t.full_name for t in record.theorems}
    assert "Toy.zero_right" not in names and {"Toy.both", "Toy.Use.todo"} <= names
    assert counts.failed == 1 and counts.dropped == 1


def test_a_repl_that_dies_mid_file(tmp_path, monkeypatch):
    script = {**SCRIPT, "crash_on": ["theorem both"]}
    _, record, counts = _trace(tmp_path, monkeypatch, script)
    files = {f.path: f for f in record.files}
    assert "crashed" in files["Toy/Basic.lean"].error
    assert files["Toy/Use.lean"].error is None and counts.failed == 1
    assert {t.full_name for t in record.theorems} >= {"Toy.Use.todo"}


def test_unbuilt_dependencies_stop_with_the_fix(tmp_path, monkeypatch):
    with pytest.raises(DependenciesNotBuilt) as err:
        _trace(tmp_path, monkeypatch, {**SCRIPT, "unbuilt": True})
    line = err.value.one_line()
    assert "Toy.Basic" in line and "lake exe cache get" in line and "lake build" in line


# -- choosing the tracer -------------------------------------------------------------------------


def test_tracer_choice_by_option_entry_and_version(db, tmp_path, monkeypatch, run_cli, db_url):
    from leanagent.config import PathEntry, parse_repos
    from leanagent.errors import ConfigError
    from leanagent.sources.sync import sync_entry

    install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC, "Toy/Use.lean": USE})
    entry = parse_repos(f"repos:\n  - path: {root}\n    name: toy\n    tracer: leandojo\n", "repos.yaml").repos[0]
    assert entry.tracer == "leandojo"
    # LeanDojo asked for by name: lean-dojo traces git commits only, so this folder is scanned.
    assert sync_entry(db, entry, cache=tmp_path / "cache").message.startswith("scan only")
    result = sync_entry(db, entry, cache=tmp_path / "cache", tracer="repl")  # --tracer repl over the entry
    assert result.action == "updated" and result.ingest["steps"] == 9
    with pytest.raises(ConfigError):  # --tracer of learn and nightly takes any text: checked here
        sync_entry(db, entry, cache=tmp_path / "cache", tracer="lean-dojo")
    auto = sync_entry(db, PathEntry(path=root, name="toy-auto"), cache=tmp_path / "cache")
    assert auto.message.startswith("traced with the Lean REPL")  # auto: past LeanDojo's range
    db.dispose()
    code, out, _ = run_cli("--db", db_url, "db", "stats", "--json")
    assert code == 0 and {r["repository"]: r["tracer"] for r in json.loads(out)["repositories"]} == {
        "toy": "repl", "toy-auto": "repl"}


def test_trace_command_takes_tracer(tmp_path, monkeypatch, run_cli, db_url):
    install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC, "Toy/Use.lean": USE})
    repos = tmp_path / "repos.yaml"
    repos.write_text(f"repos:\n  - path: {root}\n    name: toy\n    tracer: leandojo\n")
    code, out, err = run_cli("--db", db_url, "trace", "--repos", repos, "--tracer", "repl", "--json")
    assert code == 0, err
    code, out, _ = run_cli("--db", db_url, "db", "stats")
    assert "repl" in out and "toy" in out


# -- re-tracing what changed, resuming after a kill -------------------------------------------------


def _bodies(fake) -> list[str]:
    """The files whose body the REPL elaborated (the requests that asked for tactics)."""
    return [r["cmd"].split("\n")[1] if r["cmd"].startswith("\n") else r["cmd"].split("\n")[0]
            for r in requests(fake.log) if r.get("allTactics")]


def test_only_changed_files_and_their_importers_are_traced_again(tmp_path, monkeypatch):
    fake = install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC, "Toy/Use.lean": USE})
    cache = tmp_path / "trace-cache"

    def trace():
        before = len(_bodies(fake))
        record, counts = repl_trace(root, "toy", options=fake.options, lean_version="v4.15.0", cache_dir=cache)
        return record, counts, len(_bodies(fake)) - before

    first, _, n = trace()
    assert n == 2
    again, counts, n = trace()
    assert n == 0 and counts.cached == 2 and counts.requests == 0  # nothing changed: no REPL request at all
    assert [(t.full_name, [s.tactic for s in t.steps]) for t in again.theorems] == \
        [(t.full_name, [s.tactic for s in t.steps]) for t in first.theorems]
    (root / "Toy/Use.lean").write_text(USE.replace("theorem todo", "-- edited\ntheorem todo"))
    _, counts, n = trace()
    assert n == 1 and counts.cached == 1  # Use.lean only: nothing imports it
    (root / "Toy/Basic.lean").write_text(BASIC.replace("def helper", "-- edited\ndef helper"))
    _, counts, n = trace()
    assert n == 2 and counts.cached == 0  # Basic.lean and Use.lean, which imports it


def test_a_killed_trace_resumes_at_the_file_it_was_on(tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys
    import time

    fake = install(tmp_path, monkeypatch, {**SCRIPT, "slow": ["exact zero_right a"]})  # Use.lean hangs
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC, "Toy/Use.lean": USE})
    cache = tmp_path / "trace-cache"
    code = ("import sys; from leanagent.lean.repl import ReplOptions; "
            "from leanagent.sources.repl_trace import repl_trace; "
            f"repl_trace({str(root)!r}, 'toy', options=ReplOptions(path={fake.options.path!r}, "
            f"lake={fake.options.lake!r}), lean_version='v4.15.0', cache_dir={str(cache)!r})")
    proc = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy(), start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        # Wait (polling, no fixed sleep) until Basic.lean is traced and written and the REPL is stuck in Use.lean.
        while not (list(cache.glob("*.json")) and len(_bodies(fake)) == 2):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the tracer and the REPL it started
        proc.wait()
    fake2 = install(tmp_path, monkeypatch, SCRIPT)
    record, counts = repl_trace(root, "toy", options=fake2.options, lean_version="v4.15.0", cache_dir=cache)
    assert counts.cached == 1 and len(_bodies(fake2)) == 3  # only Use.lean elaborated again
    assert {t.full_name for t in record.theorems} == {"Toy.zero_right", "Toy.both", "Toy.Use.again", "Toy.Use.todo"}


def test_a_pool_of_repls_gives_the_same_records(tmp_path, monkeypatch, run_cli, db_url):
    from tests.fake_repl.stand_in import launches

    goals = {**SCRIPT["goals"], "Toy.More.again": "a : Nat\n⊢ a + 0 = a", "Toy.More.todo": "⊢ 2 = 2"}
    fake = install(tmp_path, monkeypatch, {**SCRIPT, "goals": goals})
    files = {"Toy/Basic.lean": BASIC, "Toy/Use.lean": USE, "Toy/More.lean": USE.replace("Toy.Use", "Toy.More")}
    root = project(tmp_path / "toy", files)
    one, _ = repl_trace(root, "toy", options=fake.options, lean_version="v4.15.0")
    assert len(launches(fake.log)) == 1
    pooled, counts = repl_trace(root, "toy", options=fake.options, lean_version="v4.15.0", workers=2)
    assert len(launches(fake.log)) == 3  # two more REPL processes, one per worker
    assert [(t.file_path, t.full_name, [(s.tactic, s.state_after) for s in t.steps]) for t in pooled.theorems] == \
        [(t.file_path, t.full_name, [(s.tactic, s.state_after) for s in t.steps]) for t in one.theorems]
    assert counts.steps == 11 and counts.failed == 0 and counts.requests >= 3
    repos = tmp_path / "repos.yaml"
    repos.write_text(f"repos:\n  - path: {root}\n    name: toy\n")
    code, _, err = run_cli("--db", db_url, "trace", "--repos", repos, "--workers", "2")
    assert code == 0, err
    code, _, err = run_cli("--db", db_url, "trace", "--repos", repos, "--workers", "0")
    assert code == 1 and "--workers 0" in err


# -- real Lean -------------------------------------------------------------------------------------

REAL = """theorem both (a b : Nat) (h : a ≤ b) : a + 0 ≤ b ∧ a ≤ b := by
  have h' : a + 0 = a := by
    rw [Nat.add_zero]
  constructor
  · rw [h']
    exact h
  · exact h
"""


@pytest.mark.lean
def test_real_lean_traces_nested_steps_and_resolves_premises(tmp_path):
    from tests.prover.test_leaninteract_env import _installed_lean

    from leanagent.lean.versions import leaninteract_supports

    version = _installed_lean()
    if version is None or not leaninteract_supports(version):
        pytest.skip("needs a Lean toolchain lean-interact supports (elan; LEANAGENT_REPL_PATH offline)")
    root = project(tmp_path / "toy", {"Toy/Basic.lean": REAL}, version=version)
    record, counts = repl_trace(root, "toy", lean_version=version)
    (thm,) = record.theorems
    tactics = [s.tactic for s in thm.steps]
    assert tactics[:2] == ["have h' : a + 0 = a := by\n  rw [Nat.add_zero]", "constructor"]
    assert "rw [Nat.add_zero]" in tactics and counts.unresolved == 0  # the premise program ran
    p = next(p for s in thm.steps for p in s.premises if p.full_name == "Nat.add_zero")
    assert p.path.startswith(".lake/packages/lean4/src/lean/Init/") and p.start is not None
