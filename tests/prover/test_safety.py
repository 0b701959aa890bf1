from __future__ import annotations

import pytest

from leanagent.prover.safety import SafetyPolicy

HOSTILE = [
    "#eval IO.Process.run {cmd := \"rm\", args := #[\"-rf\", \"/\"]}",
    "simp\n#exit",
    "run_cmd Lean.logInfo \"hi\"",
    "run_tac do Lean.Elab.Tactic.evalTactic (← `(tactic| sorry))",
    "run_elab Lean.Elab.Term.elabTerm stx none",
    "run_meta Lean.Meta.whnf e",
    "exact (unsafe (IO.FS.removeFile \"x\"))",
    "exact unsafeCast ()",
    "exact (unsafeIO (pure ())).toOption.get!",
    "exact IO.FS.writeFile \"/tmp/x\" \"y\"",
    "have : Nat := by exact (dbg_trace \"x\"; 0)",
    "@[implemented_by foo] def bar := 0",
    "attribute [simp] foo in simp",
    "exact @[extern \"system\"] opaque f : Nat",
    "macro \"pwn\" : tactic => `(tactic| sorry)",
    "elab \"pwn\" : tactic => pure ()",
    "axiom cheat : False",
    "sorry",
    "admit",
    "exact sorry",
    "constructor <;> sorry",
    "refine ⟨?_, sorry⟩",
    "native_decide",
    "decide +native",
    "exact of_decide_eq_true (Lean.ofReduceBool _ _ rfl)",
    "set_option maxHeartbeats 0 in simp",
    "set_option synthInstance.maxHeartbeats 0 in exact inferInstance",
    "set_option debug.skipKernelTC true in exact h",
    "set_option trust 0 in rfl",
    "set_option maxRecDepth 100000000 in decide",
    "exact?",
    "apply?",
    "rw?",
    "library_search",
    "hint",
    "aesop (config := { maxRuleApplications := 100000000 })",
    "simp (config := { maxSteps := 0 })",
    "#print axioms foo",
    "import Mathlib",
    "",
    "   ",
    "x" * 5000,
    "stop\n  simp",
    # Issue 23: identifiers quoted with «» are the names they quote.
    "set_option debug.«skipKernelTC» true in exact h",
    "set_option «debug».«skipKernelTC» true in decide +kernel",
    "set_option «maxHeartbeats» 0 in simp",
    "set_option «synthInstance.maxHeartbeats» 0 in exact inferInstance",
    "set_option «trust» 0 in rfl",
    "set_option debug.skipKernelTC true\n  in exact h",
    "decide +«native»",
    "decide (config := { native := true })",
    "exact (Lean.«ofReduceBool» _ _ rfl)",
    # A multi-line tactic that starts a new command (replay proofs are never parsed by Lean).
    "simp\nend",
    "exact h\nend Foo",
    "exact h\ntheorem t : 1 = 1 := rfl",
    "simp\ninstance foo : Inhabited Nat := ⟨0⟩",
    "skip\ndef x := 1",
]
#: Allowed by the policy, but caught by the whole-file re-check's axioms (tests/prover/test_recheck.py,
#: AXIOM_CAUGHT there): 43 + 14 above + these 3 = the 60 hostile cases of issue 23.
AXIOM_CAUGHT = ["exact earlier_sorry_lemma", "exact native_lemma", "exact cheat_axiom"]

LEGITIMATE = [
    "simp",
    "rfl",
    "norm_num",
    "ring",
    "linarith",
    "nlinarith [sq_nonneg (a - b)]",
    "omega",
    "decide",
    "exact h",
    "exact hp",
    "intro n",
    "intros",
    "rintro ⟨x, hx⟩",
    "induction n with\n| zero => rfl\n| succ n ih => simp [ih]",
    "cases h with\n| inl h => exact h\n| inr h => exact absurd h hn",
    "rw [Nat.add_comm]",
    "rw [← sorry_free_lemma]",
    "simp only [Function.extend_def, mul_comm]",
    "apply le_antisymm",
    "constructor",
    "refine ⟨_, fun x => ?_⟩",
    "obtain ⟨y, rfl⟩ := h",
    "use 0",
    "exact le_refl _",
    "field_simp",
    "positivity",
    "aesop",
    "tauto",
    "ext x",
    "funext x",
    "congr 1",
    "by_contra h",
    "push_neg at h",
    "simp? says simp only [foo]",
    "have h2 : 0 < n := by omega",
    "calc a = b := h\n  _ = c := h'",
    "exact IOU.mk",
    "exact Nat.unsafe_lemma_name",
    "set_option maxHeartbeats 400000 in simp",
    "set_option maxRecDepth 2000 in exact foo",
    "aesop (config := { maxRuleApplications := 500 })",
    "exact fun _ => trivial",
    "simp_all [admissible_set]",
    "exact (stopping_time_le h)",
    "open Nat in simp",
    "classical\n  exact h",
    "exact «my lemma» h",
    "exact Function.End.ext h",
]


def test_table_is_big_enough():
    assert len(HOSTILE) + len(AXIOM_CAUGHT) >= 60 and len(LEGITIMATE) >= 30


@pytest.mark.parametrize("tactic", AXIOM_CAUGHT)
def test_axiom_caught_tactics_pass_the_policy(tactic):
    # The text looks harmless; only Lean's `#print axioms` tells (test_recheck.py).
    assert SafetyPolicy().check(tactic) is None


@pytest.mark.parametrize("tactic", HOSTILE)
def test_hostile_tactics_are_rejected(tactic):
    reason = SafetyPolicy().check(tactic)
    assert reason, f"accepted {tactic!r}"


@pytest.mark.parametrize("tactic", LEGITIMATE)
def test_legitimate_tactics_pass(tactic):
    assert SafetyPolicy().check(tactic) is None


def test_native_decide_and_search_are_configurable():
    relaxed = SafetyPolicy(allow_native_decide=True, allow_search_tactics=True, max_search_size=10**9)
    for tactic in ("native_decide", "exact?", "apply?", "aesop (config := { maxRuleApplications := 100000000 })"):
        assert relaxed.check(tactic) is None, tactic
    assert relaxed.check("sorry") is not None  # giving up is never configurable
    assert "maxSteps" in SafetyPolicy(max_search_size=10).check("simp (config := { maxSteps := 11 })")


def test_reasons_name_the_culprit():
    assert "native_decide" in SafetyPolicy().check("native_decide")
    assert "#eval" in SafetyPolicy().check("#eval 1")
    assert "sorry" in SafetyPolicy().check("exact sorry")
