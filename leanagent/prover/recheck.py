"""The prover's whole-file re-check: a proof found tactic by tactic counts only once its file elaborates.

Every proof a Lean backend finds goes through `Rechecker.apply`, in the worker that found it:

- LeanInteract: a REPL command in the worker's own REPL (the file's header environment is reused);
- LeanDojo: `lake env lean FILE` in the repository's checkout;
- replay: no Lean ran, so the proof stays `unchecked`.

The file runs with Lean's profiler on (`leanagent.lean.measure`, which maps the lines back so that the
verdict is the one of the file the patch produces): `check` also returns what a maintainer would
measure of the proof (its elaboration time beside its file's median, its lines, its warnings), and
`apply` stores it as the found proof's measures. Polishing (`leanagent.prover.polish`) checks its
variants through `check` too.

Placing the proof, elaborating and the fail-closed verdict are `leanagent.lean.check`; its module
docstring lists what `verified`, `rejected`, `flagged` and `unchecked` mean. Only `verified` makes
the theorem `proved_by_agent`; the review app flags the rest and `export-proofs` refuses them without
`--force`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from leanagent.db.records import file_digest
from leanagent.errors import LeanAgentError
from leanagent.lean.check import REJECTED, UNCHECKED, LeanRun, judge, lake_check, probe_file
from leanagent.lean.declarations import declarations
from leanagent.lean.measure import measure, proof_height, unshift, with_profiler
from leanagent.lean.proof_text import Location
from leanagent.data import TheoremRef
from leanagent.prover.search import SearchResult

log = logging.getLogger("leanagent.prover")


@dataclass(frozen=True)
class CheckResult:
    status: str                 # verified | rejected | flagged | unchecked
    checked_by: str | None      # repl | lake | None when no check ran
    message: str | None = None  # Lean's messages for a rejection; the reason otherwise
    axioms: tuple[str, ...] | None = None  # what `#print axioms` answered, when it did
    statement_digest: str | None = None    # of the statement the proof was placed under
    file_digest: str | None = None         # of the file text the proof was placed into
    measures: dict | None = None           # what Lean measured of the proof (leanagent.lean.measure), when it ran
    messages: tuple = ()                   # Lean's messages, at the lines of the file the patch produces
    proof_line: int | None = None          # the line of the proof's first tactic in that file


class Rechecker:
    """Re-checks the proofs one worker finds, with that worker's environment."""

    def __init__(self, env: Any, sources: Callable[[TheoremRef], Any], *, lake: str = "lake",
                 timeout: float = 600.0):
        self.env = env
        self.sources = sources
        self.lake = lake
        self.timeout = timeout
        self._source: tuple | None = None  # (ref, source) of the last theorem: polishing checks it again

    def source(self, ref: TheoremRef) -> Any:
        """The theorem's source, looked up once for the checks of one proof and its variants."""
        if self._source is None or self._source[0] != ref:
            self._source = (ref, self.sources(ref))
        return self._source[1]

    def check(self, ref: TheoremRef, tactics: list[str]) -> CheckResult:
        name = getattr(self.env, "name", "?")
        if name == "replay":
            return CheckResult(UNCHECKED, None, "replay: tactics checked against recorded traces; no Lean ran")
        if "<" in ref.full_name:  # `<example@12>`: nothing to ask `#print axioms` about
            return CheckResult(UNCHECKED, None, f"{ref.full_name} has no name to ask Lean for its axioms")
        try:
            src = self.source(ref)
            text = src.text()
            if text is None or not src.repo_path or not Path(src.repo_path).is_dir():
                return CheckResult(UNCHECKED, None, f"no local checkout of {ref.repo} to re-check the file in")
            checked, first, last, probe, at = probe_file(text, Location(ref.full_name, ref.start[0], ref.file_path),
                                                          tactics)
            profiled, after = with_profiler(checked)
            if hasattr(self.env, "check_file"):
                out = self.env.check_file(src.repo_path, profiled)
                by, run = "repl", LeanRun(out.messages)
            else:
                by, run = "lake", lake_check(src.repo_path, src.file_path, profiled, self.lake, self.timeout)
            run = replace(run, messages=unshift(run.messages, after))
        except LeanAgentError as exc:  # the theorem is not in the file, no toolchain, a crash or timeout
            log.info("no whole-file re-check of %s: %s", ref.full_name, exc.message)
            return CheckResult(UNCHECKED, None, exc.one_line())
        except (OSError, UnicodeDecodeError) as exc:  # the checkout file cannot be read
            return CheckResult(UNCHECKED, None, f"cannot read {ref.file_path}: {exc}")
        status, message, axioms = judge(run, first, last, probe, ref.full_name)
        proof_line = last - proof_height(tactics) + 1
        spans = [(d.start_line, d.end_line) for d in declarations(checked)]
        own = next((k for k, (a, _) in enumerate(spans) if a == first), None)
        measures = measure(run.messages, spans if own is not None else [(first, last)], own or 0, (proof_line, last))
        return CheckResult(status, by, message, axioms, at.statement_digest, file_digest(text), measures,
                           tuple(run.messages), proof_line)

    def apply(self, res: SearchResult) -> SearchResult:
        """`res` with the re-check's verdict: a rejected proof becomes outcome `rejected`."""
        if res.outcome != "proved" or not res.proof:
            return res
        check = self.check(res.theorem, res.proof)
        out = replace(res, check_status=check.status, checked_by=check.checked_by, check_message=check.message,
                      axioms=list(check.axioms) if check.axioms is not None else None,
                      statement_digest=check.statement_digest, checked_file_digest=check.file_digest,
                      measures={"found": check.measures} if check.measures is not None else None)
        if check.status == REJECTED:
            out = replace(out, outcome="rejected", error=f"whole-file re-check ({check.checked_by}): {check.message}")
        return out
