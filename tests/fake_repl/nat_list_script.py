"""The stand-in REPL's script for examples/nat-list-src: what Lean would answer for those files.

Written by hand from the Lean sources, never from the LeanDojo-format dataset (examples/nat-list)
that the parity test compares against:
- goals: the stand-in derives a theorem's goal from its statement (`derive_goals`: binders as
  hypotheses, `⊢` and the type, auto-bound `Type _` variables first) and `intro` from the goal's
  arrows; a tactic the script does not know closes its goal (`default_move`), as the example's
  one-tactic proofs do;
- `moves`: the states Lean reaches in the middle of the longer proofs (rw, subst, simp at, intro
  on `≠`, constructor, apply, have), written out here;
- `constants`: the example's Lean core. The example is written against a fictional core (there is
  no Lean toolchain here to elaborate a real one): its names, modules and where each is declared
  come from `examples/make_nat_list.py`'s PREMISE_LIST, the one description of that core (its i-th
  theorem of a file sits at line 100 + 20 i, the name after `theorem `);
- `noise`: the constants the real REPL also lists for a tactic (`Eq.mpr` of a rewrite, instances),
  which the tracer must not take for premises.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
A = "α : Type u_1\n"
NO = "no goals"
L12 = A + "l₁ l₂ : List α\n"


def _core() -> dict:
    spec = importlib.util.spec_from_file_location("make_nat_list", ROOT / "examples" / "make_nat_list.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    core = ".lake/packages/lean4/src/lean/"
    out = {}
    for path, items in mod.PREMISE_LIST:
        module = path.removeprefix(core).removesuffix(".lean").replace("/", ".")
        for i, (name, code) in enumerate(items):
            line, short = 100 + 20 * i, name.rsplit(".", 1)[-1]
            out[name] = {"module": module, "kind": "theorem", "type": code.split(" : ", 1)[-1],
                         "range": [line, 0, line + 2, 0], "selection": [line, 8, line, 8 + len(short)]}
    return out


AB = A + "β : Type u_2\n"
# Goals Lean prints otherwise than the statement is written: field notation only where the object is the
# first explicit argument (`List.map f l`, not `l.map f`), and no type ascription on `[]`.
GOALS = {
    "NatList.List.map_id''": A + "l : List α\n⊢ List.map id l = l",
    "NatList.List.length_map'": AB + "l : List α\nf : α → β\n⊢ (List.map f l).length = l.length",
    "NatList.List.length_map_xs": AB + "xs : List α\ng : α → β\n⊢ (List.map g xs).length = xs.length",
    "NatList.List.length_nil'": A + "⊢ [].length = 0",
    "NatList.List.filter_nil'": A + "p : α → Bool\n⊢ List.filter p [] = []",
    "NatList.List.map_nil'": AB + "f : α → β\n⊢ List.map f [] = []",
    "NatList.List.map_append'": AB + "f : α → β\nl₁ l₂ : List α\n⊢ List.map f (l₁ ++ l₂) = List.map f l₁ ++ List.map f l₂",
    "NatList.List.map_append_xs": AB + "g : α → β\nxs ys : List α\n⊢ List.map g (xs ++ ys) = List.map g xs ++ List.map g ys",
    "NatList.List.length_filter_le'": A + "p : α → Bool\nl : List α\n⊢ (List.filter p l).length ≤ l.length",
    "NatList.List.map_map''": AB + "γ : Type u_3\nf : α → β\ng : β → γ\nl : List α\n⊢ List.map g (List.map f l) = List.map (g ∘ f) l",
}
HAVE = "have h' : a + c ≤ b + c := by"
LE = "a b c : Nat\nh : a ≤ b\n"
P = "p : Prop\nn : Nat\nh : p\n"
MOVES = {
    # Nat
    "a b c : Nat\nh : a = b\n⊢ a * c = b * c": {"subst h": "a c : Nat\n⊢ a * c = a * c"},
    LE + "⊢ a + c ≤ b + c + 1": {HAVE: LE + "h' : a + c ≤ b + c\n⊢ a + c ≤ b + c + 1"},
    LE + "h' : a + c ≤ b + c\n⊢ a + c ≤ b + c + 1": {
        "apply Nat.le_succ_of_le": "case h\n" + LE + "h' : a + c ≤ b + c\n⊢ a + c ≤ b + c"},
    P + "⊢ n = n ∧ p": {"constructor": f"case left\n{P}⊢ n = n\n\ncase right\n{P}⊢ p"},
    # List
    L12 + "⊢ (l₁ ++ l₂).length = (l₂ ++ l₁).length": {
        "rw [List.length_append, List.length_append]": L12 + "⊢ l₁.length + l₂.length = l₂.length + l₁.length"},
    L12 + "⊢ l₁.length ≤ (l₁ ++ l₂).length": {"rw [List.length_append]": L12 + "⊢ l₁.length ≤ l₁.length + l₂.length"},
    L12 + "⊢ l₂.length ≤ (l₁ ++ l₂).length": {"rw [List.length_append]": L12 + "⊢ l₂.length ≤ l₁.length + l₂.length"},
    A + "a : α\nl : List α\n⊢ l.length < (a :: l).length": {
        "rw [List.length_cons]": A + "a : α\nl : List α\n⊢ l.length < l.length + 1"},
    L12 + "⊢ (l₁ ++ l₂).reverse.length = l₁.length + l₂.length": {
        "rw [List.length_reverse]": L12 + "⊢ (l₁ ++ l₂).length = l₁.length + l₂.length"},
    A + "l : List α\nh : 0 < l.length\n⊢ l ≠ []": {"intro hl": A + "l : List α\nh : 0 < l.length\nhl : l = []\n⊢ False"},
    A + "l : List α\nh : 0 < l.length\nhl : l = []\n⊢ False": {"subst hl": A + "h : 0 < [].length\n⊢ False"},
    A + "l : List α\nh : l = []\n⊢ l.length = 0": {"subst h": A + "⊢ [].length = 0"},
    A + "β : Type u_2\nf : α → β\nl : List α\nh : l = []\n⊢ List.map f l = []": {
        "subst h": A + "β : Type u_2\nf : α → β\n⊢ List.map f [] = []"},
    A + "l : List α\nh : l = []\n⊢ l.reverse = []": {"subst h": A + "⊢ [].reverse = []"},
    A + "a : α\nl : List α\nh : a ∈ l\n⊢ l ≠ []": {"intro hl": A + "a : α\nl : List α\nh : a ∈ l\nhl : l = []\n⊢ False"},
    L12 + "h : 0 < l₁.length\n⊢ 0 < (l₁ ++ l₂).length": {
        "rw [List.length_append]": L12 + "h : 0 < l₁.length\n⊢ 0 < l₁.length + l₂.length"},
    L12 + "h : l₁ ++ l₂ = []\n⊢ l₁ = []": {"simp at h": L12 + "h : l₁ = [] ∧ l₂ = []\n⊢ l₁ = []"},
}


def script() -> dict:
    return {"derive_goals": True, "default_move": NO, "goals": GOALS, "moves": MOVES, "blocks": {HAVE: LE + "⊢ a + c ≤ b + c"},
            "constants": _core(), "noise": {"rw": ["Eq.mpr", "congrArg"], "exact": ["instHAdd", "HAdd.hAdd"],
                                            "simp": ["of_eq_true"], "apply": ["Nat.succ"]}}
