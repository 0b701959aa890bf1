"""Write the example dataset `examples/nat-list` (LeanDojo's benchmark format).

A few dozen small Lean 4 theorems about `Nat` and `List` over Lean core, with
the proof states written as Lean prints them. The Lean sources go to
`examples/nat-list-src/` (a Lean project the `sorry` scanner can read), and the
traced data to `examples/nat-list/`: metadata.json, random/{train,val,test}.json
(all theorems in train.json; leanagent makes its own splits) and corpus.jsonl.

Run `python examples/make_nat_list.py` after editing the theorems below.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
URL = "https://example.org/leanagent/nat-list"
COMMIT = "0000000000000000000000000000000000000001"
CORE = ".lake/packages/lean4/src/lean/Init"

# Core premises: name -> (defining file, line, code).
PREMISES = {
    "Nat.add_comm": (f"{CORE}/Core.lean", 1812, "theorem Nat.add_comm : ∀ (n m : Nat), n + m = m + n"),
    "Nat.add_assoc": (f"{CORE}/Core.lean", 1830, "theorem Nat.add_assoc : ∀ (n m k : Nat), n + m + k = n + (m + k)"),
    "Nat.mul_comm": (f"{CORE}/Data/Nat/Basic.lean", 412, "theorem Nat.mul_comm : ∀ (n m : Nat), n * m = m * n"),
    "Nat.one_mul": (f"{CORE}/Data/Nat/Basic.lean", 430, "theorem Nat.one_mul (n : Nat) : 1 * n = n"),
    "Nat.two_mul": (f"{CORE}/Data/Nat/Basic.lean", 455, "theorem Nat.two_mul (n : Nat) : 2 * n = n + n"),
    "Nat.le_refl": (f"{CORE}/Prelude.lean", 1450, "theorem Nat.le_refl (n : Nat) : n ≤ n"),
    "Nat.zero_le": (f"{CORE}/Prelude.lean", 1470, "theorem Nat.zero_le : ∀ (n : Nat), 0 ≤ n"),
    "Nat.le_trans": (f"{CORE}/Prelude.lean", 1490, "theorem Nat.le_trans {n m k : Nat} : n ≤ m → m ≤ k → n ≤ k"),
    "Nat.succ_le_succ": (f"{CORE}/Prelude.lean", 1510, "theorem Nat.succ_le_succ : n ≤ m → succ n ≤ succ m"),
    "Nat.lt_irrefl": (f"{CORE}/Prelude.lean", 1530, "theorem Nat.lt_irrefl (n : Nat) : ¬n < n"),
    "Nat.le_add_right": (f"{CORE}/Data/Nat/Basic.lean", 520, "theorem Nat.le_add_right : ∀ (n k : Nat), n ≤ n + k"),
    "Nat.le_succ_of_le": (f"{CORE}/Data/Nat/Basic.lean", 540, "theorem Nat.le_succ_of_le {n m : Nat} (h : n ≤ m) : n ≤ succ m"),
    "Nat.add_le_add": (f"{CORE}/Data/Nat/Basic.lean", 560, "protected theorem Nat.add_le_add {a b c d : Nat} (h₁ : a ≤ b) (h₂ : c ≤ d) : a + c ≤ b + d"),
    "Nat.add_le_add_right": (f"{CORE}/Data/Nat/Basic.lean", 580, "protected theorem Nat.add_le_add_right {n m : Nat} (h : n ≤ m) (k : Nat) : n + k ≤ m + k"),
    "Nat.mul_zero": (f"{CORE}/Core.lean", 1900, "theorem Nat.mul_zero (n : Nat) : n * 0 = 0"),
    "Nat.succ_ne_zero": (f"{CORE}/Core.lean", 1920, "theorem Nat.succ_ne_zero (n : Nat) : succ n ≠ 0"),
    "List.length_append": (f"{CORE}/Data/List/Lemmas.lean", 120, "theorem List.length_append (as bs : List α) : (as ++ bs).length = as.length + bs.length"),
    "List.append_assoc": (f"{CORE}/Data/List/Basic.lean", 210, "theorem List.append_assoc (as bs cs : List α) : as ++ bs ++ cs = as ++ (bs ++ cs)"),
    "List.length_reverse": (f"{CORE}/Data/List/Lemmas.lean", 300, "theorem List.length_reverse (as : List α) : as.reverse.length = as.length"),
    "List.length_map": (f"{CORE}/Data/List/Lemmas.lean", 330, "theorem List.length_map (as : List α) (f : α → β) : (as.map f).length = as.length"),
    "List.map_map": (f"{CORE}/Data/List/Lemmas.lean", 360, "theorem List.map_map (g : β → γ) (f : α → β) (l : List α) : map g (map f l) = map (g ∘ f) l"),
    "List.append_nil": (f"{CORE}/Data/List/Basic.lean", 180, "theorem List.append_nil (as : List α) : as ++ [] = as"),
}

# (file, name, signature, [(tactic, state_before, state_after)]). `{p}` marks in a
# tactic name premises; the plain tactic drops the braces.
A = "α : Type u_1\n"
NAT = [
    ("add_zero_right", "(n : Nat) : n + 0 = n", [("rfl", "n : Nat\n⊢ n + 0 = n", "no goals")]),
    ("zero_add_left", "(n : Nat) : 0 + n = n", [("simp", "n : Nat\n⊢ 0 + n = n", "no goals")]),
    ("add_comm'", "(a b : Nat) : a + b = b + a", [("rw [{Nat.add_comm}]", "a b : Nat\n⊢ a + b = b + a", "no goals")]),
    ("add_assoc'", "(a b c : Nat) : a + b + c = a + (b + c)",
     [("rw [{Nat.add_assoc}]", "a b c : Nat\n⊢ a + b + c = a + (b + c)", "no goals")]),
    ("mul_comm'", "(a b : Nat) : a * b = b * a", [("exact {Nat.mul_comm} a b", "a b : Nat\n⊢ a * b = b * a", "no goals")]),
    ("mul_one'", "(n : Nat) : n * 1 = n", [("simp", "n : Nat\n⊢ n * 1 = n", "no goals")]),
    ("one_mul'", "(n : Nat) : 1 * n = n", [("rw [{Nat.one_mul}]", "n : Nat\n⊢ 1 * n = n", "no goals")]),
    ("mul_zero'", "(n : Nat) : n * 0 = 0", [("exact {Nat.mul_zero} n", "n : Nat\n⊢ n * 0 = 0", "no goals")]),
    ("zero_mul'", "(n : Nat) : 0 * n = 0", [("simp", "n : Nat\n⊢ 0 * n = 0", "no goals")]),
    ("two_mul'", "(n : Nat) : 2 * n = n + n", [("rw [{Nat.two_mul}]", "n : Nat\n⊢ 2 * n = n + n", "no goals")]),
    ("succ_ne_zero'", "(n : Nat) : n + 1 ≠ 0", [("exact {Nat.succ_ne_zero} n", "n : Nat\n⊢ n + 1 ≠ 0", "no goals")]),
    ("add_right_cancel'", "{a b c : Nat} (h : a + c = b + c) : a = b",
     [("omega", "a b c : Nat\nh : a + c = b + c\n⊢ a = b", "no goals")]),
    ("pos_of_ne_zero'", "{n : Nat} (h : n ≠ 0) : 0 < n", [("omega", "n : Nat\nh : n ≠ 0\n⊢ 0 < n", "no goals")]),
    ("max_self'", "(n : Nat) : max n n = n", [("simp", "n : Nat\n⊢ max n n = n", "no goals")]),
    ("add_comm_three", "(a b c : Nat) : a + b + c = c + b + a",
     [("sorry", "a b c : Nat\n⊢ a + b + c = c + b + a", "no goals")]),
]
ORDER = [
    ("le_refl'", "(n : Nat) : n ≤ n", [("exact {Nat.le_refl} n", "n : Nat\n⊢ n ≤ n", "no goals")]),
    ("zero_le'", "(n : Nat) : 0 ≤ n", [("exact {Nat.zero_le} n", "n : Nat\n⊢ 0 ≤ n", "no goals")]),
    ("le_trans'", "{a b c : Nat} (h₁ : a ≤ b) (h₂ : b ≤ c) : a ≤ c",
     [("exact {Nat.le_trans} h₁ h₂", "a b c : Nat\nh₁ : a ≤ b\nh₂ : b ≤ c\n⊢ a ≤ c", "no goals")]),
    ("succ_le_succ'", "{a b : Nat} (h : a ≤ b) : a + 1 ≤ b + 1",
     [("exact {Nat.succ_le_succ} h", "a b : Nat\nh : a ≤ b\n⊢ a + 1 ≤ b + 1", "no goals")]),
    ("lt_irrefl'", "(n : Nat) : ¬n < n", [("exact {Nat.lt_irrefl} n", "n : Nat\n⊢ ¬n < n", "no goals")]),
    ("le_add_self", "(a b : Nat) : a ≤ a + b", [("apply {Nat.le_add_right}", "a b : Nat\n⊢ a ≤ a + b", "no goals")]),
    ("le_succ_of_le'", "{a b : Nat} : a ≤ b → a ≤ b + 1", [
        ("intro h", "a b : Nat\n⊢ a ≤ b → a ≤ b + 1", "a b : Nat\nh : a ≤ b\n⊢ a ≤ b + 1"),
        ("exact {Nat.le_succ_of_le} h", "a b : Nat\nh : a ≤ b\n⊢ a ≤ b + 1", "no goals")]),
    ("add_le_add'", "{a b c d : Nat} (h₁ : a ≤ b) (h₂ : c ≤ d) : a + c ≤ b + d",
     [("exact {Nat.add_le_add} h₁ h₂", "a b c d : Nat\nh₁ : a ≤ b\nh₂ : c ≤ d\n⊢ a + c ≤ b + d", "no goals")]),
    ("le_add_both", "(a b c : Nat) (h : a ≤ b) : a + c ≤ b + c + 1", [
        ("have h' : a + c ≤ b + c := {Nat.add_le_add_right} h c", "a b c : Nat\nh : a ≤ b\n⊢ a + c ≤ b + c + 1",
         "a b c : Nat\nh : a ≤ b\nh' : a + c ≤ b + c\n⊢ a + c ≤ b + c + 1"),
        ("apply {Nat.le_succ_of_le}", "a b c : Nat\nh : a ≤ b\nh' : a + c ≤ b + c\n⊢ a + c ≤ b + c + 1",
         "case h\na b c : Nat\nh : a ≤ b\nh' : a + c ≤ b + c\n⊢ a + c ≤ b + c"),
        ("exact h'", "case h\na b c : Nat\nh : a ≤ b\nh' : a + c ≤ b + c\n⊢ a + c ≤ b + c", "no goals")]),
    ("eq_and_self", "(p : Prop) (n : Nat) (h : p) : n = n ∧ p", [
        ("constructor", "p : Prop\nn : Nat\nh : p\n⊢ n = n ∧ p",
         "case left\np : Prop\nn : Nat\nh : p\n⊢ n = n\n\ncase right\np : Prop\nn : Nat\nh : p\n⊢ p"),
        ("rfl", "case left\np : Prop\nn : Nat\nh : p\n⊢ n = n\n\ncase right\np : Prop\nn : Nat\nh : p\n⊢ p",
         "case right\np : Prop\nn : Nat\nh : p\n⊢ p"),
        ("exact h", "case right\np : Prop\nn : Nat\nh : p\n⊢ p", "no goals")]),
    ("lt_add_one'", "(n : Nat) : n < n + 1", [("omega", "n : Nat\n⊢ n < n + 1", "no goals")]),
]
LIST = [
    ("append_nil'", "(l : List α) : l ++ [] = l", [("simp", A + "l : List α\n⊢ l ++ [] = l", "no goals")]),
    ("nil_append'", "(l : List α) : [] ++ l = l", [("rfl", A + "l : List α\n⊢ [] ++ l = l", "no goals")]),
    ("length_append'", "(l₁ l₂ : List α) : (l₁ ++ l₂).length = l₁.length + l₂.length",
     [("exact {List.length_append} l₁ l₂", A + "l₁ l₂ : List α\n⊢ (l₁ ++ l₂).length = l₁.length + l₂.length", "no goals")]),
    ("reverse_reverse'", "(l : List α) : l.reverse.reverse = l",
     [("simp", A + "l : List α\n⊢ l.reverse.reverse = l", "no goals")]),
    ("map_id''", "(l : List α) : l.map id = l", [("simp", A + "l : List α\n⊢ List.map id l = l", "no goals")]),
    ("length_map'", "(l : List α) (f : α → β) : (l.map f).length = l.length",
     [("rw [{List.length_map}]", A + "β : Type u_2\nl : List α\nf : α → β\n⊢ (List.map f l).length = l.length", "no goals")]),
    ("append_assoc'", "(a b c : List α) : a ++ b ++ c = a ++ (b ++ c)",
     [("rw [{List.append_assoc}]", A + "a b c : List α\n⊢ a ++ b ++ c = a ++ (b ++ c)", "no goals")]),
    ("length_reverse'", "(l : List α) : l.reverse.length = l.length",
     [("exact {List.length_reverse} l", A + "l : List α\n⊢ l.reverse.length = l.length", "no goals")]),
    ("mem_singleton_self'", "(a : α) : a ∈ [a]", [("simp", A + "a : α\n⊢ a ∈ [a]", "no goals")]),
    ("length_cons'", "(a : α) (l : List α) : (a :: l).length = l.length + 1",
     [("rfl", A + "a : α\nl : List α\n⊢ (a :: l).length = l.length + 1", "no goals")]),
    ("filter_nil'", "(p : α → Bool) : [].filter p = []", [("rfl", A + "p : α → Bool\n⊢ List.filter p [] = []", "no goals")]),
    ("length_append_comm", "(l₁ l₂ : List α) : (l₁ ++ l₂).length = (l₂ ++ l₁).length", [
        ("rw [{List.length_append}, {List.length_append}]", A + "l₁ l₂ : List α\n⊢ (l₁ ++ l₂).length = (l₂ ++ l₁).length",
         A + "l₁ l₂ : List α\n⊢ l₁.length + l₂.length = l₂.length + l₁.length"),
        ("exact {Nat.add_comm} _ _", A + "l₁ l₂ : List α\n⊢ l₁.length + l₂.length = l₂.length + l₁.length", "no goals")]),
    ("map_map''", "(f : α → β) (g : β → γ) (l : List α) : (l.map f).map g = l.map (g ∘ f)",
     [("simp [{List.map_map}]", A + "β : Type u_2\nγ : Type u_3\nf : α → β\ng : β → γ\nl : List α\n"
       "⊢ List.map g (List.map f l) = List.map (g ∘ f) l", "no goals")]),
    ("reverse_append_length", "(l₁ l₂ : List α) : (l₁ ++ l₂).reverse.length = l₁.length + l₂.length", [
        ("rw [{List.length_reverse}]", A + "l₁ l₂ : List α\n⊢ (l₁ ++ l₂).reverse.length = l₁.length + l₂.length",
         A + "l₁ l₂ : List α\n⊢ (l₁ ++ l₂).length = l₁.length + l₂.length"),
        ("rw [{List.length_append}]", A + "l₁ l₂ : List α\n⊢ (l₁ ++ l₂).length = l₁.length + l₂.length", "no goals")]),
    ("ne_nil_of_length_pos'", "{l : List α} (h : 0 < l.length) : l ≠ []", [
        ("intro hl", A + "l : List α\nh : 0 < l.length\n⊢ l ≠ []", A + "l : List α\nh : 0 < l.length\nhl : l = []\n⊢ False"),
        ("subst hl", A + "l : List α\nh : 0 < l.length\nhl : l = []\n⊢ False", A + "h : 0 < [].length\n⊢ False"),
        ("simp at h", A + "h : 0 < [].length\n⊢ False", "no goals")]),
    ("append_ne_nil_left", "{l₁ : List α} (l₂ : List α) (h : l₁ ≠ []) : l₁ ++ l₂ ≠ []",
     [("simp [h]", A + "l₁ l₂ : List α\nh : l₁ ≠ []\n⊢ l₁ ++ l₂ ≠ []", "no goals")]),
    ("length_reverse_append", "(l₁ l₂ : List α) : (l₁.reverse ++ l₂).length = l₁.length + l₂.length",
     [("sorry", A + "l₁ l₂ : List α\n⊢ (l₁.reverse ++ l₂).length = l₁.length + l₂.length", "no goals")]),
]
FILES = [
    ("NatList/Nat/Basic.lean", "NatList.Nat", [], NAT),
    ("NatList/Nat/Order.lean", "NatList.Nat", ["NatList.Nat.Basic"], ORDER),
    ("NatList/List/Basic.lean", "NatList.List", ["NatList.Nat.Basic"], LIST),
]


def plain(tactic: str) -> str:
    return tactic.replace("{", "").replace("}", "")


def annotated(tactic: str) -> list:
    text, premises, rest = "", [], tactic
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        path, line, _ = PREMISES[name]
        short = name.rsplit(".", 1)[-1]
        text += f"{before}<a>{name}</a>"
        premises.append({"full_name": name, "def_path": path, "def_pos": [line, 9],
                         "def_end_pos": [line, 9 + len(short)]})
    return [text + rest, premises]


def build() -> None:
    theorems, corpus = [], []
    for path, namespace, imports, items in FILES:
        lines = ["/- Generated by examples/make_nat_list.py. -/", ""]
        lines += [f"import {m}" for m in imports] + (["", ""] if imports else [])
        lines += ["universe u", "variable {α : Type _} {β : Type _} {γ : Type _}", "", f"namespace {namespace}", ""]
        own = []
        for name, sig, steps in items:
            start = (len(lines) + 1, 1)
            lines.append(f"theorem {name} {sig} := by")
            lines += [f"  {plain(t)}" for t, _, _ in steps]
            end = (len(lines), len(lines[-1]) + 1)
            lines.append("")
            full = f"{namespace}.{name}"
            theorems.append({
                "url": URL, "commit": COMMIT, "file_path": path, "full_name": full,
                "start": list(start), "end": list(end),
                "traced_tactics": [{"tactic": plain(t), "annotated_tactic": annotated(t),
                                    "state_before": b, "state_after": a} for t, b, a in steps]})
            own.append({"full_name": full, "code": f"theorem {full} {sig}", "start": list(start),
                        "end": list(end), "kind": "commanddeclaration"})
        lines += [f"end {namespace}", ""]
        src = HERE / "nat-list-src" / path
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text("\n".join(lines))
        corpus.append({"path": path, "imports": [f"{CORE}/Prelude.lean"] + [m.replace(".", "/") + ".lean" for m in imports],
                       "premises": own})
    by_file: dict[str, list] = {}
    for name, (path, line, code) in PREMISES.items():
        by_file.setdefault(path, []).append({"full_name": name, "code": code, "start": [line, 1],
                                             "end": [line + 2, 1], "kind": "commanddeclaration"})
    for path in sorted(by_file):
        corpus.append({"path": path, "imports": [], "premises": by_file[path]})
    out = HERE / "nat-list"
    (out / "random").mkdir(parents=True, exist_ok=True)
    (out / "metadata.json").write_text(json.dumps({
        "dataset_name": "leanagent example: Nat and List", "from_repo": {"url": URL, "commit": COMMIT},
        "leandojo_version": "written by hand in LeanDojo's format", "lean_version": "v4.9.0"}, indent=2) + "\n")
    (out / "random" / "train.json").write_text(json.dumps(theorems, ensure_ascii=False, indent=1) + "\n")
    (out / "corpus.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in corpus))
    src_root = HERE / "nat-list-src"
    (src_root / "lean-toolchain").write_text("leanprover/lean4:v4.9.0\n")
    (src_root / "lakefile.lean").write_text(
        'import Lake\nopen Lake DSL\n\npackage «nat-list» where\n\n@[default_target]\nlean_lib NatList where\n')
    print(f"wrote {len(theorems)} theorems to {out} and sources to {src_root}")


if __name__ == "__main__":
    build()
