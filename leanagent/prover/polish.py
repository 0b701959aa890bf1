"""Polishing a found proof: shorter or cleaner variants that the whole-file re-check still verifies.

A proof found tactic by tactic often carries tactics that did nothing for the final proof, or a bare
`simp` in the middle that breaks when the library changes. After the re-check verified a proof that a
Lean backend found (replay runs no Lean), `polish_result` tries, in this fixed order:

1. collapse: the whole proof as one `simp`, `omega` or `decide` (in that order), each only when the
   search's proposer proposed that tactic for this theorem (`proposed_tactics`): the first kept wins;
2. drops: each tactic in turn, greedily (a kept drop and the next tries go on from the shorter proof;
   the last tactic left is never dropped);
3. `simp only`: every non-terminal `simp` (one followed by more tactics) is run as `simp?` in the file and
   replaced by the `simp only [...]` Lean suggests (`Try this: ...`, `leanagent.lean.measure.try_this`).

Each variant is checked as the found proof was (`Rechecker.check`: the whole file, with the profiler),
and kept only when (`refusal`) the file is `verified`, the theorem's axioms are the found proof's, its
elaboration time is at most the found proof's + 10% (when both are measured), and it has no warning the
found proof did not have. The budget (`PolishOptions.polish_seconds`) is wall time, checked before each
Lean run (a run started in time finishes); apart from that cap the tries and their order are fixed, so
polishing the same proof in the same file keeps the same variant.

The result: `SearchResult.polished` (the kept variant, when anything was kept), `SearchResult.polish`
(`{"tried", "kept", "seconds", "budget_hit"}` or `{"skipped": reason}`) and `measures["polished"]`.
Polishing never changes the verdict, the outcome or the found proof.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable

from leanagent.lean.check import VERIFIED
from leanagent.lean.measure import tactic_lines, try_this

#: The one-tactic proofs a collapse tries, in this order.
COLLAPSE = ("simp", "omega", "decide")
#: How much slower than the found proof a variant may elaborate.
SLOWER = 1.10


@dataclass(frozen=True)
class PolishOptions:
    """Polishing the proofs that `prove`, `learn` and `nightly` find (leanagent/prover/polish.py)."""

    polish: bool = True
    """Try shorter variants of every proof a Lean backend found and the whole-file re-check verified (collapse
    into one simp/omega/decide the search proposed, drop tactics, non-terminal simp -> simp only); a variant
    is kept only when the file still verifies, no slower than +10% and with no new warning (--no-polish: skip)."""
    polish_seconds: float = 60.0
    """Wall-clock seconds of polishing per proof at most (each try is one whole-file check; 0: try nothing)."""


def proposed_tactics(tree: Any) -> set[str]:
    """Every tactic the proposer proposed during a search (the search tree's edges, tried or refused)."""
    if tree is None:
        return set()
    return {e.tactic.strip() for n in tree.nodes for e in n.edges}


def refusal(found: Any, variant: Any) -> str | None:
    """Why a variant's check (a `CheckResult`) is not kept beside the found proof's; None: keep it."""
    if variant.status != VERIFIED:
        return f"not verified ({variant.status})"
    if sorted(variant.axioms or ()) != sorted(found.axioms or ()):
        return "other axioms"
    old, new = (found.measures or {}), (variant.measures or {})
    if old.get("seconds") is not None and new.get("seconds") is not None and new["seconds"] > SLOWER * old["seconds"]:
        return "slower"
    if Counter(new.get("warnings") or ()) - Counter(old.get("warnings") or ()):
        return "a new warning"
    return None


class Polisher:
    """Polishes one found proof of `ref` with `check(ref, tactics) -> CheckResult` (a `Rechecker`'s)."""

    def __init__(self, check: Callable[[Any, list[str]], Any], ref: Any, found: Any, options: PolishOptions,
                 clock: Callable[[], float] = time.monotonic):
        self.check, self.ref, self.found, self.clock = check, ref, found, clock
        self.deadline = clock() + options.polish_seconds
        self.tried = 0
        self.budget_hit = False
        self.kept: list[str] = []
        self.best = found  # the check of the proof kept so far

    def _time_left(self) -> bool:
        if self.clock() >= self.deadline:
            self.budget_hit = True
        return not self.budget_hit

    def _try(self, tactics: list[str], what: str) -> bool:
        """Check a variant; keep it (and say what it was) when `refusal` finds nothing against it."""
        if not self._time_left():
            return False
        self.tried += 1
        result = self.check(self.ref, tactics)
        if refusal(self.found, result) is not None:
            return False
        self.kept.append(what)
        self.best = result
        return True

    def run(self, proof: list[str], proposed: Iterable[str]) -> list[str]:
        """The polished proof (`proof` itself when nothing was kept)."""
        proposed = set(proposed)
        if len(proof) > 1:
            for tactic in COLLAPSE:
                if tactic in proposed and self._try([tactic], f"collapse: {tactic}"):
                    return [tactic]
        i = 0
        while i < len(proof) and len(proof) > 1 and not self.budget_hit:
            shorter = proof[:i] + proof[i + 1:]
            if self._try(shorter, f"drop {i + 1}: {proof[i]}"):
                proof = shorter
            else:
                i += 1
        for i in range(len(proof) - 1):  # the last tactic is terminal: a closing simp may stay bare
            if _bare_simp(proof[i]) and not self.budget_hit:
                proof = self._simp_only(proof, i)
        return proof

    def _simp_only(self, proof: list[str], i: int) -> list[str]:
        """`proof` with its tactic `i` (a bare simp) replaced by the `simp only` Lean suggests, when kept."""
        if not self._time_left():
            return proof
        probe = self.check(self.ref, proof[:i] + ["simp?" + proof[i].strip()[len("simp"):]] + proof[i + 1:])
        if probe.proof_line is None:
            return proof
        only = try_this(list(probe.messages), tactic_lines(proof, probe.proof_line)[i])
        if only is None:
            return proof
        variant = proof[:i] + [only] + proof[i + 1:]
        return variant if self._try(variant, f"simp only {i + 1}: {proof[i].strip()} -> {only}") else proof

    def report(self, started: float) -> dict:
        return {"tried": self.tried, "kept": list(self.kept), "seconds": round(self.clock() - started, 3),
                "budget_hit": self.budget_hit}


def _bare_simp(tactic: str) -> bool:
    """`simp`, `simp [h]`, `simp at h`: a simp whose lemma set is the whole simp set (not `simp only`)."""
    words = tactic.strip().split()
    return bool(words) and words[0] == "simp" and (len(words) == 1 or words[1] != "only")


def polish_result(res: Any, rechecker: Any, proposed: Iterable[str], options: PolishOptions,
                  clock: Callable[[], float] = time.monotonic) -> Any:
    """`res` (a re-checked `SearchResult`) with what polishing found; the verdict and the proof stay."""
    from leanagent.prover.recheck import CheckResult

    if res.outcome != "proved" or not res.proof:
        return res
    skipped = _skip_reason(res, options)
    if skipped is not None:
        return replace(res, polish={"skipped": skipped})
    started = clock()
    # The bar a variant must pass: what the re-check said of the found proof.
    found = CheckResult(res.check_status, res.checked_by, axioms=tuple(res.axioms or ()),
                        measures=(res.measures or {}).get("found"))
    polisher = Polisher(rechecker.check, res.theorem, found, options, clock)
    polished = polisher.run(list(res.proof), proposed)
    out = replace(res, polish=polisher.report(started))
    if polisher.kept:
        measures = dict(res.measures or {})
        measures["polished"] = polisher.best.measures
        out = replace(out, polished=polished, measures=measures)
    return out


def _skip_reason(res: Any, options: PolishOptions) -> str | None:
    if res.checked_by is None:
        return f"no whole-file check ran: {res.check_message or 'no Lean'}"
    if not options.polish:
        return "--no-polish"
    if res.check_status != VERIFIED:
        return f"the re-check did not verify the proof ({res.check_status})"
    if options.polish_seconds <= 0:
        return "no time: polish_seconds is 0"
    return None
