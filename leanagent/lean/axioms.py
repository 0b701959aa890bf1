"""Which axioms a verified proof may rest on, and how to ask Lean (`#print axioms`).

A proof that elaborates can still prove nothing: Lean warns "declaration uses 'sorry'" only when the
declaration's own term holds `sorryAx`, so `exact earlier_sorry_lemma` draws no warning, and
`native_decide` or `skipKernelTC` tricks leave no trace in the text a regex could rely on. The
axioms of the theorem tell in every case. The whole-file re-check (`leanagent.prover.recheck`)
appends `axioms_probe` to the file it elaborates; the review flags read the stored answer.
"""

from __future__ import annotations

import re

#: Axioms every classical Lean proof may use; a verified proof uses nothing else.
STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
#: Axioms of native evaluation: the proof trusts the compiler (`native_decide`, `decide +native`).
NATIVE_AXIOMS = frozenset({"Lean.ofReduceBool", "Lean.ofReduceNat", "Lean.trustCompiler"})
#: The axiom behind every `sorry`.
SORRY_AXIOM = "sorryAx"

# Lean's answer; names may hold primes, and a long list wraps over lines.
ANSWER = re.compile(r"'(?P<name>.+?)' (?:does not depend on any axioms|depends on axioms: \[(?P<list>[^\]]*)\])")


def axioms_probe(full_name: str) -> str:
    """The command asking Lean for the axioms of `full_name` (every component quoted with «»)."""
    return "#print axioms " + ".".join(f"«{part}»" for part in full_name.split("."))


def answer_axioms(match: re.Match) -> tuple[str, ...]:
    """The axiom names of one `ANSWER` match."""
    return tuple(n.strip().strip("«»") for n in (match["list"] or "").split(",") if n.strip())


def beyond_standard(axioms) -> tuple[list[str], list[str]]:
    """(native-evaluation axioms, other axioms beyond the standard three), each sorted; `sorryAx` is
    in neither: it is no axiom a proof may rest on at all (pure)."""
    names = set(axioms)
    return sorted(names & NATIVE_AXIOMS), sorted(names - STANDARD_AXIOMS - NATIVE_AXIOMS - {SORRY_AXIOM})
