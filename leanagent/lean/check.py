"""The whole-file check: elaborate a file with a proof in place and judge what Lean said, failing closed.

Tactic modes have accepted invalid proofs (Pantograph issue 1; PyPantograph issue 106, `exact?`
under `load_sorry`). So a proof found tactic by tactic is put into its file exactly as the patch
export will put it (`probe_file`, through `leanagent.lean.proof_text.replace_proof`, which finds the
theorem by its full name in the file as it is now), `#print axioms THEOREM` is appended, and the
whole file is elaborated again: by a REPL command (`leanagent.lean.repl.ReplSession.check_text`) or
by `lake env lean` (`lake_check`).

The verdict fails closed (`judge`). `verified` needs all of: Lean ran to the end of the file (the
REPL answered; `lake env lean` exited 0 or 1 with its messages), no error anywhere in the file, no
"declaration uses 'sorry'" on the theorem, and an axioms answer for the theorem holding nothing
beyond `propext`, `Classical.choice` and `Quot.sound`. Otherwise:

- `rejected`: an error at or after the theorem's first line, a `sorry` warning on it, or `sorryAx`
  among its axioms (a proof through an earlier `sorry` lemma draws no warning, but its axioms tell);
- `flagged`: the file elaborates, but the theorem depends on native evaluation
  (`Lean.ofReduceBool`, `Lean.trustCompiler`: `native_decide`, `decide +native`) or on another axiom,
  named in the message;
- `unchecked`: no verdict, with the reason: an error before the theorem (unbuilt imports: Lean stops
  after a header error), a crash, a kill, a timeout, no axioms answer.

The prover's side (which worker checks, replay, storing the verdict) is `leanagent.prover.recheck`.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leanagent.errors import LeanAgentError, ToolchainError
from leanagent.lean.axioms import ANSWER, SORRY_AXIOM, answer_axioms, axioms_probe, beyond_standard
from leanagent.lean.proof_text import Location, replace_proof
from leanagent.lean.repl import Message

#: A proof's check status (`Proof.check_status`): what `judge` answers.
VERIFIED, REJECTED, FLAGGED, UNCHECKED = "verified", "rejected", "flagged", "unchecked"
CHECK_STATUSES = (VERIFIED, REJECTED, FLAGGED, UNCHECKED)

USES_SORRY = ("declaration uses 'sorry'", "declaration uses `sorry`")
#: How many of Lean's messages a rejection keeps.
MAX_MESSAGES = 3
_LEAN_LINE = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|info)(?:\([^)]*\))?: "
                        r"(?P<text>.*)$")


@dataclass(frozen=True)
class LeanRun:
    """What one whole-file elaboration said."""

    messages: list[Message]
    finished: bool = True        # Lean ran to the end of the file and exited normally
    failure: str | None = None   # why it did not (exit status and the output's tail)
    output: str = ""             # the raw output, for answers printed without a position


def parse_axioms(run: LeanRun, line: int, full_name: str) -> tuple[str, ...] | None:
    """The axioms answered for the probe at `line`: its info message, else (`lean` prints info
    messages without a position on some releases) the last answer in the output that names
    `full_name`; None when there is none."""
    answers = [m for t in (x.text for x in run.messages if x.line == line and x.severity == "info")
               for m in ANSWER.finditer(t)]
    if not answers:
        answers = [m for m in ANSWER.finditer(run.output) if m["name"].replace("«", "").replace("»", "") == full_name]
    if not answers:
        return None
    return answer_axioms(answers[-1])


def _messages(bad: list[Message]) -> str:
    bad = sorted(bad, key=lambda m: (m.line, m.column))
    more = f" (and {len(bad) - MAX_MESSAGES} more)" if len(bad) > MAX_MESSAGES else ""
    return "; ".join(str(m) for m in bad[:MAX_MESSAGES]) + more


def judge(run: LeanRun, first_line: int, last_line: int, probe_line: int,
          full_name: str) -> tuple[str, str | None, tuple | None]:
    """(status, message, axioms) for the theorem `full_name` at `first_line..last_line`, whose axioms
    were asked for at `probe_line` (see the module docstring)."""
    errors = [m for m in run.messages if m.severity == "error"]
    before = [m for m in errors if m.line < first_line]
    if before:  # the proof cannot cause them, and what follows them is not a verdict on the proof
        return UNCHECKED, "Lean reports an error before the theorem, so the file says nothing about the proof: " \
            + _messages(before), None
    if not run.finished:
        return UNCHECKED, f"Lean did not run to the end of the file: {run.failure}", None
    bad = [m for m in errors if m.line < probe_line]
    bad += [m for m in run.messages if m.severity == "warning" and m.text.strip() in USES_SORRY
            and first_line <= m.line <= last_line]
    if bad:
        return REJECTED, _messages(bad), None
    probe_errors = [m for m in errors if m.line >= probe_line]
    if probe_errors:
        return UNCHECKED, "Lean could not print the theorem's axioms: " + _messages(probe_errors), None
    axioms = parse_axioms(run, probe_line, full_name)
    if axioms is None:
        return UNCHECKED, "Lean gave no `#print axioms` answer for the theorem", None
    return (*_axioms_verdict(axioms), axioms)


def _axioms_verdict(axioms: tuple[str, ...]) -> tuple[str, str | None]:
    if SORRY_AXIOM in axioms:
        return REJECTED, "the theorem depends on sorryAx: a `sorry` in the proof or in a lemma it uses"
    native, other = beyond_standard(axioms)
    if native:
        return FLAGGED, "native: the theorem depends on " + ", ".join(native) + " (it trusts the compiler)" \
            + (f"; other axioms: {', '.join(other)}" if other else "")
    if other:
        return FLAGGED, "axioms: the theorem depends on " + ", ".join(other) + \
            " beyond propext, Classical.choice and Quot.sound"
    return VERIFIED, None


def lake_check(project: str | Path, rel: str, text: str, lake: str = "lake", timeout: float = 600.0) -> LeanRun:
    """Elaborate `text` as the file `rel` of `project` with `lake env lean`.

    The text is written to a temporary folder (the checkout is never modified); imports resolve
    through the project's search path that `lake env` sets. Exit 0 (no error) and 1 (errors, all
    printed) mean Lean ran to the end; anything else (a crash, a kill, a lake failure) does not.
    """
    with tempfile.TemporaryDirectory(prefix="leanagent-recheck-") as tmp:
        path = Path(tmp) / Path(rel).name
        path.write_text(text, encoding="utf-8", newline="")
        try:
            proc = subprocess.run([lake, "env", "lean", str(path)], cwd=str(project), capture_output=True,
                                  text=True, timeout=timeout)
        except FileNotFoundError:
            raise ToolchainError(f"`{lake}` not found for the whole-file re-check",
                                 fix="install elan so that `lake` is on PATH") from None
        except subprocess.TimeoutExpired:
            raise LeanAgentError(f"`lake env lean` did not finish within {timeout:g}s") from None
    output = proc.stdout + proc.stderr
    out: list[Message] = []
    for line in output.split("\n"):
        m = _LEAN_LINE.match(line)
        if m:
            out.append(Message(m["sev"], int(m["line"]), int(m["col"]), m["text"]))
        elif out and line.strip():  # a message continues over several lines
            last = out[-1]
            out[-1] = Message(last.severity, last.line, last.column, last.text + "\n" + line)
    errors = any(m.severity == "error" for m in out)
    finished = proc.returncode == 0 or (proc.returncode == 1 and errors)
    failure = None
    if not finished:
        tail = " ".join(output.split())[-300:]
        failure = f"exit status {proc.returncode}" + (f": {tail}" if tail else "")
    return LeanRun(out, finished, failure, output)


def probe_file(text: str, loc: Location, tactics: list[str]) -> tuple[str, int, int, int, Any]:
    """(the file with the proof in place and the axioms probe appended, the declaration's first line,
    the proof's last line, the probe's line, the placement). The proof goes where the patch puts it."""
    new_text, at, inserted = replace_proof(text, loc, tactics)
    last = new_text.count("\n", 0, at.region[0] + len(inserted)) + 1
    first = at.decl.start_line
    sep = "" if new_text.endswith("\n") else "\n"
    probe_line = new_text.count("\n") + len(sep) + 2
    return new_text + sep + "\n" + axioms_probe(loc.full_name) + "\n", first, last, probe_line, at
