"""Whole-file re-check: a proof found tactic by tactic counts only once its file elaborates with it.

Tactic modes have accepted invalid proofs (Pantograph issue 1; PyPantograph issue 106, `exact?`
under `load_sorry`). So every proof a Lean backend finds is put into its file exactly as the patch
export will put it (`leanagent.db.proof_text.replace_proof`: the same function), and the whole file
is elaborated again before the proof is stored as verified:

- LeanInteract: a REPL command in the worker's own REPL (the file's header environment is reused);
- LeanDojo: `lake env lean FILE` in the repository's checkout.

Lean's verdict (`judge`): an error at or after the declaration's first line, or a "declaration uses
'sorry'" warning inside it, rejects the proof with Lean's message. Errors before the declaration
cannot come from the proof (Lean elaborates a file in order) and are ignored. A rejected proof is
still stored (outcome `rejected`, with the message) for review, but its theorem stays `sorry`.
Proofs that no whole-file check could look at (replay; no checkout, no toolchain, a check that
timed out) are `unchecked`, with the reason.
"""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from leanagent.db.proof_checks import REJECTED, UNCHECKED, VERIFIED
from leanagent.errors import LeanAgentError
from leanagent.prover.env import TheoremRef
from leanagent.prover.search import SearchResult
from leanagent.sources.repl import Message

log = logging.getLogger("leanagent.prover")

USES_SORRY = ("declaration uses 'sorry'", "declaration uses `sorry`")
#: How many of Lean's messages a rejection keeps.
MAX_MESSAGES = 3
_LEAN_LINE = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|info)(?:\([^)]*\))?: "
                        r"(?P<text>.*)$")


@dataclass(frozen=True)
class CheckResult:
    status: str                 # verified | rejected | unchecked
    checked_by: str | None      # repl | lake | None when no check ran
    message: str | None = None  # Lean's messages for a rejection; the reason when unchecked


def placed(text: str, src: Any, tactics: list[str]) -> tuple[str, int, int]:
    """(the file with the proof in place, first line of the declaration, last line of the new proof)."""
    from leanagent.db.proof_text import Location, replace_proof

    loc = Location(src.start[0], src.start[1], src.end[0], src.end[1], src.proof_text)
    new_text, (a, _), inserted = replace_proof(text, loc, tactics)
    last = new_text.count("\n", 0, a + len(inserted)) + 1
    return new_text, src.start[0], last


def judge(messages: list[Message], first_line: int, last_line: int) -> str | None:
    """None when Lean accepts the declaration at `first_line..last_line`, else Lean's messages."""
    bad = [m for m in messages if m.severity == "error" and m.line >= first_line]
    bad += [m for m in messages if m.severity == "warning" and m.text.strip() in USES_SORRY
            and first_line <= m.line <= last_line]
    if not bad:
        return None
    bad.sort(key=lambda m: (m.line, m.column))
    return "; ".join(str(m) for m in bad[:MAX_MESSAGES]) + (f" (and {len(bad) - MAX_MESSAGES} more)"
                                                           if len(bad) > MAX_MESSAGES else "")


def lake_check(project: str | Path, rel: str, text: str, lake: str = "lake", timeout: float = 600.0) -> list[Message]:
    """Elaborate `text` as the file `rel` of `project` with `lake env lean`; Lean's messages.

    The text is written to a temporary folder (the checkout is never modified); imports resolve
    through the project's search path that `lake env` sets.
    """
    from leanagent.errors import ToolchainError

    with tempfile.TemporaryDirectory(prefix="leanagent-recheck-") as tmp:
        path = Path(tmp) / Path(rel).name
        path.write_text(text, encoding="utf-8")
        try:
            proc = subprocess.run([lake, "env", "lean", str(path)], cwd=str(project), capture_output=True,
                                  text=True, timeout=timeout)
        except FileNotFoundError:
            raise ToolchainError(f"`{lake}` not found for the whole-file re-check",
                                 fix="install elan so that `lake` is on PATH") from None
        except subprocess.TimeoutExpired:
            raise LeanAgentError(f"`lake env lean` did not finish within {timeout:g}s") from None
    out: list[Message] = []
    for line in (proc.stdout + proc.stderr).splitlines():
        m = _LEAN_LINE.match(line)
        if m:
            out.append(Message(m["sev"], int(m["line"]), int(m["col"]), m["text"]))
        elif out and line.strip():  # a message continues over several lines
            last = out[-1]
            out[-1] = Message(last.severity, last.line, last.column, last.text + "\n" + line)
    if proc.returncode != 0 and not any(m.severity == "error" for m in out):
        tail = " ".join((proc.stderr or proc.stdout).split())[-300:] or f"exit status {proc.returncode}"
        out.append(Message("error", 1, 0, f"lean failed: {tail}"))
    return out


class Rechecker:
    """Re-checks the proofs one worker finds, with that worker's environment."""

    def __init__(self, env: Any, sources: Callable[[TheoremRef], Any], *, lake: str = "lake",
                 timeout: float = 600.0):
        self.env = env
        self.sources = sources
        self.lake = lake
        self.timeout = timeout

    def check(self, ref: TheoremRef, tactics: list[str]) -> CheckResult:
        name = getattr(self.env, "name", "?")
        if name == "replay":
            return CheckResult(UNCHECKED, None, "replay: tactics checked against recorded traces; no Lean ran")
        try:
            src = self.sources(ref)
            text = src.text()
            if text is None or not src.repo_path or not Path(src.repo_path).is_dir():
                return CheckResult(UNCHECKED, None, f"no local checkout of {ref.repo} to re-check the file in")
            new_text, first, last = placed(text, src, tactics)
            if hasattr(self.env, "check_file"):
                by, messages = "repl", self.env.check_file(src.repo_path, new_text).messages
            else:
                by, messages = "lake", lake_check(src.repo_path, src.file_path, new_text, self.lake, self.timeout)
        except LeanAgentError as exc:  # the proof cannot be placed, no toolchain, the check timed out
            log.info("no whole-file re-check of %s: %s", ref.full_name, exc.message)
            return CheckResult(UNCHECKED, None, exc.one_line())
        except (OSError, UnicodeDecodeError) as exc:  # the checkout file cannot be read
            return CheckResult(UNCHECKED, None, f"cannot read {ref.file_path}: {exc}")
        verdict = judge(messages, first, last)
        if verdict is None:
            return CheckResult(VERIFIED, by)
        return CheckResult(REJECTED, by, verdict)

    def apply(self, res: SearchResult) -> SearchResult:
        """`res` with the re-check's verdict: a rejected proof becomes outcome `rejected`."""
        if res.outcome != "proved" or not res.proof:
            return res
        check = self.check(res.theorem, res.proof)
        out = replace(res, check_status=check.status, checked_by=check.checked_by, check_message=check.message)
        if check.status == REJECTED:
            out = replace(out, outcome="rejected", error=f"whole-file re-check ({check.checked_by}): {check.message}")
        return out
