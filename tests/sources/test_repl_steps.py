"""LeanDojo's rule for nested tactics, read off the source (leanagent/sources/repl_steps.py)."""

from __future__ import annotations

from leanagent.lean.repl_answers import TacticAt, TacticNode
from leanagent.sources.repl_steps import FileText, clean, file_steps, leandojo_order


def _at(text: str, snippet: str, nth: int = 0) -> tuple:
    """(start, end) positions of the nth occurrence of `snippet`, as the REPL reports them."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(snippet, i + 1)
    pos = lambda k: (text.count("\n", 0, k) + 1, k - (text.rfind("\n", 0, k) + 1))  # noqa: E731
    return pos(i), pos(i + len(snippet))


def _steps(text: str, snippets: list) -> list[str]:
    """The recorded tactics when the REPL lists `snippets` (each a string or (string, nth)) as tactics."""
    tactics, nodes = [], []
    for k, sn in enumerate(snippets):
        sn, nth = sn if isinstance(sn, tuple) else (sn, 0)
        start, end = _at(text, sn, nth)
        tactics.append(TacticAt(sn, start, end, f"g{k}"))
        nodes.append(TacticNode("t", start, end, (f"goal {k}",), (f"goal {k + 1}",)))
    steps, missing = file_steps(FileText(text), tactics, nodes)
    assert missing == 0
    return [s.tactic for s in clean(leandojo_order(steps))]


def test_combinator_parts_are_not_steps():
    text = "theorem t : p ∧ q := by\n  constructor <;> simp\n  done\n"
    assert _steps(text, ["constructor <;> simp", "constructor", "simp", "done"]) == ["constructor <;> simp", "done"]


def test_first_alternatives_and_semicolons_are_sequences():
    text = "theorem t : p := by\n  first | simp | rfl\n  skip; exact h\n"
    got = _steps(text, ["first | simp | rfl", "simp", "rfl", "skip", "exact h"])
    assert got == ["first | simp | rfl", "skip", "exact h", "simp", "rfl"]  # outer sequence first


def test_conv_blocks_are_not_tactic_sequences():
    text = "theorem t : a = b := by\n  conv => rw [h]\n  rfl\n"
    assert _steps(text, ["conv => rw [h]", "rw [h]", "rfl"]) == ["conv => rw [h]", "rfl"]


def test_nested_by_in_a_term_and_comments():
    text = "theorem t : p := by\n  exact foo (by simp) -- done\n  -- a comment\n  rfl\n"
    assert _steps(text, ["exact foo (by simp)", "simp", "rfl"]) == ["exact foo (by simp)", "rfl", "simp"]


def test_focusing_dot_dropped_its_block_kept_and_multiline_dedented():
    text = "theorem t : p ∧ q := by\n  refine ⟨?_, ?_⟩\n  · apply f\n    exact h\n  · have k : q := by\n      simp\n    exact k\n"
    got = _steps(text, ["refine ⟨?_, ?_⟩", "· apply f\n    exact h", "apply f", "exact h",
                        "· have k : q := by\n      simp\n    exact k", "have k : q := by\n      simp", "simp",
                        "exact k"])
    assert got == ["refine ⟨?_, ?_⟩", "apply f", "exact h", "have k : q := by\n  simp", "exact k", "simp"]
