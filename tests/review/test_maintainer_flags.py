"""Issue 28's flags (native_decide, slow, long, lint, maxHeartbeats, not measured): each with a proof that
must be flagged and one that must not, judged on the variant export uses."""

from __future__ import annotations

import pytest
from review_data import add_proof, add_repo, add_theorem

from leanagent.db.models import Proof, ReviewStatus
from leanagent.lean.options import heartbeats_in_force, heartbeats_set, native_uses, raises_heartbeats
from leanagent.review.flags import (
    FLAGS,
    FlaggedProofsError,
    check_export,
    heartbeats_reason,
    lint_reason,
    long_reason,
    native_flag,
    proof_flags,
    slow_reason,
    unmeasured_reason,
)
from leanagent.review.patch import file_digest

TEXT = """import Mathlib

namespace Demo

theorem plain (n : Nat) : n + 0 = n := by
  sorry

set_option maxHeartbeats 400000 in
theorem heavy (n : Nat) : n * 1 = n := by
  sorry

end Demo
"""
FAST = {"seconds": 0.05, "file_median_seconds": 0.04, "heartbeats": 900, "lines": 1, "warnings": 0}


def _proof(db, name="Demo.plain", start=(5, 1), end=(6, 8), tactics=("simp",), measures=None, **fields) -> int:
    """An accepted proof of `name`, verified and measured (FAST) unless `measures`/`fields` say otherwise."""
    if not hasattr(db, "_theorems"):
        db._rid, db._theorems = add_repo(db, "demo", files={"Demo/Basic.lean": TEXT}), {}
    if name not in db._theorems:
        db._theorems[name] = add_theorem(db, db._rid, name, start=start, end=end, proof_text="by\n  sorry")
    pid = add_proof(db, db._theorems[name], tactics=tactics, env="leaninteract", digest=file_digest(TEXT), status=ReviewStatus.ACCEPTED)
    with db.session() as s:
        p = s.get(Proof, pid)
        p.check_status, p.checked_by, p.axioms = "verified", "repl", ["propext"]
        p.measures = {"found": FAST} if measures is None else measures
        for k, v in fields.items():
            setattr(p, k, v)
    return pid


def codes(db, pid) -> list[str]:
    return [f.code for f in proof_flags(db, [pid])[pid]]


def test_every_new_flag_names_its_thread():
    for code in ("native-decide", "slow", "long", "lint", "max-heartbeats", "unmeasured"):
        assert code in FLAGS and FLAGS[code][1]
    assert "#248" in FLAGS["native-decide"][1] and "#37891" in FLAGS["slow"][1]
    assert "#3562" in FLAGS["long"][1] and "#860" in FLAGS["lint"][1] and "compfiles#25" in FLAGS["max-heartbeats"][1]


# -- native_decide (prove2me/prove2me_workspace#2, leanprover/lean-eval#248) ------------------------


@pytest.mark.parametrize("proof, uses", [
    ("native_decide", ["`native_decide`"]),
    ("constructor <;> native_decide", ["`native_decide`"]),
    ("decide +native", ["`decide +native`"]),
    ("decide (config := { native := true })", ["`native := true`"]),
    ("decide", []),
    ("-- not native_decide: decide is enough\ndecide", []),      # a comment
    ("/- native_decide -/ decide", []),
    ('simp [show "native_decide" = "x" from sorry]', []),          # a string
    ("exact native_decide_spec 3", []),                             # a lemma whose name contains the word
    ("exact Foo.native_decide", []), ("exact my_native_decide", []), ("exact native_decide'", []),
    ("exact (foo (native := false))", []),
])
def test_native_decide_text(proof, uses):
    assert native_uses(proof) == uses


def test_native_decide_flag(db):
    assert native_flag(["decide"]) is None
    flagged = _proof(db, tactics=["intro n", "native_decide"])
    clean = _proof(db, tactics=["-- native_decide would do", "simp"])
    assert codes(db, flagged) == ["native-decide"] and codes(db, clean) == []
    assert "maintainers replaced it with `decide`" in proof_flags(db, [flagged])[flagged][0].detail


# -- slow (mathlib4#37891, compfiles#25) ----------------------------------------------------------


def test_slow():
    assert "1.50 s (over 1 s)" in slow_reason({"seconds": 1.5, "file_median_seconds": 1.4})
    assert "over 3 x the file's median 0.10 s" in slow_reason({"seconds": 0.5, "file_median_seconds": 0.1})
    assert slow_reason({"seconds": 0.25, "file_median_seconds": 0.1}) is None
    assert slow_reason({"seconds": 1.0, "file_median_seconds": None}) is None
    assert slow_reason({}) is None  # not measured: `unmeasured` says so (below)


def test_slow_flag(db):
    slow = _proof(db, measures={"found": {**FAST, "seconds": 2.0}})
    assert codes(db, slow) == ["slow"] and codes(db, _proof(db)) == []


# -- long (formal-conjectures#3562) ----------------------------------------------------------------


def test_long():
    assert long_reason(["simp"] * 21, {}).startswith("21 lines (over 20)")
    assert long_reason(["simp"] * 20, {}) is None
    assert long_reason(["constructor\n  · simp\n\n  · omega"] * 7, {}) is not None  # 28 lines as laid out in the file
    assert long_reason(["simp"], {"lines": 25}).startswith("25 lines")  # the measure wins when there is one
    assert long_reason(["simp"] * 30, {"lines": 3}) is None


def test_long_flag_without_measures_counts_the_text(db):
    long = _proof(db, tactics=[f"have h{i} : {i} = {i} := rfl" for i in range(22)] + ["simp"], measures={},
                  check_status=None)  # found before re-checks: nothing measured, the text is counted
    assert codes(db, long) == ["long"]
    assert codes(db, _proof(db, tactics=["simp"] * 3, measures={}, check_status=None)) == []


# -- lint (FormalizedFormalLogic/Foundation#860) ---------------------------------------------------


def test_lint():
    assert lint_reason({"warnings": 2}) == "2 warning(s) on the proof's lines"
    assert lint_reason({"warnings": ["unused variable `h`"]}) == "1 warning(s) on the proof's lines: unused variable `h`"
    assert lint_reason({"warnings": 0}) is None and lint_reason({"warnings": []}) is None


def test_lint_flag(db):
    warned = _proof(db, measures={"found": {**FAST, "warnings": ["this tactic is never executed"]}})
    assert codes(db, warned) == ["lint"] and codes(db, _proof(db)) == []


# -- maxHeartbeats (compfiles#25) --------------------------------------------------------------------


def test_heartbeats_text():
    assert heartbeats_set("set_option maxHeartbeats 400000 in\nsimp") == [400000]
    assert heartbeats_set("-- set_option maxHeartbeats 400000 in\nsimp") == []
    assert heartbeats_in_force(TEXT, TEXT.index("theorem plain")) == 200000   # Lean's default
    assert heartbeats_in_force(TEXT, TEXT.index("theorem heavy")) == 400000   # `... in` right before it
    later = TEXT + "\ntheorem after : True := by\n  sorry\n"
    assert heartbeats_in_force(later, later.index("theorem after")) == 200000  # the `in` scoped one only
    global_ = "set_option maxHeartbeats 0\n" + TEXT
    assert heartbeats_in_force(global_, global_.index("theorem plain")) == 0
    assert raises_heartbeats(0, 200000) and raises_heartbeats(300000, 200000)
    assert not raises_heartbeats(100000, 200000) and not raises_heartbeats(400000, 400000)
    assert not raises_heartbeats(10 ** 7, 0)  # nothing is above no limit


def test_heartbeats_reason():
    raised = ["set_option maxHeartbeats 1000000 in", "  nlinarith"]
    assert heartbeats_reason(raised, TEXT, TEXT.index("theorem plain")).endswith("1000000 where 200000 is in force")
    assert heartbeats_reason(raised, None, None).endswith("(Lean's default: the theorem is not in the file text)")
    assert heartbeats_reason(["set_option maxHeartbeats 400000 in", "  simp"], TEXT, TEXT.index("theorem heavy")) is None
    assert "0 (no limit)" in heartbeats_reason(["set_option maxHeartbeats 0 in simp"], TEXT, TEXT.index("theorem heavy"))
    assert heartbeats_reason(["simp"], TEXT, 0) is None


def test_max_heartbeats_flag(db):
    raised = _proof(db, tactics=["set_option maxHeartbeats 400000 in", "  nlinarith"])
    same = _proof(db, "Demo.heavy", (9, 1), (10, 8), tactics=["set_option maxHeartbeats 400000 in", "  simp"])
    assert codes(db, raised) == ["max-heartbeats"] and codes(db, same) == []


# -- not measured: never a silent pass ---------------------------------------------------------------


def test_unmeasured():
    assert unmeasured_reason({}, "verified", "leaninteract", "found").startswith(
        "the re-check recorded no time or warnings for the found proof")
    assert "no warnings" in unmeasured_reason({"seconds": 0.1}, "flagged", "leaninteract", "polished")
    assert unmeasured_reason(FAST, "verified", "leaninteract", "found") is None
    assert unmeasured_reason({}, "verified", "replay", "found") is None   # replay never runs Lean
    assert unmeasured_reason({}, "rejected", "leaninteract", "found") is None  # already flagged as refused


def test_unmeasured_flag_refuses_export_unless_forced(db):
    pid = _proof(db, measures={})
    assert codes(db, pid) == ["unmeasured"]
    with pytest.raises(FlaggedProofsError, match="not measured"):
        check_export(db, "demo")
    assert [f.code for f in check_export(db, "demo", force=True)[pid]] == ["unmeasured"]


# -- the variant export uses -------------------------------------------------------------------------


def test_flags_judge_the_chosen_variant(db):
    both = {"found": {**FAST, "seconds": 3.0}, "polished": FAST}
    pid = _proof(db, tactics=["native_decide"], polished_tactics=["decide"], measures=both)
    assert codes(db, pid) == []  # the polished proof is exported: quick, and no native_decide
    with db.session() as s:
        s.get(Proof, pid).variant = "found"  # the reviewer picked the proof as found
    assert codes(db, pid) == ["native-decide", "slow"]
    with db.session() as s:
        s.get(Proof, pid).measures = {"found": FAST}
        s.get(Proof, pid).variant = None  # polished again, but only the found variant was measured
    assert codes(db, pid) == ["unmeasured"]
    assert "for the polished proof" in proof_flags(db, [pid])[pid][0].detail
