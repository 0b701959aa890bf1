"""The sorry scanner: what Lean would see, names, kinds, modes, and records for the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from leanagent.lean.lexer import mask
from leanagent.sources.scan import scan_records, scan_text, scan_tree

EXAMPLE_SRC = Path(__file__).resolve().parents[2] / "examples" / "nat-list-src"


def names(text: str) -> list[str]:
    return [d.full_name for d in scan_text(text)]


def one(text: str):
    found = scan_text(text)
    assert len(found) == 1, found
    return found[0]


def test_ignores_comments_strings_and_identifiers():
    text = '''\
-- sorry in a line comment
/- a block /- nested sorry -/ still comment sorry -/
/-- doc comment: sorry -/
theorem a : True := trivial -- sorry
theorem sorry_lemma : True := by exact sorry_lemma_helper
def s : String := "sorry \\" admit"
def raw : String := r#"sorry "admit""#
def ch : Char := 's'
theorem b' : True := Foo.sorry
'''
    assert names(text) == []
    masked = mask(text)
    assert len(masked) == len(text) and masked.count("\n") == text.count("\n")
    assert "sorry" not in masked.replace("sorry_lemma", "").replace("Foo.sorry", "")


def test_tactic_and_term_mode():
    assert one("theorem t : 1 = 1 := by\n  sorry\n").mode == "tactic"
    assert one("theorem t : 1 = 1 := by simp; exact sorry\n").mode == "tactic"
    assert one("theorem t : P := sorry\n").mode == "term"
    assert one("theorem t : P ∧ Q := ⟨by simp, sorry⟩\n").mode == "term"
    assert one("theorem t : P :=\n  have h : Q := by simp\n  sorry\n").mode == "term"
    assert one("theorem t : P := by\n  have h : Q := sorry\n  admit\n").mode == "tactic"
    assert one("theorem t : P ∧ Q := ⟨by sorry, sorry⟩\n").mode == "mixed"
    assert one("theorem t : P := (by exact foo) sorry\n").mode == "term"


def test_namespaces_sections_and_root():
    text = '''\
namespace A
theorem x : P := sorry
section S
namespace B.C
lemma y : P := by sorry
end B.C
theorem _root_.z : P := sorry
end S
noncomputable section
def w : Nat := sorry
end
end A
theorem top : P := sorry
'''
    assert names(text) == ["A.x", "A.B.C.y", "z", "A.w", "top"]


def test_kinds_with_attributes_and_modifiers():
    text = '''\
@[simp, norm_cast]
theorem t1 : P := sorry
@[simp] protected lemma t2 : P := by sorry
private noncomputable def t3 : Nat := by exact sorry
instance : Inhabited Foo := ⟨sorry⟩
instance (priority := low) namedInst : Inhabited Foo where
  default := sorry
example : True := by admit
@[reducible] abbrev t4 : Nat := sorry
partial def t5 : Nat → Nat
  | 0 => sorry
  | n + 1 => t5 n
theorem abs_ok : |x| ≤ y := by
  simp
'''
    found = scan_text(text, "F.lean")
    got = [(d.kind, d.name, d.line) for d in found]
    assert got == [("theorem", "t1", 2), ("lemma", "t2", 3), ("def", "t3", 4), ("instance", None, 5),
                   ("instance", "namedInst", 6), ("example", None, 8), ("abbrev", "t4", 9), ("def", "t5", 10)]
    assert found[3].full_name == "<instance@5>"
    assert found[4].sorry_lines == [7]
    assert found[2].column == len("private noncomputable ") + 1


def test_positions_statement_and_proof_text():
    text = "namespace N\n\ntheorem foo (n : Nat) :\n    n + 0 = n := by\n  simp\n  sorry\n\ntheorem bar : True := trivial\n"
    d = one(text)
    assert (d.file, d.line, d.column, d.end) == ("<text>", 3, 1, (6, 8))
    assert d.statement == "theorem foo (n : Nat) :\n    n + 0 = n"
    assert d.proof_text == "by\n  simp\n  sorry"
    assert d.sorry_lines == [6]


def test_scan_tree_and_records(tmp_path):
    (tmp_path / "P" / "Q").mkdir(parents=True)
    (tmp_path / "P" / "Q" / "A.lean").write_text("theorem a : P := sorry\n")
    (tmp_path / "P" / "B.lean").write_text("theorem b : P := by\n  sorry\n")
    (tmp_path / ".lake" / "packages" / "dep").mkdir(parents=True)
    (tmp_path / ".lake" / "packages" / "dep" / "C.lean").write_text("theorem c : P := sorry\n")
    assert [(d.file, d.full_name) for d in scan_tree(tmp_path)] == [("P/B.lean", "b"), ("P/Q/A.lean", "a")]
    assert [d.file for d in scan_tree(tmp_path, include=["P/Q/**"])] == ["P/Q/A.lean"]
    rec = scan_records(tmp_path, "proj", exclude=["P/Q/**"])
    assert rec.kind == "path" and rec.name == "proj" and rec.digest
    (t,) = rec.theorems
    assert (t.file_path, t.full_name, t.start, t.has_sorry, t.sorry_mode, t.proof_text, t.steps) == \
        ("P/B.lean", "b", (1, 1), True, "tactic", "by\n  sorry", [])
    assert [f.path for f in rec.files] == ["P/B.lean"] and rec.files[0].content.startswith("theorem b")
    assert scan_records(tmp_path, "proj", exclude=["P/Q/**"]).digest == rec.digest


def test_scan_records_store_through_ingest(db):
    from sqlalchemy import select

    from leanagent.db.ingest import store_repo
    from leanagent.db.models import Theorem, TheoremStatus

    if not EXAMPLE_SRC.is_dir():
        pytest.skip("examples/nat-list-src is missing")
    rec = scan_records(EXAMPLE_SRC, "nat-list-src")
    assert store_repo(db, rec).action == "created"
    with db.session() as s:
        rows = s.execute(select(Theorem.full_name, Theorem.status, Theorem.sorry_mode, Theorem.difficulty)).all()
    assert len(rows) == 2
    assert all(st is TheoremStatus.SORRY and mode == "tactic" and diff is None for _, st, mode, diff in rows)
    assert store_repo(db, scan_records(EXAMPLE_SRC, "nat-list-src")).action == "unchanged"


def test_set_option_in_match_arms_decreasing_by_and_name_literals():
    text = '''\
set_option maxHeartbeats 400000 in theorem a : P := sorry
set_option linter.x false in
@[simp] lemma b : P := by
  induction n with
  | zero => sorry
  | succ n ih => simp
def f : Nat → Nat
  | n => f n
decreasing_by sorry
def g : Lean.Name := `sorry
open Foo in
theorem h : P := by
  exact (sorry : P)
'''
    got = [(d.full_name, d.line, d.mode, d.sorry_lines) for d in scan_text(text)]
    assert got == [("a", 1, "term", [1]), ("b", 3, "tactic", [5]), ("f", 7, "tactic", [9]), ("h", 12, "tactic", [13])]


def test_scan_keys_match_the_traced_example(example_path):
    """The scanner's (file, name, start, end) for the example sources equal the traced dataset's."""
    import json

    if not EXAMPLE_SRC.is_dir():
        pytest.skip("examples/nat-list-src is missing")
    traced = {(t["file_path"], t["full_name"], tuple(t["start"]), tuple(t["end"]))
              for t in json.loads((example_path / "random" / "train.json").read_text())
              if any("sorry" in s["tactic"] for s in t["traced_tactics"])}
    scanned = {(d.file, d.full_name, (d.line, d.column), d.end) for d in scan_tree(EXAMPLE_SRC)}
    assert scanned == traced and len(scanned) == 2
