"""Shared text rules: tactic normalisation keeps Lean's layout; names and sorry."""

from __future__ import annotations

from leanagent.text import identifiers, mentions_sorry, names_declaration, normalize_tactic


def test_spaces_within_a_line_collapse_and_blank_lines_go():
    assert normalize_tactic("rw  [Nat.add_comm]\n") == "rw [Nat.add_comm]"
    assert normalize_tactic("simp   only [a,  b]  ") == "simp only [a, b]"
    assert normalize_tactic("  \n\n") == ""


def test_line_structure_of_blocks_is_kept():
    block = "constructor\n  · simp\n  · rfl"
    one_line = "constructor · simp · rfl"
    assert normalize_tactic(block) != normalize_tactic(one_line)
    # The same block at another indentation, or with extra blank lines, is the same tactic.
    assert normalize_tactic("constructor\n    · simp\n\n    · rfl") == normalize_tactic(block)
    calc = "calc a = b := by simp\n  _ = c := by ring"
    assert normalize_tactic(calc) != normalize_tactic("calc a = b := by simp _ = c := by ring")
    nested = "cases h\n  case inl h =>\n    simp\n  case inr h =>\n    rfl"
    assert normalize_tactic(nested).splitlines()[1:3] == ["case inl h =>", "  simp"]


def test_names_of_declarations_in_tactics():
    toks = identifiers("exact Nat.foo_bar h₁")
    assert {"Nat.foo_bar", "h₁", "exact"} <= toks
    assert names_declaration(toks, "Nat.foo_bar")
    assert names_declaration(identifiers("exact foo_bar"), "Nat.foo_bar")  # inside `namespace Nat`
    assert names_declaration(identifiers("exact _root_.Nat.foo_bar"), "Nat.foo_bar")
    assert not names_declaration(identifiers("exact foo_bar_baz"), "Nat.foo_bar")
    assert not names_declaration(identifiers("simp [foo]"), "Nat.foo_bar")


def test_sorry_as_a_token():
    assert mentions_sorry("exact sorry") and mentions_sorry("admit")
    assert not mentions_sorry("exact sorry_lemma") and not mentions_sorry("exact foo.sorry")


def test_usable_tactic_is_the_one_rule_for_recorded_steps():
    from leanagent.text import usable_tactic

    assert usable_tactic("simp") and usable_tactic("exact sorry_lemma")
    assert not usable_tactic("") and not usable_tactic("  \n") and not usable_tactic("sorry")
    assert not usable_tactic("exact (admit)") and not usable_tactic("· sorry")
    # Nobody restates it: the proposers' tables, kNN, frequency and the training data call it.
    import re
    from pathlib import Path

    import leanagent

    restated = [p for p in Path(leanagent.__file__).parent.rglob("*.py")
                if p.name != "text.py" and re.search(r"strip\(\).{0,40}mentions_sorry", p.read_text())]
    assert restated == []
