"""Text rules about Lean that every layer shares: tactic normalisation, `sorry`, module names.

Pure functions with no dependency inside leanagent, so the database, the
models and the prover agree on what "the same tactic" means.
"""

from __future__ import annotations

import re

#: `sorry` or `admit` as a token (not `sorry_lemma`, not `foo.sorry`).
SORRY_RE = re.compile(r"(?<![\w.'])(sorry|admit)(?![\w'])")

#: A Lean identifier as it can appear in tactic text: dotted parts of letters, digits, `_`, `'`, `!`, `?`,
#: plus the subscripts and Greek letters mathlib uses. Good enough to find names, not a Lean lexer.
IDENT_RE = re.compile(r"[A-Za-z_\u0370-\u03ff\u1d00-\u1dbf\u2080-\u209c][\w'!?\u2080-\u209c]*"
                      r"(?:\.[A-Za-z_\u0370-\u03ff][\w'!?\u2080-\u209c]*)*")


def mentions_sorry(tactic: str) -> bool:
    """True when a tactic uses `sorry` or `admit` as a token (not `sorry_lemma`)."""
    return bool(SORRY_RE.search(tactic))


def usable_tactic(tactic: str) -> bool:
    """May a recorded step with this tactic teach or propose anything? Not blank, and no `sorry`/`admit`:
    the one rule for the proposers' step tables, kNN, frequency and the training data."""
    return bool(tactic.strip()) and not mentions_sorry(tactic)


def normalize_tactic(tactic: str) -> str:
    """Tactic text for comparing and de-duplicating, keeping its line structure.

    Within a line, runs of spaces collapse to one and trailing space goes;
    blank lines go; indentation is kept relative to the least-indented line.
    Lean reads `·`, `calc` and `case` blocks by their layout, so a one-line
    version of a multi-line block is a different tactic and must not match it.
    """
    lines = [ln.rstrip() for ln in tactic.replace("\t", "    ").splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        return ""
    # The first line is often cut from its context (no indentation of its own): dedent the rest by
    # their own minimum, so the same block written at another indentation compares equal.
    first, rest = lines[0].strip(), lines[1:]
    indent = min((len(ln) - len(ln.lstrip(" ")) for ln in rest), default=0)
    out = [" ".join(first.split())]
    for ln in rest:
        lead = len(ln) - len(ln.lstrip(" ")) - indent
        out.append(" " * lead + " ".join(ln.split()))
    return "\n".join(out)


def identifiers(text: str) -> set[str]:
    """The identifier-like tokens of a tactic (`Nat.add_comm`, `h₁`, `foo'`) (pure)."""
    return set(IDENT_RE.findall(text))


def names_declaration(tokens: set[str], full_name: str) -> bool:
    """True when one of `tokens` may refer to the declaration `full_name` (full or namespace-relative).

    `Nat.foo_bar` is named by `Nat.foo_bar`, `foo_bar` (inside `namespace Nat` or after `open Nat`)
    and `_root_.Nat.foo_bar`. Conservative: a short token that equals the last part always counts.
    """
    parts = full_name.split(".")
    suffixes = {".".join(parts[i:]) for i in range(len(parts))}
    return any(t in suffixes or t.removeprefix("_root_.") in suffixes for t in tokens)


def module_of_path(path: str) -> str:
    """`.lake/packages/mathlib/Mathlib/Order/Synonym.lean` -> `Mathlib.Order.Synonym`."""
    p = path.replace("\\", "/")
    if p.startswith(".lake/packages/"):
        p = p[len(".lake/packages/"):].split("/", 1)[1] if "/" in p[len(".lake/packages/"):] else p
        if p.startswith("src/lean/"):  # the Lean core package keeps its sources under src/lean
            p = p[len("src/lean/"):]
    elif p.startswith("lake-packages/"):  # older Lake layout
        p = p.split("/", 2)[2] if p.count("/") >= 2 else p
    if p.endswith(".lean"):
        p = p[: -len(".lean")]
    return p.strip("/").replace("/", ".")
