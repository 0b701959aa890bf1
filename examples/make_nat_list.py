"""Write the example dataset `examples/nat-list` (LeanDojo's benchmark format).

About 150 small Lean 4 theorems about `Nat` and `List` over Lean core, written
by hand for this project, with the proof states written as Lean prints them.
The Lean sources go to `examples/nat-list-src/` (a Lean project the `sorry`
scanner can read), and the traced data to `examples/nat-list/`: metadata.json,
random/{train,val,test}.json (all theorems in train.json; leanagent makes its
own splits) and corpus.jsonl with about 100 core premises, most of them unused
distractors.

The theorems come in families, as in real libraries, so that the lifelong loop
has something to learn from *other* theorems (evaluation is leave-one-out):
- the same premise used by several theorems with other variable names
  (`add_comm'`, `add_comm_mn`), so a retriever trained on one finds it for the other;
- the same tactic closing the same kind of goal (`omega` on linear arithmetic,
  `simp` on list identities, `intro` on implications), for the tactic generator;
- one fact stated twice (`curried`): with hypotheses as arguments and as
  implications. After `intro`, the second proof stands in exactly the first
  one's starting state, so replay can prove either from the other's trace, often
  with a different proof than the original (which makes a real patch).

Run `python examples/make_nat_list.py` after editing the theorems below.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
URL = "https://example.org/leanagent/nat-list"
COMMIT = "0000000000000000000000000000000000000001"
CORE = ".lake/packages/lean4/src/lean/Init"

# Core premises: name -> (defining file, line, code). Real Lean 4 core names; many are distractors that no
# theorem below uses, so that premise retrieval has something to choose from.
NAT_BASIC, NAT_LEMMAS = f"{CORE}/Data/Nat/Basic.lean", f"{CORE}/Data/Nat/Lemmas.lean"
LIST_BASIC, LIST_LEMMAS = f"{CORE}/Data/List/Basic.lean", f"{CORE}/Data/List/Lemmas.lean"
PREMISE_LIST = [
    (f"{CORE}/Core.lean", [
        ("Nat.add_comm", "theorem Nat.add_comm : ∀ (n m : Nat), n + m = m + n"),
        ("Nat.add_assoc", "theorem Nat.add_assoc : ∀ (n m k : Nat), n + m + k = n + (m + k)"),
        ("Nat.mul_zero", "theorem Nat.mul_zero (n : Nat) : n * 0 = 0"),
        ("Nat.succ_ne_zero", "theorem Nat.succ_ne_zero (n : Nat) : succ n ≠ 0"),
        ("Nat.add_zero", "theorem Nat.add_zero (n : Nat) : n + 0 = n"),
        ("Nat.zero_add", "theorem Nat.zero_add (n : Nat) : 0 + n = n"),
        ("Nat.add_succ", "theorem Nat.add_succ (n m : Nat) : n + succ m = succ (n + m)"),
        ("Nat.succ_add", "theorem Nat.succ_add (n m : Nat) : succ n + m = succ (n + m)"),
    ]),
    (f"{CORE}/Prelude.lean", [
        ("Nat.le_refl", "theorem Nat.le_refl (n : Nat) : n ≤ n"),
        ("Nat.zero_le", "theorem Nat.zero_le : ∀ (n : Nat), 0 ≤ n"),
        ("Nat.le_trans", "theorem Nat.le_trans {n m k : Nat} : n ≤ m → m ≤ k → n ≤ k"),
        ("Nat.succ_le_succ", "theorem Nat.succ_le_succ : n ≤ m → succ n ≤ succ m"),
        ("Nat.lt_irrefl", "theorem Nat.lt_irrefl (n : Nat) : ¬n < n"),
        ("Nat.le_succ", "theorem Nat.le_succ (n : Nat) : n ≤ succ n"),
        ("Nat.lt_succ_self", "theorem Nat.lt_succ_self (n : Nat) : n < succ n"),
        ("Nat.zero_lt_succ", "theorem Nat.zero_lt_succ (n : Nat) : 0 < succ n"),
        ("Nat.le_of_succ_le_succ", "theorem Nat.le_of_succ_le_succ {n m : Nat} : succ n ≤ succ m → n ≤ m"),
        ("Nat.not_succ_le_self", "theorem Nat.not_succ_le_self (n : Nat) : ¬succ n ≤ n"),
        ("Nat.lt_or_ge", "theorem Nat.lt_or_ge (n m : Nat) : n < m ∨ n ≥ m"),
    ]),
    (NAT_BASIC, [
        ("Nat.mul_comm", "theorem Nat.mul_comm : ∀ (n m : Nat), n * m = m * n"),
        ("Nat.mul_assoc", "protected theorem Nat.mul_assoc : ∀ (n m k : Nat), n * m * k = n * (m * k)"),
        ("Nat.mul_one", "protected theorem Nat.mul_one (n : Nat) : n * 1 = n"),
        ("Nat.one_mul", "protected theorem Nat.one_mul (n : Nat) : 1 * n = n"),
        ("Nat.zero_mul", "protected theorem Nat.zero_mul (n : Nat) : 0 * n = 0"),
        ("Nat.two_mul", "protected theorem Nat.two_mul (n : Nat) : 2 * n = n + n"),
        ("Nat.mul_two", "protected theorem Nat.mul_two (n : Nat) : n * 2 = n + n"),
        ("Nat.left_distrib", "protected theorem Nat.left_distrib (n m k : Nat) : n * (m + k) = n * m + n * k"),
        ("Nat.right_distrib", "protected theorem Nat.right_distrib (n m k : Nat) : (n + m) * k = n * k + m * k"),
        ("Nat.add_left_comm", "protected theorem Nat.add_left_comm (n m k : Nat) : n + (m + k) = m + (n + k)"),
        ("Nat.add_right_comm", "protected theorem Nat.add_right_comm (n m k : Nat) : n + m + k = n + k + m"),
        ("Nat.mul_left_comm", "protected theorem Nat.mul_left_comm (n m k : Nat) : n * (m * k) = m * (n * k)"),
        ("Nat.le_add_right", "theorem Nat.le_add_right : ∀ (n k : Nat), n ≤ n + k"),
        ("Nat.le_add_left", "theorem Nat.le_add_left (n m : Nat) : n ≤ m + n"),
        ("Nat.le_succ_of_le", "theorem Nat.le_succ_of_le {n m : Nat} (h : n ≤ m) : n ≤ succ m"),
        ("Nat.add_le_add", "protected theorem Nat.add_le_add {a b c d : Nat} (h₁ : a ≤ b) (h₂ : c ≤ d) : a + c ≤ b + d"),
        ("Nat.add_le_add_right", "protected theorem Nat.add_le_add_right {n m : Nat} (h : n ≤ m) (k : Nat) : n + k ≤ m + k"),
        ("Nat.add_le_add_left", "protected theorem Nat.add_le_add_left {n m : Nat} (h : n ≤ m) (k : Nat) : k + n ≤ k + m"),
        ("Nat.add_lt_add_left", "protected theorem Nat.add_lt_add_left {n m : Nat} (h : n < m) (k : Nat) : k + n < k + m"),
        ("Nat.add_lt_add_right", "protected theorem Nat.add_lt_add_right {n m : Nat} (h : n < m) (k : Nat) : n + k < m + k"),
        ("Nat.lt_of_lt_of_le", "protected theorem Nat.lt_of_lt_of_le {n m k : Nat} : n < m → m ≤ k → n < k"),
        ("Nat.lt_of_le_of_lt", "protected theorem Nat.lt_of_le_of_lt {n m k : Nat} : n ≤ m → m < k → n < k"),
        ("Nat.lt_trans", "protected theorem Nat.lt_trans {n m k : Nat} (h₁ : n < m) : m < k → n < k"),
        ("Nat.le_of_lt", "theorem Nat.le_of_lt {n m : Nat} (h : n < m) : n ≤ m"),
        ("Nat.le_antisymm", "protected theorem Nat.le_antisymm {n m : Nat} (h₁ : n ≤ m) (h₂ : m ≤ n) : n = m"),
        ("Nat.pos_of_ne_zero", "protected theorem Nat.pos_of_ne_zero {n : Nat} : n ≠ 0 → 0 < n"),
        ("Nat.ne_of_lt", "protected theorem Nat.ne_of_lt {a b : Nat} (h : a < b) : a ≠ b"),
        ("Nat.add_right_cancel", "protected theorem Nat.add_right_cancel {n m k : Nat} : n + m = k + m → n = k"),
        ("Nat.add_left_cancel", "protected theorem Nat.add_left_cancel {n m k : Nat} : n + m = n + k → m = k"),
        ("Nat.sub_self", "protected theorem Nat.sub_self : ∀ (n : Nat), n - n = 0"),
        ("Nat.sub_zero", "theorem Nat.sub_zero (n : Nat) : n - 0 = n"),
        ("Nat.sub_le", "theorem Nat.sub_le (n m : Nat) : n - m ≤ n"),
        ("Nat.add_sub_cancel", "theorem Nat.add_sub_cancel : ∀ {n m : Nat}, n + m - m = n"),
        ("Nat.sub_add_cancel", "theorem Nat.sub_add_cancel {n m : Nat} (h : m ≤ n) : n - m + m = n"),
        ("Nat.succ_pos", "theorem Nat.succ_pos (n : Nat) : 0 < succ n"),
        ("Nat.le_total", "protected theorem Nat.le_total (m n : Nat) : m ≤ n ∨ n ≤ m"),
        ("Nat.lt_asymm", "protected theorem Nat.lt_asymm {a b : Nat} (h : a < b) : ¬b < a"),
        ("Nat.eq_zero_of_le_zero", "protected theorem Nat.eq_zero_of_le_zero {n : Nat} (h : n ≤ 0) : n = 0"),
    ]),
    (NAT_LEMMAS, [
        ("Nat.pow_two", "protected theorem Nat.pow_two (a : Nat) : a ^ 2 = a * a"),
        ("Nat.pow_zero", "theorem Nat.pow_zero (b : Nat) : b ^ 0 = 1"),
        ("Nat.pow_succ", "theorem Nat.pow_succ {b n : Nat} : b ^ succ n = b ^ n * b"),
        ("Nat.max_self", "protected theorem Nat.max_self (a : Nat) : max a a = a"),
        ("Nat.min_self", "protected theorem Nat.min_self (a : Nat) : min a a = a"),
        ("Nat.max_comm", "protected theorem Nat.max_comm (a b : Nat) : max a b = max b a"),
        ("Nat.min_comm", "protected theorem Nat.min_comm (a b : Nat) : min a b = min b a"),
        ("Nat.le_max_left", "protected theorem Nat.le_max_left (a b : Nat) : a ≤ max a b"),
        ("Nat.le_max_right", "protected theorem Nat.le_max_right (a b : Nat) : b ≤ max a b"),
        ("Nat.min_le_left", "protected theorem Nat.min_le_left (a b : Nat) : min a b ≤ a"),
        ("Nat.min_le_right", "protected theorem Nat.min_le_right (a b : Nat) : min a b ≤ b"),
        ("Nat.mul_le_mul_left", "protected theorem Nat.mul_le_mul_left {m n : Nat} (k : Nat) (h : m ≤ n) : k * m ≤ k * n"),
        ("Nat.mul_le_mul_right", "protected theorem Nat.mul_le_mul_right {m n : Nat} (k : Nat) (h : m ≤ n) : m * k ≤ n * k"),
        ("Nat.mod_self", "theorem Nat.mod_self (n : Nat) : n % n = 0"),
        ("Nat.mod_lt", "theorem Nat.mod_lt (x : Nat) {y : Nat} : y > 0 → x % y < y"),
        ("Nat.div_self", "protected theorem Nat.div_self (h : 0 < n) : n / n = 1"),
        ("Nat.mul_div_cancel", "protected theorem Nat.mul_div_cancel (m : Nat) {n : Nat} (H : 0 < n) : m * n / n = m"),
    ]),
    (LIST_BASIC, [
        ("List.append_nil", "theorem List.append_nil (as : List α) : as ++ [] = as"),
        ("List.nil_append", "theorem List.nil_append (as : List α) : [] ++ as = as"),
        ("List.append_assoc", "theorem List.append_assoc (as bs cs : List α) : as ++ bs ++ cs = as ++ (bs ++ cs)"),
        ("List.length_cons", "theorem List.length_cons (a : α) (as : List α) : (a :: as).length = as.length + 1"),
        ("List.length_nil", "theorem List.length_nil : ([] : List α).length = 0"),
        ("List.reverse_nil", "theorem List.reverse_nil : ([] : List α).reverse = []"),
        ("List.reverse_cons", "theorem List.reverse_cons (a : α) (as : List α) : (a :: as).reverse = as.reverse ++ [a]"),
        ("List.map_nil", "theorem List.map_nil {f : α → β} : map f [] = []"),
        ("List.map_cons", "theorem List.map_cons (f : α → β) (a : α) (l : List α) : map f (a :: l) = f a :: map f l"),
        ("List.filter_nil", "theorem List.filter_nil (p : α → Bool) : filter p [] = []"),
        ("List.replicate_succ", "theorem List.replicate_succ (a : α) (n : Nat) : replicate (n + 1) a = a :: replicate n a"),
    ]),
    (LIST_LEMMAS, [
        ("List.length_append", "theorem List.length_append (as bs : List α) : (as ++ bs).length = as.length + bs.length"),
        ("List.length_reverse", "theorem List.length_reverse (as : List α) : as.reverse.length = as.length"),
        ("List.length_map", "theorem List.length_map (as : List α) (f : α → β) : (as.map f).length = as.length"),
        ("List.map_map", "theorem List.map_map (g : β → γ) (f : α → β) (l : List α) : map g (map f l) = map (g ∘ f) l"),
        ("List.map_id", "theorem List.map_id (l : List α) : map id l = l"),
        ("List.map_append", "theorem List.map_append (f : α → β) (l₁ l₂ : List α) : map f (l₁ ++ l₂) = map f l₁ ++ map f l₂"),
        ("List.reverse_reverse", "theorem List.reverse_reverse (as : List α) : as.reverse.reverse = as"),
        ("List.reverse_append", "theorem List.reverse_append (as bs : List α) : (as ++ bs).reverse = bs.reverse ++ as.reverse"),
        ("List.length_replicate", "theorem List.length_replicate (n : Nat) (a : α) : (replicate n a).length = n"),
        ("List.mem_append_left", "theorem List.mem_append_left {a : α} {as : List α} (bs : List α) : a ∈ as → a ∈ as ++ bs"),
        ("List.mem_append_right", "theorem List.mem_append_right {a : α} (as : List α) {bs : List α} : a ∈ bs → a ∈ as ++ bs"),
        ("List.mem_append", "theorem List.mem_append {a : α} {s t : List α} : a ∈ s ++ t ↔ a ∈ s ∨ a ∈ t"),
        ("List.mem_singleton", "theorem List.mem_singleton {a b : α} : a ∈ [b] ↔ a = b"),
        ("List.mem_cons", "theorem List.mem_cons {a b : α} {l : List α} : a ∈ b :: l ↔ a = b ∨ a ∈ l"),
        ("List.mem_reverse", "theorem List.mem_reverse {x : α} {as : List α} : x ∈ reverse as ↔ x ∈ as"),
        ("List.mem_map", "theorem List.mem_map {f : α → β} {b : β} {l : List α} : b ∈ map f l ↔ ∃ a, a ∈ l ∧ f a = b"),
        ("List.ne_nil_of_mem", "theorem List.ne_nil_of_mem {a : α} {l : List α} (h : a ∈ l) : l ≠ []"),
        ("List.length_pos", "theorem List.length_pos {l : List α} : 0 < length l ↔ l ≠ []"),
        ("List.length_eq_zero", "theorem List.length_eq_zero {l : List α} : length l = 0 ↔ l = []"),
        ("List.append_eq_nil", "theorem List.append_eq_nil {p q : List α} : p ++ q = [] ↔ p = [] ∧ q = []"),
        ("List.length_take", "theorem List.length_take (i : Nat) (l : List α) : length (take i l) = min i (length l)"),
        ("List.length_drop", "theorem List.length_drop (i : Nat) (l : List α) : length (drop i l) = length l - i"),
        ("List.take_append_drop", "theorem List.take_append_drop (n : Nat) (l : List α) : take n l ++ drop n l = l"),
        ("List.length_filter_le", "theorem List.length_filter_le (p : α → Bool) (l : List α) : (l.filter p).length ≤ l.length"),
        ("List.mem_replicate", "theorem List.mem_replicate {a b : α} {n : Nat} : b ∈ replicate n a ↔ n ≠ 0 ∧ b = a"),
    ]),
]
PREMISES = {name: (path, 100 + 20 * i, code) for path, items in PREMISE_LIST for i, (name, code) in enumerate(items)}


def chain(start: str, moves: list) -> list:
    """[(tactic, state_before, state_after)] from a start state and [(tactic, state_after)]."""
    out, before = [], start
    for tactic, after in moves:
        out.append((tactic, before, after))
        before = after
    return out


def one(name: str, sig: str, state: str, tactic: str) -> tuple:
    """A theorem closed by one tactic."""
    return (name, sig, [(tactic, state, "no goals")])


def curried(name: str, head: str, binders: list, hyps: list, goal: str, proof: list, then: list) -> list:
    """One fact stated twice, as libraries often do: hypotheses as arguments (`name`) and as
    implications (`name_imp`, proved by `intro` and then `then`). After the `intro`, the second proof
    stands exactly in the first one's starting state, so either theorem's trace can prove the other
    in replay, and what one teaches about that state carries over to the other. `binders` are
    (names, type) groups, `proof` and `then` are [(tactic, state_after)] from the hypotheses' state."""
    ctx = head + "\n".join(f"{n} : {t}" for n, t in binders)
    start = ctx + "".join(f"\n{h} : {t}" for h, t in hyps) + f"\n⊢ {goal}"
    args = " ".join(f"({n} : {t})" for n, t in binders)
    arrows = " → ".join([t for _, t in hyps] + [goal])
    return [(name, f"{args} {' '.join(f'({h} : {t})' for h, t in hyps)} : {goal}", chain(start, proof)),
            (f"{name}_imp", f"{args} : {arrows}",
             chain(f"{ctx}\n⊢ {arrows}", [("intro " + " ".join(h for h, _ in hyps), start)] + then))]


# (name, signature, [(tactic, state_before, state_after)]). `{p}` marks in a tactic name premises;
# the plain tactic drops the braces.
A = "α : Type u_1\n"
AB = A + "β : Type u_2\n"
NO = "no goals"
NAT = [
    one("add_zero_right", "(n : Nat) : n + 0 = n", "n : Nat\n⊢ n + 0 = n", "rfl"),
    one("zero_add_left", "(n : Nat) : 0 + n = n", "n : Nat\n⊢ 0 + n = n", "simp"),
    one("add_comm'", "(a b : Nat) : a + b = b + a", "a b : Nat\n⊢ a + b = b + a", "rw [{Nat.add_comm}]"),
    one("add_comm_mn", "(m n : Nat) : m + n = n + m", "m n : Nat\n⊢ m + n = n + m", "exact {Nat.add_comm} m n"),
    one("add_assoc'", "(a b c : Nat) : a + b + c = a + (b + c)", "a b c : Nat\n⊢ a + b + c = a + (b + c)",
        "rw [{Nat.add_assoc}]"),
    one("add_assoc_xyz", "(x y z : Nat) : x + y + z = x + (y + z)", "x y z : Nat\n⊢ x + y + z = x + (y + z)",
        "exact {Nat.add_assoc} x y z"),
    one("add_left_comm'", "(a b c : Nat) : a + (b + c) = b + (a + c)", "a b c : Nat\n⊢ a + (b + c) = b + (a + c)",
        "rw [{Nat.add_left_comm}]"),
    one("add_right_comm'", "(a b c : Nat) : a + b + c = a + c + b", "a b c : Nat\n⊢ a + b + c = a + c + b",
        "exact {Nat.add_right_comm} a b c"),
    one("mul_comm'", "(a b : Nat) : a * b = b * a", "a b : Nat\n⊢ a * b = b * a", "exact {Nat.mul_comm} a b"),
    one("mul_comm_mn", "(m n : Nat) : m * n = n * m", "m n : Nat\n⊢ m * n = n * m", "rw [{Nat.mul_comm}]"),
    one("mul_assoc'", "(a b c : Nat) : a * b * c = a * (b * c)", "a b c : Nat\n⊢ a * b * c = a * (b * c)",
        "rw [{Nat.mul_assoc}]"),
    one("mul_assoc_xyz", "(x y z : Nat) : x * y * z = x * (y * z)", "x y z : Nat\n⊢ x * y * z = x * (y * z)",
        "exact {Nat.mul_assoc} x y z"),
    one("mul_one'", "(n : Nat) : n * 1 = n", "n : Nat\n⊢ n * 1 = n", "simp"),
    one("mul_one_m", "(m : Nat) : m * 1 = m", "m : Nat\n⊢ m * 1 = m", "rw [{Nat.mul_one}]"),
    one("one_mul'", "(n : Nat) : 1 * n = n", "n : Nat\n⊢ 1 * n = n", "rw [{Nat.one_mul}]"),
    one("one_mul_m", "(m : Nat) : 1 * m = m", "m : Nat\n⊢ 1 * m = m", "exact {Nat.one_mul} m"),
    one("mul_zero'", "(n : Nat) : n * 0 = 0", "n : Nat\n⊢ n * 0 = 0", "exact {Nat.mul_zero} n"),
    one("zero_mul'", "(n : Nat) : 0 * n = 0", "n : Nat\n⊢ 0 * n = 0", "simp"),
    one("zero_mul_m", "(m : Nat) : 0 * m = 0", "m : Nat\n⊢ 0 * m = 0", "rw [{Nat.zero_mul}]"),
    one("two_mul'", "(n : Nat) : 2 * n = n + n", "n : Nat\n⊢ 2 * n = n + n", "rw [{Nat.two_mul}]"),
    one("mul_two'", "(n : Nat) : n * 2 = n + n", "n : Nat\n⊢ n * 2 = n + n", "rw [{Nat.mul_two}]"),
    one("two_mul_m", "(m : Nat) : 2 * m = m + m", "m : Nat\n⊢ 2 * m = m + m", "omega"),
    one("left_distrib'", "(a b c : Nat) : a * (b + c) = a * b + a * c", "a b c : Nat\n⊢ a * (b + c) = a * b + a * c",
        "rw [{Nat.left_distrib}]"),
    one("mul_add_xyz", "(x y z : Nat) : x * (y + z) = x * y + x * z", "x y z : Nat\n⊢ x * (y + z) = x * y + x * z",
        "exact {Nat.left_distrib} x y z"),
    one("right_distrib'", "(a b c : Nat) : (a + b) * c = a * c + b * c",
        "a b c : Nat\n⊢ (a + b) * c = a * c + b * c", "rw [{Nat.right_distrib}]"),
    one("pow_two'", "(n : Nat) : n ^ 2 = n * n", "n : Nat\n⊢ n ^ 2 = n * n", "rw [{Nat.pow_two}]"),
    one("succ_ne_zero'", "(n : Nat) : n + 1 ≠ 0", "n : Nat\n⊢ n + 1 ≠ 0", "exact {Nat.succ_ne_zero} n"),
    one("add_one_ne_zero", "(m : Nat) : m + 1 ≠ 0", "m : Nat\n⊢ m + 1 ≠ 0", "omega"),
    one("max_self'", "(n : Nat) : max n n = n", "n : Nat\n⊢ max n n = n", "simp"),
    one("min_self'", "(n : Nat) : min n n = n", "n : Nat\n⊢ min n n = n", "simp"),
    one("max_comm'", "(a b : Nat) : max a b = max b a", "a b : Nat\n⊢ max a b = max b a", "exact {Nat.max_comm} a b"),
    one("min_comm'", "(a b : Nat) : min a b = min b a", "a b : Nat\n⊢ min a b = min b a", "exact {Nat.min_comm} a b"),
    one("sub_self'", "(n : Nat) : n - n = 0", "n : Nat\n⊢ n - n = 0", "simp"),
    one("add_sub_cancel'", "(a b : Nat) : a + b - b = a", "a b : Nat\n⊢ a + b - b = a", "omega"),
    one("two_add_two", ": 2 + 2 = 4", "⊢ 2 + 2 = 4", "decide"),
    one("three_mul_two", ": 3 * 2 = 6", "⊢ 3 * 2 = 6", "decide"),
    *curried("add_one_congr", "", [("a b", "Nat")], [("h", "a = b")], "a + 1 = b + 1", [("rw [h]", NO)],
             [("omega", NO)]),
    *curried("eq_of_add_eq", "", [("a b c", "Nat")], [("h", "a + c = b + c")], "a = b",
             [("exact {Nat.add_right_cancel} h", NO)], [("omega", NO)]),
    *curried("eq_zero_of_add_eq_zero", "", [("a b", "Nat")], [("h", "a + b = 0")], "a = 0", [("omega", NO)],
             [("omega", NO)]),
    *curried("mul_congr_right", "", [("a b c", "Nat")], [("h", "a = b")], "a * c = b * c", [("rw [h]", NO)],
             [("subst h", "a c : Nat\n⊢ a * c = a * c"), ("rfl", NO)]),
    *curried("sub_add_cancel'", "", [("a b", "Nat")], [("h", "b ≤ a")], "a - b + b = a",
             [("exact {Nat.sub_add_cancel} h", NO)], [("omega", NO)]),
    ("add_comm_three", "(a b c : Nat) : a + b + c = c + b + a",
     [("sorry", "a b c : Nat\n⊢ a + b + c = c + b + a", NO)]),
]
ORDER = [
    one("le_refl'", "(n : Nat) : n ≤ n", "n : Nat\n⊢ n ≤ n", "exact {Nat.le_refl} n"),
    one("le_refl_m", "(m : Nat) : m ≤ m", "m : Nat\n⊢ m ≤ m", "apply {Nat.le_refl}"),
    one("zero_le'", "(n : Nat) : 0 ≤ n", "n : Nat\n⊢ 0 ≤ n", "exact {Nat.zero_le} n"),
    one("zero_le_m", "(m : Nat) : 0 ≤ m", "m : Nat\n⊢ 0 ≤ m", "omega"),
    one("lt_irrefl'", "(n : Nat) : ¬n < n", "n : Nat\n⊢ ¬n < n", "exact {Nat.lt_irrefl} n"),
    one("le_add_self", "(a b : Nat) : a ≤ a + b", "a b : Nat\n⊢ a ≤ a + b", "apply {Nat.le_add_right}"),
    one("le_add_right'", "(m n : Nat) : m ≤ m + n", "m n : Nat\n⊢ m ≤ m + n", "exact {Nat.le_add_right} m n"),
    one("le_add_left'", "(a b : Nat) : a ≤ b + a", "a b : Nat\n⊢ a ≤ b + a", "exact {Nat.le_add_left} a b"),
    one("lt_add_one'", "(n : Nat) : n < n + 1", "n : Nat\n⊢ n < n + 1", "omega"),
    one("lt_succ_self'", "(m : Nat) : m < m + 1", "m : Nat\n⊢ m < m + 1", "exact {Nat.lt_succ_self} m"),
    one("le_succ'", "(n : Nat) : n ≤ n + 1", "n : Nat\n⊢ n ≤ n + 1", "exact {Nat.le_succ} n"),
    one("le_max_left'", "(a b : Nat) : a ≤ max a b", "a b : Nat\n⊢ a ≤ max a b", "exact {Nat.le_max_left} a b"),
    one("le_max_right'", "(a b : Nat) : b ≤ max a b", "a b : Nat\n⊢ b ≤ max a b", "exact {Nat.le_max_right} a b"),
    one("min_le_left'", "(a b : Nat) : min a b ≤ a", "a b : Nat\n⊢ min a b ≤ a", "exact {Nat.min_le_left} a b"),
    one("min_le_right'", "(a b : Nat) : min a b ≤ b", "a b : Nat\n⊢ min a b ≤ b", "omega"),
    one("sub_le'", "(a b : Nat) : a - b ≤ a", "a b : Nat\n⊢ a - b ≤ a", "exact {Nat.sub_le} a b"),
    one("three_lt_five", ": 3 < 5", "⊢ 3 < 5", "decide"),
    *curried("le_succ_of_le'", "", [("a b", "Nat")], [("h", "a ≤ b")], "a ≤ b + 1",
             [("exact {Nat.le_succ_of_le} h", NO)], [("omega", NO)]),
    *curried("le_trans'", "", [("a b c", "Nat")], [("h₁", "a ≤ b"), ("h₂", "b ≤ c")], "a ≤ c",
             [("exact {Nat.le_trans} h₁ h₂", NO)], [("omega", NO)]),
    *curried("lt_of_lt_of_le'", "", [("a b c", "Nat")], [("h₁", "a < b"), ("h₂", "b ≤ c")], "a < c",
             [("exact {Nat.lt_of_lt_of_le} h₁ h₂", NO)], [("omega", NO)]),
    *curried("lt_of_le_of_lt'", "", [("a b c", "Nat")], [("h₁", "a ≤ b"), ("h₂", "b < c")], "a < c",
             [("omega", NO)], [("exact {Nat.lt_of_le_of_lt} h₁ h₂", NO)]),
    *curried("lt_trans'", "", [("a b c", "Nat")], [("h₁", "a < b"), ("h₂", "b < c")], "a < c",
             [("exact {Nat.lt_trans} h₁ h₂", NO)], [("omega", NO)]),
    *curried("le_of_lt'", "", [("a b", "Nat")], [("h", "a < b")], "a ≤ b", [("exact {Nat.le_of_lt} h", NO)],
             [("omega", NO)]),
    *curried("succ_le_succ'", "", [("a b", "Nat")], [("h", "a ≤ b")], "a + 1 ≤ b + 1",
             [("exact {Nat.succ_le_succ} h", NO)], [("omega", NO)]),
    *curried("add_le_add'", "", [("a b c d", "Nat")], [("h₁", "a ≤ b"), ("h₂", "c ≤ d")], "a + c ≤ b + d",
             [("exact {Nat.add_le_add} h₁ h₂", NO)], [("omega", NO)]),
    *curried("add_le_add_right'", "", [("a b c", "Nat")], [("h", "a ≤ b")], "a + c ≤ b + c",
             [("exact {Nat.add_le_add_right} h c", NO)], [("omega", NO)]),
    *curried("add_le_add_left'", "", [("a b c", "Nat")], [("h", "a ≤ b")], "c + a ≤ c + b",
             [("omega", NO)], [("exact {Nat.add_le_add_left} h c", NO)]),
    *curried("add_lt_add_right'", "", [("a b c", "Nat")], [("h", "a < b")], "a + c < b + c",
             [("exact {Nat.add_lt_add_right} h c", NO)], [("omega", NO)]),
    *curried("le_antisymm'", "", [("a b", "Nat")], [("h₁", "a ≤ b"), ("h₂", "b ≤ a")], "a = b",
             [("exact {Nat.le_antisymm} h₁ h₂", NO)], [("omega", NO)]),
    *curried("pos_of_ne_zero'", "", [("n", "Nat")], [("h", "n ≠ 0")], "0 < n",
             [("exact {Nat.pos_of_ne_zero} h", NO)], [("omega", NO)]),
    *curried("ne_of_lt'", "", [("a b", "Nat")], [("h", "a < b")], "a ≠ b", [("exact {Nat.ne_of_lt} h", NO)],
             [("omega", NO)]),
    *curried("eq_zero_of_le_zero'", "", [("n", "Nat")], [("h", "n ≤ 0")], "n = 0",
             [("exact {Nat.eq_zero_of_le_zero} h", NO)], [("omega", NO)]),
    *curried("mul_le_mul_left'", "", [("a b c", "Nat")], [("h", "a ≤ b")], "c * a ≤ c * b",
             [("exact {Nat.mul_le_mul_left} c h", NO)], [("exact {Nat.mul_le_mul_left} c h", NO)]),
    # Nested tactics, listed as LeanDojo lists them: a sequence's tactics first, then the sequences nested
    # in them (the `have`'s own proof comes after `exact h'`); the focusing dot `·` itself is not recorded.
    ("le_add_both", "(a b c : Nat) (h : a ≤ b) : a + c ≤ b + c + 1", chain("a b c : Nat\nh : a ≤ b\n⊢ a + c ≤ b + c + 1", [
        ("have h' : a + c ≤ b + c := by\n  exact {Nat.add_le_add_right} h c", "a b c : Nat\nh : a ≤ b\nh' : a + c ≤ b + c\n⊢ a + c ≤ b + c + 1"),
        ("apply {Nat.le_succ_of_le}", "case h\na b c : Nat\nh : a ≤ b\nh' : a + c ≤ b + c\n⊢ a + c ≤ b + c"),
        ("exact h'", NO)]) + [("exact {Nat.add_le_add_right} h c", "a b c : Nat\nh : a ≤ b\n⊢ a + c ≤ b + c", NO)],
     ["have h' : a + c ≤ b + c := by", "  exact Nat.add_le_add_right h c", "apply Nat.le_succ_of_le", "exact h'"]),
    ("eq_and_self", "(p : Prop) (n : Nat) (h : p) : n = n ∧ p", [
        ("constructor", "p : Prop\nn : Nat\nh : p\n⊢ n = n ∧ p",
         "case left\np : Prop\nn : Nat\nh : p\n⊢ n = n\n\ncase right\np : Prop\nn : Nat\nh : p\n⊢ p"),
        ("rfl", "case left\np : Prop\nn : Nat\nh : p\n⊢ n = n", NO),
        ("exact h", "case right\np : Prop\nn : Nat\nh : p\n⊢ p", NO)],
     ["constructor", "· rfl", "· exact h"]),
]
L1, L12, LXY = A + "l : List α", A + "l₁ l₂ : List α", A + "xs ys : List α"
LIST = [
    one("append_nil'", "(l : List α) : l ++ [] = l", L1 + "\n⊢ l ++ [] = l", "simp"),
    one("append_nil_xs", "(xs : List α) : xs ++ [] = xs", A + "xs : List α\n⊢ xs ++ [] = xs", "rw [{List.append_nil}]"),
    one("nil_append'", "(l : List α) : [] ++ l = l", L1 + "\n⊢ [] ++ l = l", "rfl"),
    one("length_append'", "(l₁ l₂ : List α) : (l₁ ++ l₂).length = l₁.length + l₂.length",
        L12 + "\n⊢ (l₁ ++ l₂).length = l₁.length + l₂.length", "exact {List.length_append} l₁ l₂"),
    one("length_append_xs", "(xs ys : List α) : (xs ++ ys).length = xs.length + ys.length",
        LXY + "\n⊢ (xs ++ ys).length = xs.length + ys.length", "rw [{List.length_append}]"),
    one("reverse_reverse'", "(l : List α) : l.reverse.reverse = l", L1 + "\n⊢ l.reverse.reverse = l", "simp"),
    one("reverse_reverse_xs", "(xs : List α) : xs.reverse.reverse = xs", A + "xs : List α\n⊢ xs.reverse.reverse = xs",
        "rw [{List.reverse_reverse}]"),
    one("map_id''", "(l : List α) : l.map id = l", L1 + "\n⊢ List.map id l = l", "simp"),
    one("length_map'", "(l : List α) (f : α → β) : (l.map f).length = l.length",
        AB + "l : List α\nf : α → β\n⊢ (List.map f l).length = l.length", "rw [{List.length_map}]"),
    one("length_map_xs", "(xs : List α) (g : α → β) : (xs.map g).length = xs.length",
        AB + "xs : List α\ng : α → β\n⊢ (List.map g xs).length = xs.length", "exact {List.length_map} xs g"),
    one("append_assoc'", "(a b c : List α) : a ++ b ++ c = a ++ (b ++ c)",
        A + "a b c : List α\n⊢ a ++ b ++ c = a ++ (b ++ c)", "rw [{List.append_assoc}]"),
    one("append_assoc_xs", "(xs ys zs : List α) : xs ++ ys ++ zs = xs ++ (ys ++ zs)",
        A + "xs ys zs : List α\n⊢ xs ++ ys ++ zs = xs ++ (ys ++ zs)", "exact {List.append_assoc} xs ys zs"),
    one("length_reverse'", "(l : List α) : l.reverse.length = l.length", L1 + "\n⊢ l.reverse.length = l.length",
        "exact {List.length_reverse} l"),
    one("length_reverse_xs", "(xs : List α) : xs.reverse.length = xs.length",
        A + "xs : List α\n⊢ xs.reverse.length = xs.length", "rw [{List.length_reverse}]"),
    one("mem_singleton_self'", "(a : α) : a ∈ [a]", A + "a : α\n⊢ a ∈ [a]", "simp"),
    one("length_cons'", "(a : α) (l : List α) : (a :: l).length = l.length + 1",
        A + "a : α\nl : List α\n⊢ (a :: l).length = l.length + 1", "rfl"),
    one("length_nil'", ": ([] : List α).length = 0", A + "⊢ [].length = 0", "rfl"),
    one("filter_nil'", "(p : α → Bool) : [].filter p = []", A + "p : α → Bool\n⊢ List.filter p [] = []", "rfl"),
    one("map_nil'", "(f : α → β) : [].map f = []", AB + "f : α → β\n⊢ List.map f [] = []", "rfl"),
    one("map_append'", "(f : α → β) (l₁ l₂ : List α) : (l₁ ++ l₂).map f = l₁.map f ++ l₂.map f",
        AB + "f : α → β\nl₁ l₂ : List α\n⊢ List.map f (l₁ ++ l₂) = List.map f l₁ ++ List.map f l₂",
        "rw [{List.map_append}]"),
    one("map_append_xs", "(g : α → β) (xs ys : List α) : (xs ++ ys).map g = xs.map g ++ ys.map g",
        AB + "g : α → β\nxs ys : List α\n⊢ List.map g (xs ++ ys) = List.map g xs ++ List.map g ys",
        "exact {List.map_append} g xs ys"),
    one("reverse_append'", "(l₁ l₂ : List α) : (l₁ ++ l₂).reverse = l₂.reverse ++ l₁.reverse",
        L12 + "\n⊢ (l₁ ++ l₂).reverse = l₂.reverse ++ l₁.reverse", "rw [{List.reverse_append}]"),
    one("length_replicate'", "(n : Nat) (a : α) : (List.replicate n a).length = n",
        A + "n : Nat\na : α\n⊢ (List.replicate n a).length = n", "exact {List.length_replicate} n a"),
    one("length_replicate_m", "(m : Nat) (b : α) : (List.replicate m b).length = m",
        A + "m : Nat\nb : α\n⊢ (List.replicate m b).length = m", "simp"),
    one("length_filter_le'", "(p : α → Bool) (l : List α) : (l.filter p).length ≤ l.length",
        A + "p : α → Bool\nl : List α\n⊢ (List.filter p l).length ≤ l.length", "exact {List.length_filter_le} p l"),
    ("length_append_comm", "(l₁ l₂ : List α) : (l₁ ++ l₂).length = (l₂ ++ l₁).length", chain(
        L12 + "\n⊢ (l₁ ++ l₂).length = (l₂ ++ l₁).length", [
            ("rw [{List.length_append}, {List.length_append}]", L12 + "\n⊢ l₁.length + l₂.length = l₂.length + l₁.length"),
            ("exact {Nat.add_comm} _ _", NO)])),
    ("length_le_append", "(l₁ l₂ : List α) : l₁.length ≤ (l₁ ++ l₂).length", chain(
        L12 + "\n⊢ l₁.length ≤ (l₁ ++ l₂).length", [
            ("rw [{List.length_append}]", L12 + "\n⊢ l₁.length ≤ l₁.length + l₂.length"), ("omega", NO)])),
    ("length_le_append_right", "(l₁ l₂ : List α) : l₂.length ≤ (l₁ ++ l₂).length", chain(
        L12 + "\n⊢ l₂.length ≤ (l₁ ++ l₂).length", [
            ("rw [{List.length_append}]", L12 + "\n⊢ l₂.length ≤ l₁.length + l₂.length"), ("omega", NO)])),
    ("length_lt_cons", "(a : α) (l : List α) : l.length < (a :: l).length", chain(
        A + "a : α\nl : List α\n⊢ l.length < (a :: l).length", [
            ("rw [{List.length_cons}]", A + "a : α\nl : List α\n⊢ l.length < l.length + 1"), ("omega", NO)])),
    one("map_map''", "(f : α → β) (g : β → γ) (l : List α) : (l.map f).map g = l.map (g ∘ f)",
        AB + "γ : Type u_3\nf : α → β\ng : β → γ\nl : List α\n⊢ List.map g (List.map f l) = List.map (g ∘ f) l",
        "simp [{List.map_map}]"),
    ("reverse_append_length", "(l₁ l₂ : List α) : (l₁ ++ l₂).reverse.length = l₁.length + l₂.length", chain(
        L12 + "\n⊢ (l₁ ++ l₂).reverse.length = l₁.length + l₂.length", [
            ("rw [{List.length_reverse}]", L12 + "\n⊢ (l₁ ++ l₂).length = l₁.length + l₂.length"),
            ("rw [{List.length_append}]", NO)])),
    ("ne_nil_of_length_pos'", "{l : List α} (h : 0 < l.length) : l ≠ []", chain(
        A + "l : List α\nh : 0 < l.length\n⊢ l ≠ []", [
            ("intro hl", A + "l : List α\nh : 0 < l.length\nhl : l = []\n⊢ False"),
            ("subst hl", A + "h : 0 < [].length\n⊢ False"),
            ("simp at h", NO)])),
    one("append_ne_nil_left", "{l₁ : List α} (l₂ : List α) (h : l₁ ≠ []) : l₁ ++ l₂ ≠ []",
        L12 + "\nh : l₁ ≠ []\n⊢ l₁ ++ l₂ ≠ []", "simp [h]"),
    *curried("length_eq_zero_of_eq_nil", A, [("l", "List α")], [("h", "l = []")], "l.length = 0",
             [("subst h", A + "⊢ [].length = 0"), ("rfl", NO)], [("simp [h]", NO)]),
    *curried("map_eq_nil_of_eq_nil", AB, [("f", "α → β"), ("l", "List α")], [("h", "l = []")], "List.map f l = []",
             [("subst h", AB + "f : α → β\n⊢ List.map f [] = []"), ("rfl", NO)], [("simp [h]", NO)]),
    *curried("reverse_eq_nil_of_eq_nil", A, [("l", "List α")], [("h", "l = []")], "l.reverse = []",
             [("simp [h]", NO)], [("subst h", A + "⊢ [].reverse = []"), ("rfl", NO)]),
    *curried("mem_append_left'", A, [("a", "α"), ("l₁ l₂", "List α")], [("h", "a ∈ l₁")], "a ∈ l₁ ++ l₂",
             [("exact {List.mem_append_left} l₂ h", NO)], [("simp [h]", NO)]),
    *curried("mem_append_right'", A, [("a", "α"), ("l₁ l₂", "List α")], [("h", "a ∈ l₂")], "a ∈ l₁ ++ l₂",
             [("exact {List.mem_append_right} l₁ h", NO)], [("simp [h]", NO)]),
    *curried("ne_nil_of_mem'", A, [("a", "α"), ("l", "List α")], [("h", "a ∈ l")], "l ≠ []",
             [("exact {List.ne_nil_of_mem} h", NO)],
             [("intro hl", A + "a : α\nl : List α\nh : a ∈ l\nhl : l = []\n⊢ False"), ("simp [hl] at h", NO)]),
    *curried("length_pos_of_ne_nil'", A, [("l", "List α")], [("h", "l ≠ []")], "0 < l.length",
             [("exact {List.length_pos}.mpr h", NO)], [("exact {List.length_pos}.mpr h", NO)]),
    *curried("length_append_pos", A, [("l₁ l₂", "List α")], [("h", "0 < l₁.length")], "0 < (l₁ ++ l₂).length",
             [("rw [{List.length_append}]", L12 + "\nh : 0 < l₁.length\n⊢ 0 < l₁.length + l₂.length"), ("omega", NO)],
             [("rw [{List.length_append}]", L12 + "\nh : 0 < l₁.length\n⊢ 0 < l₁.length + l₂.length"), ("omega", NO)]),
    *curried("append_eq_nil_left", A, [("l₁ l₂", "List α")], [("h", "l₁ ++ l₂ = []")], "l₁ = []",
             [("simp at h", L12 + "\nh : l₁ = [] ∧ l₂ = []\n⊢ l₁ = []"), ("exact h.1", NO)],
             [("exact ({List.append_eq_nil}.mp h).1", NO)]),
    ("length_reverse_append", "(l₁ l₂ : List α) : (l₁.reverse ++ l₂).length = l₁.length + l₂.length",
     [("sorry", L12 + "\n⊢ (l₁.reverse ++ l₂).length = l₁.length + l₂.length", NO)]),
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
        for name, sig, steps, *written in items:
            # `written`: the proof's lines when they are not the steps one per line (nested tactics)
            start = (len(lines) + 1, 1)
            lines.append(f"theorem {name} {sig} := by")
            lines += [f"  {line}" for line in written[0]] if written else [f"  {plain(t)}" for t, _, _ in steps]
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
        corpus.append({"path": path, "imports": [f"{CORE}.lean"] + [m.replace(".", "/") + ".lean" for m in imports],
                       "premises": own})
    by_file: dict[str, list] = {}
    for name, (path, line, code) in PREMISES.items():
        by_file.setdefault(path, []).append({"full_name": name, "code": code, "start": [line, 1],
                                             "end": [line + 2, 1], "kind": "commanddeclaration"})
    # Every Lean file imports `Init` implicitly, and `Init` imports the core files: so core premises are
    # accessible from every file of the project (LeanDojo's corpus lists the imports this way).
    corpus.append({"path": f"{CORE}.lean", "imports": sorted(by_file), "premises": []})
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
