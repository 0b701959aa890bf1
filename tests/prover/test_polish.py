"""Polishing found proofs (leanagent.prover.polish, issue 28) with the stand-in REPL: a variant is kept only when
the whole file still verifies, no slower than +10% and with no new warning; the found proof and its verdict stay."""

from __future__ import annotations

import pytest

from leanagent.data import TheoremRef
from leanagent.db.proof_checks import TheoremSource
from leanagent.prover.leandojo_env import LeanLimits
from leanagent.prover.leaninteract_env import LeanInteractEnv
from leanagent.prover.polish import PolishOptions, polish_result, refusal
from leanagent.prover.recheck import CheckResult, Rechecker
from leanagent.prover.search import SearchResult
from tests.fake_repl.stand_in import install, project, requests

GOAL, MID = "n : Nat\n⊢ n + 0 = n", "n : Nat\n⊢ n = n"
UNUSED = "unused variable `h`\nnote: this linter can be disabled with `set_option linter.unusedVariables false`"
SCRIPT = {"goals": {"t": GOAL},
          "moves": {GOAL: {"skip": GOAL, "unfold f": MID, "omega": "no goals", "decide": "no goals",
                           "simp": MID, "simp only [Nat.add_zero]": MID},
                    MID: {"rfl": "no goals"}},
          "simp_only": {GOAL: "simp only [Nat.add_zero]"}}
TEXT = "import Init\n\ntheorem t (n : Nat) : n + 0 = n := by\n  sorry\n"
REF = TheoremRef(id=1, repo="toy", file_path="Toy/A.lean", full_name="t", start=(3, 1))


@pytest.fixture
def polish(tmp_path, monkeypatch):
    """polish(found tactics, proposed=(), options=PolishOptions(), **script) -> (the result, the checker)."""
    envs = []

    def run(found, proposed=(), options=PolishOptions(), clock=None, **script):
        here = tmp_path / f"run{len(envs)}"  # each its own stand-in log
        fake = install(here, monkeypatch, {**SCRIPT, **script})
        root = project(here / "toy", {"Toy/A.lean": TEXT})
        src = TheoremSource(1, "toy", "path", str(root), "v4.15.0", "Toy/A.lean", (3, 1), (4, 7), "by\n  sorry", None)
        env = LeanInteractEnv(LeanLimits(init_timeout=20), fake.options, sources=lambda r: src)
        envs.append(env)
        checker = Rechecker(env, env.source)
        res = checker.apply(SearchResult(theorem=REF, outcome="proved", proof=list(found)))
        assert res.check_status == "verified", res.check_message
        extra = {"clock": clock} if clock else {}
        out = polish_result(res, checker, proposed, options, **extra)
        assert (out.proof, out.check_status, out.outcome) == (list(found), "verified", "proved")  # never changed
        out.checks = [r["cmd"] for r in requests(fake.log) if "cmd" in r and "#print axioms" in r["cmd"]]
        return out
    yield run
    for env in envs:
        env.close()


def test_a_redundant_tactic_is_dropped_and_a_needed_one_stays(polish):
    out = polish(["skip", "unfold f", "rfl"])
    assert out.polished == ["unfold f", "rfl"]
    assert out.polish["kept"] == ["drop 1: skip"] and out.polish["tried"] == 3  # dropping unfold or rfl breaks
    assert out.polish["budget_hit"] is False and out.polish["seconds"] >= 0
    assert out.measures["found"]["lines"] == 3 and out.measures["polished"]["lines"] == 2
    assert out.measures["polished"]["seconds"] < out.measures["found"]["seconds"]


def test_no_variant_is_kept_when_every_one_breaks_the_file(polish):
    out = polish(["unfold f", "rfl"])
    assert out.polished is None and out.polish["kept"] == [] and out.polish["tried"] == 2
    assert set(out.measures) == {"found"}
    # each try was a whole-file check: the drop of `unfold f` left `rfl` alone on the goal
    assert any(":= by\n  rfl\n" in c for c in out.checks)


def test_collapse_to_omega_only_when_the_search_proposed_it(polish):
    assert polish(["unfold f", "rfl"], proposed={"simp?", "decide?"}).polished is None
    out = polish(["unfold f", "rfl"], proposed={"omega", "rfl"})
    assert out.polished == ["omega"] and out.polish["kept"] == ["collapse: omega"] and out.polish["tried"] == 1


def test_a_slower_variant_is_refused(polish):
    # omega collapses the proof, but the profiler says it takes 1.5 s against the found proof's 2.1 ms
    out = polish(["unfold f", "rfl"], proposed={"omega"}, timing={"omega": 1500})
    assert out.polished is None and out.polish["tried"] == 3
    # within 10% it is kept: 2.3 ms against 2.1 ms (1 ms a tactic by default, 0.1 ms type checking)
    out = polish(["unfold f", "rfl"], proposed={"omega"}, timing={"omega": 2.2})
    assert out.polished == ["omega"]


def test_a_variant_with_a_new_warning_is_refused(polish):
    out = polish(["unfold f", "rfl"], proposed={"decide"}, lint={"decide": UNUSED})
    assert out.polished is None
    assert polish(["unfold f", "rfl"], proposed={"decide"}).polished == ["decide"]
    # a warning the found proof had already is no new one
    out = polish(["skip", "unfold f", "rfl"], lint={"unfold f": UNUSED})
    assert out.polished == ["unfold f", "rfl"] and out.measures["polished"]["warnings"] == ["unused variable `h`"]


def test_a_non_terminal_simp_becomes_the_simp_only_lean_suggests(polish):
    out = polish(["simp", "rfl"])
    assert out.polished == ["simp only [Nat.add_zero]", "rfl"]
    assert out.polish["kept"] == ["simp only 1: simp -> simp only [Nat.add_zero]"]
    assert any(":= by\n  simp?\n  rfl\n" in c for c in out.checks)  # Lean was asked with `simp?` in place
    # no suggestion (the script has none for this goal): the simp stays
    assert polish(["simp", "rfl"], simp_only={}).polished is None


def test_no_polish_and_a_zero_budget_try_nothing(polish):
    out = polish(["skip", "unfold f", "rfl"], options=PolishOptions(polish=False))
    assert out.polish == {"skipped": "--no-polish"} and out.polished is None and len(out.checks) == 1
    out = polish(["skip", "unfold f", "rfl"], options=PolishOptions(polish_seconds=0))
    assert out.polish == {"skipped": "no time: polish_seconds is 0"} and len(out.checks) == 1


def test_the_budget_stops_polishing_between_checks(polish):
    ticks = iter(range(0, 1000, 10))  # every clock reading is 10 s later: the 25 s budget allows two checks
    out = polish(["skip", "skip", "unfold f", "rfl"], options=PolishOptions(polish_seconds=25),
                 clock=lambda: next(ticks))
    assert out.polish["budget_hit"] is True and out.polish["tried"] == 2
    assert out.polished == ["unfold f", "rfl"] and out.polish["kept"] == ["drop 1: skip", "drop 1: skip"]


def test_refusal_rules():
    found = CheckResult("verified", "repl", axioms=("propext",), measures={"seconds": 1.0, "warnings": ["w"]})

    def variant(status="verified", axioms=("propext",), seconds=1.1, warnings=("w",)):
        return CheckResult(status, "repl", axioms=axioms, measures={"seconds": seconds, "warnings": list(warnings)})

    assert refusal(found, variant()) is None
    assert refusal(found, variant(status="flagged")) == "not verified (flagged)"
    assert refusal(found, variant(axioms=())) == "other axioms"
    assert refusal(found, variant(seconds=1.11)) == "slower"
    assert refusal(found, variant(seconds=None)) is None  # unmeasured: time does not decide
    assert refusal(found, variant(warnings=("w", "w"))) == "a new warning"


def test_replay_results_are_not_polished():
    res = SearchResult(theorem=REF, outcome="proved", proof=["simp"], check_status="unchecked",
                       check_message="replay: no Lean ran")
    out = polish_result(res, None, (), PolishOptions())
    assert out.polish == {"skipped": "no whole-file check ran: replay: no Lean ran"} and out.measures is None
