"""What the whole-file re-check measures of a proof, as a maintainer would: pure functions over Lean's messages.

The re-check (`leanagent.prover.recheck`) elaborates the file with Lean's profiler on: `with_profiler`
puts `set_option profiler true` and `set_option profiler.threshold 0` (report every time, however
small) right after the file's header, and `unshift` maps the line numbers of Lean's messages back to
the file without those two lines, so that `leanagent.lean.check.judge` sees the file the patch
produces and gives the same verdict. An error on the two inserted lines is kept, at the line before
them, so that it fails closed (an error before the theorem: `unchecked`).

Lean then reports info messages at each declaration, one or several lines each, like
`elaboration took 101ms`, `tactic execution of Lean.Parser.Tactic.simp took 1.2s` or
`type checking took 335ms`. `profile_by_declaration` sums them per declaration (a message belongs to
the declaration whose lines hold it); a declaration with no such message is unmeasured. Heartbeats
are summed only from lines that report them (`took N heartbeats`), else None. `lake env lean` prints
info messages without a position on some Lean releases: those lines belong to no declaration, so the
proof is unmeasured there (`seconds` None), and the verdict does not change.

`measure` gives M = {seconds, file_median_seconds, heartbeats, lines, warnings} (db `Proof.measures`):
the theorem's profiled time, the median over the file's measured declarations, the proof's lines as
inserted (its tactic lines; `by` stays on the statement's line), and the warnings Lean gave on the
proof's lines (linters, ...) as short strings, without the `sorry` warning (already a rejection).
"""

from __future__ import annotations

import re
import statistics

from leanagent.lean.check import USES_SORRY
from leanagent.lean.repl import Message, header_end

#: The two commands `with_profiler` inserts after the header.
PROFILER = "set_option profiler true\nset_option profiler.threshold 0\n"
PROFILER_LINES = PROFILER.count("\n")
#: One profiler line: `CATEGORY took 12.5ms`, `... took 1.2s`, `... took 3000 heartbeats`.
TOOK = re.compile(r"^(?P<what>\S.*?) took (?P<n>\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*(?P<unit>ms|s|heartbeats)\s*$")
_TO_SECONDS = {"ms": 1e-3, "s": 1.0}
#: Lean's suggestion of a `simp?` (Mathlib's `Try this: simp only [...]`, with or without a `[apply]` tag).
TRY_THIS = re.compile(r"Try this:\s*(?:\[apply\]\s*)?(?P<tactic>simp only\b.*)", re.S)
#: How much of a warning's first line is kept.
WARNING_CHARS = 160


def with_profiler(text: str) -> tuple[str, int]:
    """(the text with the profiler on from just after its header, the number of header lines before the
    inserted ones): messages below that line move down by `PROFILER_LINES` (see `unshift`)."""
    h = header_end(text)
    head = text[:h]
    if head and not head.endswith("\n"):  # a header ending without a newline: the commands need their own lines
        return head + "\n" + PROFILER + text[h:], head.count("\n") + 1
    return head + PROFILER + text[h:], head.count("\n")


def unshift(messages: list[Message], after: int, count: int = PROFILER_LINES) -> list[Message]:
    """Messages of the profiled text with the lines of the text without the `count` lines inserted after
    line `after`. Info and warnings on the inserted lines go; an error there stays, at line `after`."""
    out = []
    for m in messages:
        if m.line > after + count:
            out.append(Message(m.severity, m.line - count, m.column, m.text))
        elif m.line <= after:
            out.append(m)
        elif m.severity == "error":
            out.append(Message(m.severity, max(after, 1), 0, m.text))
    return out


def profile_lines(text: str) -> list[tuple[float | None, int | None]]:
    """(seconds, heartbeats) of every profiler line in one message; other lines give nothing."""
    out = []
    for line in text.split("\n"):
        m = TOOK.match(line.strip())
        if m:
            n = float(m["n"])
            out.append((None, int(n)) if m["unit"] == "heartbeats" else (n * _TO_SECONDS[m["unit"]], None))
    return out


def profile_by_declaration(messages: list[Message], spans: list[tuple[int, int]]) -> list[dict | None]:
    """For each declaration span (first line, last line): {"seconds", "heartbeats"} summed over the profiler
    lines of the info messages inside it, or None when it has none (unmeasured)."""
    out: list[dict | None] = [None] * len(spans)
    for m in messages:
        if m.severity != "info":
            continue
        lines = profile_lines(m.text)
        k = next((i for i, (a, b) in enumerate(spans) if a <= m.line <= b), None)
        if not lines or k is None:
            continue
        acc = out[k] = out[k] or {"seconds": None, "heartbeats": None}
        for seconds, beats in lines:
            if seconds is not None:
                acc["seconds"] = (acc["seconds"] or 0.0) + seconds
            if beats is not None:
                acc["heartbeats"] = (acc["heartbeats"] or 0) + beats
    return out


def proof_warnings(messages: list[Message], first: int, last: int) -> list[str]:
    """The first line of each warning on lines `first..last`, in file order, without the `sorry` warning."""
    found = sorted((m for m in messages if m.severity == "warning" and first <= m.line <= last
                    and m.text.strip() not in USES_SORRY), key=lambda m: (m.line, m.column))
    return [m.text.strip().split("\n")[0][:WARNING_CHARS] for m in found]


def measure(messages: list[Message], spans: list[tuple[int, int]], theorem: int,
            proof_lines: tuple[int, int]) -> dict:
    """M for the declaration `spans[theorem]` whose proof's tactics are on lines `proof_lines` (first, last)."""
    prof = profile_by_declaration(messages, spans)
    times = [p["seconds"] for p in prof if p is not None and p["seconds"] is not None]
    own = prof[theorem] or {}
    return {"seconds": _round(own.get("seconds")),
            "file_median_seconds": _round(statistics.median(times)) if times else None,
            "heartbeats": own.get("heartbeats"),
            "lines": proof_lines[1] - proof_lines[0] + 1,
            "warnings": proof_warnings(messages, *proof_lines)}


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 6)


def tactic_height(tactic: str) -> int:
    """The lines one tactic takes in the file, as `leanagent.lean.proof_text.render_tactics` lays it out."""
    return tactic.strip("\n").count("\n") + 1


def proof_height(tactics: list[str]) -> int:
    """The lines a proof's tactics take in the file: the proof's length as the re-check measures it."""
    return sum(tactic_height(t) for t in tactics)


def tactic_lines(tactics: list[str], first: int) -> list[int]:
    """The line of each tactic of a proof whose first tactic is on line `first` (a multi-line tactic takes
    its lines)."""
    out, line = [], first
    for t in tactics:
        out.append(line)
        line += tactic_height(t)
    return out


def try_this(messages: list[Message], line: int) -> str | None:
    """The `simp only [...]` that Lean suggested for the `simp?` on `line`, on one line; None if none."""
    for m in messages:
        if m.severity == "info" and m.line == line:
            found = TRY_THIS.search(m.text)
            if found:
                return " ".join(found["tactic"].split())
    return None
