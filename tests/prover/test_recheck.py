"""The whole-file re-check, with the stand-in REPL (LeanInteract) and the stand-in `lake env lean` (LeanDojo).

It fails closed (issue 23): only a file that Lean elaborated to its end, with no error and an axioms
answer of at most propext, Classical.choice and Quot.sound, verifies a proof; the proof goes into the
theorem named in the database, wherever the file now has it.
"""

from __future__ import annotations

import pytest

from leanagent.db.proof_checks import TheoremSource
from leanagent.lean.axioms import axioms_probe
from leanagent.data import TheoremRef
from leanagent.prover.leandojo_env import LeanLimits
from leanagent.prover.leaninteract_env import LeanInteractEnv, find_declaration
from leanagent.lean.proof_text import Location
from leanagent.lean.check import LeanRun, judge, lake_check, parse_axioms, probe_file
from leanagent.prover.recheck import Rechecker
from leanagent.prover.search import SearchResult
from leanagent.lean.repl import Message
from tests.fake_repl.stand_in import install, project, requests
from tests.prover.test_safety import AXIOM_CAUGHT

GOAL = "n : Nat\n⊢ n + 0 = n"
SCRIPT = {"goals": {"add_zero'": GOAL, "early": "⊢ True"},
          "moves": {GOAL: {"simp": "no goals", "exact?": "no goals", "skip": GOAL,
                           "exact earlier_sorry_lemma": "no goals", "exact native_lemma": "no goals",
                           "exact cheat_axiom": "no goals", "exact classical_lemma": "no goals"},
                    "⊢ True": {"trivial": "no goals", "native_decide": "no goals"}},
          # accepted as a proof step, refused when the file is elaborated (Pantograph issue 1)
          "file_reject": {"exact?": "`exact?` could not close the goal. Try `apply?` to see partial suggestions."},
          "axioms": {"native_decide": ["Lean.ofReduceBool"], "exact cheat_axiom": ["cheat_axiom"],
                     "exact classical_lemma": ["Classical.choice", "propext", "Quot.sound"]}}
TEXT = """import Init

theorem early : True := by
  trivial

theorem add_zero' (n : Nat) : n + 0 = n := by
  sorry

theorem later : True := by
  sorry
"""
REF = TheoremRef(id=7, repo="toy", file_path="Toy/Basic.lean", full_name="add_zero'", start=(6, 1))
LOC = Location(REF.full_name, REF.start[0], REF.file_path)


def source(root, text=None, start=(6, 1)) -> TheoremSource:
    return TheoremSource(7, "toy", "path", str(root), "v4.15.0", "Toy/Basic.lean", start, (7, 7), "by\n  sorry", text)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    def make(text=TEXT, **script):
        fake = install(tmp_path, monkeypatch, {**SCRIPT, **script})
        fake.root = project(tmp_path / "toy", {"Toy/Basic.lean": text})
        fake.src = source(fake.root)
        return fake
    return make


class DojoLike:  # the LeanDojo backend has no REPL: the re-check runs `lake env lean`
    name = "leandojo"


def proved(tactics) -> SearchResult:
    return SearchResult(theorem=REF, outcome="proved", proof=list(tactics),
                        states=[GOAL] + ["x"] * (len(tactics) - 1) + ["no goals"])


def lake_checker(fake) -> Rechecker:
    return Rechecker(DojoLike(), lambda r: fake.src, lake=fake.options.lake, timeout=5)


def test_probe_file_is_the_patch_text_plus_the_axioms_question():
    checked, first, last, probe, at = probe_file(TEXT, LOC, ["skip", "simp"])
    assert "theorem add_zero' (n : Nat) : n + 0 = n := by\n  skip\n  simp\n\ntheorem later" in checked
    assert (first, last) == (6, 8)
    assert checked.split("\n")[probe - 1] == "#print axioms «add_zero'»" == axioms_probe("add_zero'")


def test_repl_recheck_verifies_and_rejects(setup):
    fake = setup()
    env = LeanInteractEnv(LeanLimits(init_timeout=20), fake.options, sources=lambda r: fake.src)
    checker = Rechecker(env, env.source)
    try:
        good = checker.apply(proved(["simp"]))
        assert good.outcome == "proved" and (good.check_status, good.checked_by) == ("verified", "repl")
        assert good.axioms == [] and good.statement_digest and good.checked_file_digest
        bad = checker.apply(proved(["exact?"]))
        assert bad.outcome == "rejected" and bad.check_status == "rejected" and bad.proof == ["exact?"]
        assert "7:2: error: `exact?` could not close the goal" in bad.error
    finally:
        env.close()
    cmds = [r["cmd"] for r in requests(fake.log) if "cmd" in r]
    assert cmds.count("import Init\n") == 1  # the header environment is reused by the second check
    assert all("#print axioms «add_zero'»" in c for c in cmds[1:])


def test_lake_recheck_for_the_leandojo_backend(setup):
    fake = setup()
    good = lake_checker(fake).check(REF, ["simp"])
    assert (good.status, good.checked_by, good.axioms) == ("verified", "lake", ())
    bad = lake_checker(fake).check(REF, ["exact?"])
    assert (bad.status, bad.checked_by) == ("rejected", "lake") and "`exact?` could not close" in bad.message
    assert (fake.root / "Toy/Basic.lean").read_text() == TEXT  # the checkout is never written


@pytest.mark.parametrize("lake_script, why", [
    ({"check_crash": True}, "exit status 134: Stack overflow detected"),
    ({"check_header_error": "object file ./.lake/build/lib/Toy/Dep.olean of module Toy.Dep does not exist"},
     "error before the theorem"),
])
def test_lake_failures_before_the_theorem_never_verify(setup, lake_script, why):
    fake = setup(**lake_script)
    res = lake_checker(fake).apply(proved(["simp"]))
    assert res.outcome == "proved" and res.check_status == "unchecked" and why in res.check_message


def test_a_lake_timeout_is_unchecked(setup):
    fake = setup(check_slow=True)
    res = Rechecker(DojoLike(), lambda r: fake.src, lake=fake.options.lake, timeout=1).check(REF, ["simp"])
    assert res.status == "unchecked" and "did not finish within 1s" in res.message


def test_an_error_before_the_theorem_is_no_verdict(setup):
    fake = setup(TEXT.replace("  trivial\n", "  broken_tactic\n", 1))
    for checker in (lake_checker(fake), Rechecker(LeanInteractEnv(LeanLimits(init_timeout=20), fake.options),
                                                  lambda r: fake.src)):
        res = checker.check(REF, ["simp"])
        assert res.status == "unchecked" and "error before the theorem" in res.message
        assert "unknown tactic 'broken_tactic'" in res.message
        getattr(checker.env, "close", lambda: None)()


@pytest.mark.parametrize("tactic, status, said", [
    ("exact earlier_sorry_lemma", "rejected", "sorryAx"),
    ("exact native_lemma", "flagged", "native: the theorem depends on Lean.ofReduceBool"),
    ("exact cheat_axiom", "flagged", "axioms: the theorem depends on cheat_axiom"),
    ("exact classical_lemma", "verified", None),
])
def test_axioms_decide(setup, tactic, status, said):
    # Lean warns about `sorry` only in the declaration that holds it: a proof through an earlier `sorry`
    # lemma elaborates without a warning. Its axioms tell.
    lemmas = ("theorem earlier_sorry_lemma : True := by\n  sorry\n\n"
              "theorem native_lemma : True := by\n  native_decide\n\n")
    fake = setup(TEXT.replace("theorem early", lemmas + "theorem early"))
    fake.src = source(fake.root, start=(12, 1))
    for checker in (lake_checker(fake), Rechecker(LeanInteractEnv(LeanLimits(init_timeout=20), fake.options),
                                                  lambda r: fake.src)):
        res = checker.check(REF, [tactic])
        assert res.status == status, res.message
        assert (said is None and res.message is None) or said in res.message
        getattr(checker.env, "close", lambda: None)()
    assert tactic in AXIOM_CAUGHT or status == "verified"


def test_the_proof_goes_into_the_named_theorem_after_the_file_moved(setup):
    # A `sorry` helper added above the theorem after it was traced: the recorded line now points at it.
    moved = TEXT.replace("theorem add_zero'", "theorem helper : True := by\n  sorry\n\ntheorem add_zero'")
    fake = setup(moved)
    for checker in (lake_checker(fake), Rechecker(LeanInteractEnv(LeanLimits(init_timeout=20), fake.options),
                                                  lambda r: fake.src)):
        res = checker.check(REF, ["simp"])
        assert res.status == "verified", res.message
        getattr(checker.env, "close", lambda: None)()
    checked = probe_file(moved, LOC, ["simp"])[0]
    assert "theorem helper : True := by\n  sorry\n" in checked  # the neighbour keeps its sorry
    assert "theorem add_zero' (n : Nat) : n + 0 = n := by\n  simp\n" in checked
    assert find_declaration(moved, REF).name == "add_zero'"  # the REPL backend opens the same theorem


def test_a_theorem_gone_from_its_file_is_refused_with_one_line(setup):
    fake = setup(TEXT.replace("add_zero'", "add_zero_renamed"))
    res = lake_checker(fake).check(REF, ["simp"])
    assert res.status == "unchecked" and "add_zero' is not declared in Toy/Basic.lean as it is now" in res.message
    assert "\n" not in res.message


def test_unchecked_cases(setup, tmp_path):
    fake = setup()

    class Replay:
        name = "replay"

    assert Rechecker(Replay(), lambda r: fake.src).apply(proved(["simp"])).check_status == "unchecked"
    gone = TheoremSource(7, "toy", "traced", None, None, "Toy/Basic.lean", (6, 1), (7, 7), None, TEXT)
    res = Rechecker(DojoLike(), lambda r: gone).apply(proved(["simp"]))
    assert res.outcome == "proved" and res.check_status == "unchecked" and "no local checkout" in res.check_message
    no_lake = Rechecker(DojoLike(), lambda r: fake.src, lake=str(tmp_path / "no-lake")).check(REF, ["simp"])
    assert no_lake.status == "unchecked" and "not found" in no_lake.message
    anonymous = TheoremRef(id=7, repo="toy", file_path="Toy/Basic.lean", full_name="<example@3>", start=(3, 1))
    assert lake_checker(fake).check(anonymous, ["simp"]).status == "unchecked"


def run(*messages, finished=True, output="") -> LeanRun:
    return LeanRun(list(messages), finished, None if finished else "exit status 137", output)


def test_judge():
    ok = Message("info", 12, 0, "'t' depends on axioms: [propext]")
    sorry = Message("warning", 6, 8, "declaration uses 'sorry'")
    assert judge(run(sorry, ok), 6, 8, 12, "t")[:2] == ("rejected", "6:8: warning: declaration uses 'sorry'")
    assert judge(run(Message("warning", 9, 8, "declaration uses 'sorry'"), ok), 6, 8, 12, "t") \
        == ("verified", None, ("propext",))  # another declaration's warning
    assert judge(run(Message("error", 2, 0, "unknown tactic"), ok), 6, 8, 12, "t")[0] == "unchecked"
    assert judge(run(Message("error", 10, 0, "type mismatch"), ok), 6, 8, 12, "t")[:2] \
        == ("rejected", "10:0: error: type mismatch")
    assert judge(run(ok, finished=False), 6, 8, 12, "t")[0] == "unchecked"  # killed at the end
    assert judge(run(), 6, 8, 12, "t")[:2] == ("unchecked", "Lean gave no `#print axioms` answer for the theorem")
    assert judge(run(Message("error", 12, 0, "unknown constant 't'")), 6, 8, 12, "t")[0] == "unchecked"


def test_axioms_answers_in_every_shape():
    positioned = run(Message("info", 12, 0, "'Foo.bar'' depends on axioms: [propext,\n Classical.choice]"))
    assert parse_axioms(positioned, 12, "Foo.bar'") == ("propext", "Classical.choice")
    # Some `lean` releases print info messages without a position; only an answer naming the theorem counts.
    bare = run(output="'other' does not depend on any axioms\n'Foo.bar'' depends on axioms: [sorryAx]\n")
    assert parse_axioms(bare, 12, "Foo.bar'") == ("sorryAx",)
    assert parse_axioms(run(output="'other' depends on axioms: [propext]\n"), 12, "Foo.bar'") is None
    assert parse_axioms(run(Message("info", 12, 0, "'x' does not depend on any axioms")), 12, "x") == ()


def test_lake_bare_info_output_is_read(setup):
    fake = setup(bare_info=True)
    assert lake_checker(fake).check(REF, ["simp"]).status == "verified"


def test_lake_check_parses_multiline_messages(setup):
    fake = setup()
    text = TEXT.replace("  sorry\n\ntheorem later", "  skip\n\ntheorem later")
    run_ = lake_check(fake.root, "Toy/Basic.lean", text, lake=fake.options.lake)
    unsolved = [m for m in run_.messages if "unsolved goals" in m.text]
    assert unsolved and unsolved[0].text == "unsolved goals\n" + GOAL and unsolved[0].line == 6
    assert run_.finished  # exit 1 with its errors printed: Lean ran to the end
