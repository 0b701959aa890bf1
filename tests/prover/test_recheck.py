"""The whole-file re-check, with the stand-in REPL (LeanInteract) and the stand-in `lake env lean` (LeanDojo)."""

from __future__ import annotations

import pytest

from leanagent.db.proof_checks import TheoremSource
from leanagent.prover.env import TheoremRef
from leanagent.prover.leandojo_env import LeanLimits
from leanagent.prover.leaninteract_env import LeanInteractEnv
from leanagent.prover.recheck import Rechecker, judge, lake_check, placed
from leanagent.prover.search import SearchResult
from leanagent.sources.repl import Message
from tests.fake_repl.stand_in import install, project, requests

GOAL = "n : Nat\n⊢ n + 0 = n"
SCRIPT = {"goals": {"add_zero'": GOAL, "early": "⊢ True"},
          "moves": {GOAL: {"simp": "no goals", "exact?": "no goals", "skip": GOAL}},
          # accepted as a proof step, refused when the file is elaborated (Pantograph issue 1)
          "file_reject": {"exact?": "`exact?` could not close the goal. Try `apply?` to see partial suggestions."}}
TEXT = """import Init

theorem early : True := by
  broken_tactic

theorem add_zero' (n : Nat) : n + 0 = n := by
  sorry

theorem later : True := by
  sorry
"""
REF = TheoremRef(id=7, repo="toy", file_path="Toy/Basic.lean", full_name="add_zero'", start=(6, 1))


@pytest.fixture
def setup(tmp_path, monkeypatch):
    fake = install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/Basic.lean": TEXT})
    src = TheoremSource(7, "toy", "path", str(root), "v4.15.0", "Toy/Basic.lean", (6, 1), (7, 7), "by\n  sorry", None)
    fake.root, fake.src = root, src
    return fake


def proved(tactics) -> SearchResult:
    return SearchResult(theorem=REF, outcome="proved", proof=list(tactics),
                        states=[GOAL] + ["x"] * (len(tactics) - 1) + ["no goals"])


def test_placed_is_the_patch_text(setup):
    new_text, first, last = placed(TEXT, setup.src, ["skip", "simp"])
    assert "theorem add_zero' (n : Nat) : n + 0 = n := by\n  skip\n  simp\n\ntheorem later" in new_text
    assert (first, last) == (6, 8)


def test_repl_recheck_verifies_and_rejects(setup):
    env = LeanInteractEnv(LeanLimits(init_timeout=20), setup.options, sources=lambda r: setup.src)
    checker = Rechecker(env, env.source)
    try:
        good = checker.apply(proved(["simp"]))
        # `early` has an error before the declaration: it cannot come from the proof and is ignored.
        assert good.outcome == "proved" and (good.check_status, good.checked_by) == ("verified", "repl")
        bad = checker.apply(proved(["exact?"]))
        assert bad.outcome == "rejected" and bad.check_status == "rejected" and bad.proof == ["exact?"]
        assert "7:2: error: `exact?` could not close the goal" in bad.error
    finally:
        env.close()
    cmds = [r["cmd"] for r in requests(setup.log) if "cmd" in r]
    assert cmds.count("import Init\n") == 1  # the header environment is reused by the second check
    assert all("\n  simp\n" in c or "\n  exact?\n" in c for c in cmds[1:])


def test_lake_recheck_for_the_leandojo_backend(setup):
    class DojoLike:  # the LeanDojo backend has no REPL: the re-check runs `lake env lean`
        name = "leandojo"

    checker = Rechecker(DojoLike(), lambda r: setup.src, lake=setup.options.lake)
    assert checker.check(REF, ["simp"]).status == "verified"
    bad = checker.check(REF, ["exact?"])
    assert (bad.status, bad.checked_by) == ("rejected", "lake") and "`exact?` could not close" in bad.message
    assert (setup.root / "Toy/Basic.lean").read_text() == TEXT  # the checkout is never written


def test_unchecked_cases(setup, tmp_path):
    class Replay:
        name = "replay"

    assert Rechecker(Replay(), lambda r: setup.src).apply(proved(["simp"])).check_status == "unchecked"

    class DojoLike:
        name = "leandojo"

    gone = TheoremSource(7, "toy", "traced", None, None, "Toy/Basic.lean", (6, 1), (7, 7), None, TEXT)
    res = Rechecker(DojoLike(), lambda r: gone).apply(proved(["simp"]))
    assert res.outcome == "proved" and res.check_status == "unchecked" and "no local checkout" in res.check_message
    moved = TheoremSource(7, "toy", "path", str(setup.root), None, "Toy/Basic.lean", (1, 1), (1, 5), None, None)
    res = Rechecker(DojoLike(), lambda r: moved, lake=setup.options.lake).apply(proved(["simp"]))
    assert res.check_status == "unchecked" and "no `sorry` at the recorded position" in res.check_message
    no_lake = Rechecker(DojoLike(), lambda r: setup.src, lake=str(tmp_path / "no-lake")).check(REF, ["simp"])
    assert no_lake.status == "unchecked" and "not found" in no_lake.message


def test_judge():
    sorry = Message("warning", 6, 8, "declaration uses 'sorry'")
    assert judge([sorry], 6, 8) == "6:8: warning: declaration uses 'sorry'"
    assert judge([Message("warning", 9, 8, "declaration uses 'sorry'")], 6, 8) is None  # another declaration
    assert judge([Message("error", 2, 0, "unknown tactic")], 6, 8) is None  # before the declaration
    assert judge([Message("error", 12, 0, "type mismatch")], 6, 8) == "12:0: error: type mismatch"


def test_lake_check_parses_multiline_messages(setup):
    text = TEXT.replace("  sorry\n\ntheorem later", "  skip\n\ntheorem later")
    msgs = lake_check(setup.root, "Toy/Basic.lean", text, lake=setup.options.lake)
    unsolved = [m for m in msgs if "unsolved goals" in m.text]
    assert unsolved and unsolved[0].text == "unsolved goals\n" + GOAL and unsolved[0].line == 6
