"""`sorry` theorems and their goals through the Lean REPL, without tracing.

For a repository that LeanDojo cannot run (a Lean outside its range, see `lean_versions`), the
sorry theorems are found in two passes:

1. the source scanner (`scan.py`), fast and without Lean, picks the files that contain `sorry`;
2. each of those files is elaborated by the REPL (header, then the rest: one command), and Lean
   reports every `sorry` it met with its goal and the proof state there.

The scanner's declarations are kept when Lean confirms them (a `sorry` inside them) or cannot tell
(an error inside them may hide the `sorry`); a declaration the scanner flagged but that Lean
elaborates without any `sorry` and without error is dropped. A declaration whose whole proof is
`by sorry` gets one recorded step, `sorry` from Lean's goal to `no goals`: what a LeanDojo trace
records for it, so replay, the kNN proposer and review see the goal as Lean prints it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from leanagent.db.records import FileRecord, RepoRecord, StepRecord
from leanagent.text import module_of_path
from leanagent.lean.repl import Message, ReplOptions, ReplSession, SorryAt
from leanagent.lean.declarations import declarations
from leanagent.sources.scan import SorryDecl, lean_files, scan_text, sorry_theorem

log = logging.getLogger("leanagent.sources")

_BY_SORRY = re.compile(r"by\s+(sorry|admit)")


@dataclass(frozen=True)
class LeanSorry:
    """One declaration with a `sorry`, as Lean saw it."""

    file: str
    full_name: str
    line: int                # of the first `sorry` in it
    goal: str                # Lean's goal at that `sorry`
    proof_state: int | None  # the REPL's proof state there (valid in that REPL process only)
    whole_proof: bool        # the proof is exactly `by sorry`: `goal` is the statement's goal


@dataclass
class FileSorries:
    file: str
    confirmed: list[tuple[SorryDecl, LeanSorry]] = field(default_factory=list)
    unconfirmed: list[SorryDecl] = field(default_factory=list)  # an error inside: Lean could not tell
    dropped: list[SorryDecl] = field(default_factory=list)      # Lean elaborated them without `sorry`
    errors: list[Message] = field(default_factory=list)


def file_sorries(session: ReplSession, rel: str, text: str, scanned: list[SorryDecl] | None = None) -> FileSorries:
    """Lean's view of the scanner's sorry declarations in one file."""
    scanned = scan_text(text, rel) if scanned is None else scanned
    out = FileSorries(rel)
    if not scanned:
        return out
    result = session.check_text(text)
    out.errors = result.errors
    spans = {d.full_name: d for d in declarations(text)}
    for decl in scanned:
        span = spans.get(decl.full_name)
        first, last = (span.start_line, span.end_line) if span else (decl.line, decl.end[0])
        inside = sorted((s for s in result.sorries if first <= s.line <= last), key=lambda s: (s.line, s.column))
        if inside:
            out.confirmed.append((decl, _lean_sorry(rel, decl, inside[0])))
        elif any(first <= m.line <= last for m in result.errors):
            out.unconfirmed.append(decl)
        else:
            out.dropped.append(decl)
    return out


def _lean_sorry(rel: str, decl: SorryDecl, s: SorryAt) -> LeanSorry:
    whole = bool(_BY_SORRY.fullmatch(decl.proof_text.strip()))
    return LeanSorry(rel, decl.full_name, s.line, s.goal, s.proof_state, whole)


def repl_records(root: str | Path, name: str, include: Iterable[str] = (), exclude: Iterable[str] = (), *,
                 options: ReplOptions | None = None, url: str | None = None, commit: str | None = None,
                 lean_version: str | None = None, kind: str = "path",
                 session: ReplSession | None = None) -> tuple[RepoRecord, dict]:
    """A `RepoRecord` of the sorry theorems under `root`, confirmed by Lean; and counts for the message.

    Raises `ReplError`/`ToolchainError` when the REPL cannot run at all (the caller falls back to
    the scanner alone).
    """
    root = Path(root)
    include, exclude = list(include), list(exclude)
    own = session is None
    session = session or ReplSession(root, options)
    h = hashlib.sha256(repr(("repl-sorries", name, include, exclude)).encode())
    record = RepoRecord(name=name, kind=kind, url=url, path=str(root.resolve()), commit=commit,
                        lean_version=lean_version, tracer="repl-sorries")
    counts = {"files": 0, "confirmed": 0, "unconfirmed": 0, "dropped": 0, "goals": 0}
    try:
        for path, rel in lean_files(root, include, exclude):
            text = path.read_text(encoding="utf-8")
            h.update(rel.encode())
            h.update(text.encode())
            scanned = scan_text(text, rel)
            if not scanned:  # the scanner's fast pass: Lean elaborates only files with a `sorry`
                continue
            found = file_sorries(session, rel, text, scanned)
            counts["files"] += 1
            kept = [d for d, _ in found.confirmed] + found.unconfirmed
            if not kept:
                continue
            record.files.append(FileRecord(path=rel, module=module_of_path(rel), content=text))
            for decl, lean in found.confirmed:
                thm = sorry_theorem(decl, url, commit)
                if lean.whole_proof and decl.mode == "tactic":
                    thm.steps = [StepRecord(tactic="sorry", state_before=lean.goal, state_after="no goals")]
                    counts["goals"] += 1
                record.theorems.append(thm)
            record.theorems.extend(sorry_theorem(d, url, commit) for d in found.unconfirmed)
            counts["confirmed"] += len(found.confirmed)
            counts["unconfirmed"] += len(found.unconfirmed)
            counts["dropped"] += len(found.dropped)
            for d in found.dropped:
                log.info("%s:%d: %s has no sorry when Lean elaborates it; not stored", rel, d.line, d.full_name)
    finally:
        if own:
            session.close()
    record.digest = h.hexdigest()
    return record, counts
