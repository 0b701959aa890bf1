"""What the whole-file re-check measures (leanagent.lean.measure, issue 28): Lean's profiler messages per
declaration, the proof's lines and warnings, with the stand-in REPL and `lake env lean` answering the
profiler as Lean does (tests/fake_repl/repl: `timing`, `lint`)."""

from __future__ import annotations

import pytest

from leanagent.db.proof_checks import TheoremSource
from leanagent.data import TheoremRef
from leanagent.lean.check import LeanRun, judge, lake_check, probe_file
from leanagent.lean.measure import (PROFILER, measure, profile_by_declaration, profile_lines, proof_warnings,
                                    tactic_lines, try_this, unshift, with_profiler)
from leanagent.lean.proof_text import Location
from leanagent.lean.repl import Message
from leanagent.prover.leandojo_env import LeanLimits
from leanagent.prover.leaninteract_env import LeanInteractEnv
from leanagent.prover.recheck import Rechecker
from tests.fake_repl.stand_in import install, project

GOAL = "n : Nat\n⊢ n + 0 = n"
UNUSED = "unused variable `h`\nnote: this linter can be disabled with `set_option linter.unusedVariables false`"
SCRIPT = {"goals": {"t": GOAL}, "moves": {GOAL: {"skip": GOAL, "simp": "no goals", "exact?": "no goals"},
                                          "⊢ True": {"trivial": "no goals"}},
          "file_reject": {"exact?": "`exact?` could not close the goal"},
          "timing": {"simp": 1500, "trivial": 40}, "lint": {"skip": UNUSED}}
TEXT = "import Init\n\ntheorem early : True := by\n  trivial\n\ntheorem t (n : Nat) : n + 0 = n := by\n  sorry\n"
REF = TheoremRef(id=1, repo="toy", file_path="Toy/A.lean", full_name="t", start=(6, 1))


def test_profile_lines_in_ms_and_s_several_in_one_message():
    text = ("elaboration took 101ms\ntactic execution of Lean.Parser.Tactic.simp took 1.2s\n"
            "type checking took 335ms\nsomething else\nlinting took 2000 heartbeats")
    assert profile_lines(text) == [(pytest.approx(0.101), None), (1.2, None), (pytest.approx(0.335), None),
                                   (None, 2000)]
    spans = [(3, 4), (6, 9), (11, 12)]
    msgs = [Message("info", 6, 0, text), Message("info", 7, 2, "simp took 5ms"),
            Message("info", 3, 0, "'early' does not depend on any axioms"),  # no profile line: not a measure
            Message("warning", 11, 0, "elaboration took 9s")]  # only info messages are the profiler's
    prof = profile_by_declaration(msgs, spans)
    assert prof[0] is None and prof[2] is None  # unmeasured
    assert prof[1] == {"seconds": pytest.approx(1.641), "heartbeats": 2000}


def test_unshift_keeps_the_verdict_of_the_unprofiled_file(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/A.lean": TEXT})
    loc = Location("t", 6, "Toy/A.lean")
    for tactics, status in ((["skip", "simp"], "verified"), (["exact?"], "rejected"), (["skip"], "rejected")):
        checked, first, last, probe, _ = probe_file(TEXT, loc, tactics)
        profiled, after = with_profiler(checked)
        assert profiled.startswith("import Init\n" + PROFILER) and after == 1
        plain = lake_check(root, "Toy/A.lean", checked)
        mapped = unshift(lake_check(root, "Toy/A.lean", profiled).messages, after)
        assert [m for m in mapped if "took" not in m.text] == plain.messages  # the same lines, the same words
        verdict = judge(plain, first, last, probe, "t")
        assert verdict[0] == status
        assert judge(LeanRun(mapped), first, last, probe, "t") == verdict


def test_unshift_keeps_an_error_on_the_inserted_lines_before_the_theorem():
    msgs = [Message("error", 3, 0, "unknown option"), Message("info", 2, 0, "x"), Message("info", 9, 0, "y")]
    assert unshift(msgs, 1) == [Message("error", 1, 0, "unknown option"), Message("info", 7, 0, "y")]
    assert with_profiler("import Init")[0] == "import Init\n" + PROFILER  # a header without a final newline
    assert with_profiler("theorem x : True := trivial\n") == (PROFILER + "theorem x : True := trivial\n", 0)


def test_warnings_on_the_proof_lines_only():
    msgs = [Message("warning", 6, 10, "unused variable `n`"),  # on the statement: not the proof's
            Message("warning", 8, 2, UNUSED), Message("warning", 7, 0, "declaration uses 'sorry'"),
            Message("warning", 7, 2, "this tactic is never executed"), Message("error", 7, 2, "boom"),
            Message("warning", 12, 0, "another declaration's")]
    assert proof_warnings(msgs, 7, 9) == ["this tactic is never executed", "unused variable `h`"]


def test_measure_counts_lines_and_takes_the_file_median():
    msgs = [Message("info", 1, 0, "elaboration took 10ms"), Message("info", 3, 0, "elaboration took 30ms"),
            Message("info", 5, 0, "elaboration took 1s")]
    m = measure(msgs, [(1, 2), (3, 4), (5, 9), (10, 11)], 2, (6, 9))
    assert m == {"seconds": 1.0, "file_median_seconds": 0.03, "heartbeats": None, "lines": 4, "warnings": []}
    assert measure([], [(5, 9)], 0, (6, 6))["seconds"] is None  # no profile message: unmeasured
    assert tactic_lines(["intro h", "have : x := by\n  simp", "omega"], 7) == [7, 8, 10]


def test_try_this_reads_the_suggestion_at_its_line():
    msgs = [Message("info", 8, 2, "Try this: simp only [Nat.add_zero,\n    foo]"),
            Message("info", 9, 2, "Try this: simp only [bar]")]
    assert try_this(msgs, 8) == "simp only [Nat.add_zero, foo]"
    assert try_this(msgs, 7) is None


@pytest.mark.parametrize("backend", ["repl", "lake"])
def test_the_recheck_measures_the_found_proof(tmp_path, monkeypatch, backend):
    fake = install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/A.lean": TEXT})
    src = TheoremSource(1, "toy", "path", str(root), "v4.15.0", "Toy/A.lean", (6, 1), (7, 7), "by\n  sorry", None)

    class DojoLike:
        name = "leandojo"

    env = LeanInteractEnv(LeanLimits(init_timeout=20), fake.options, sources=lambda r: src) \
        if backend == "repl" else DojoLike()
    try:
        res = Rechecker(env, lambda r: src, lake=fake.options.lake).check(REF, ["skip", "simp"])
    finally:
        getattr(env, "close", lambda: None)()
    assert (res.status, res.checked_by) == ("verified", backend)
    # skip 1 ms + simp 1.5 s + type checking 0.1 ms; early: trivial 40 ms + 0.1 ms; `t` and `early` give the median
    assert res.measures == {"seconds": pytest.approx(1.5011), "file_median_seconds": pytest.approx((1.5011 + 0.0401) / 2),
                            "heartbeats": None, "lines": 2, "warnings": ["unused variable `h`"]}
    assert res.proof_line == 7


def test_lake_without_positions_is_unmeasured_with_the_same_verdict(tmp_path, monkeypatch):
    fake = install(tmp_path, monkeypatch, {**SCRIPT, "bare_info": True})
    root = project(tmp_path / "toy", {"Toy/A.lean": TEXT})
    src = TheoremSource(1, "toy", "path", str(root), "v4.15.0", "Toy/A.lean", (6, 1), (7, 7), "by\n  sorry", None)

    class DojoLike:
        name = "leandojo"

    res = Rechecker(DojoLike(), lambda r: src, lake=fake.options.lake).check(REF, ["simp"])
    assert res.status == "verified"
    assert res.measures["seconds"] is None and res.measures["file_median_seconds"] is None
    assert res.measures["lines"] == 1


def test_replay_results_have_no_measures():
    from leanagent.prover.search import SearchResult

    class Replay:
        name = "replay"

    res = Rechecker(Replay(), lambda r: None).apply(SearchResult(theorem=REF, outcome="proved", proof=["simp"]))
    assert res.check_status == "unchecked" and res.measures is None  # no Lean ran
