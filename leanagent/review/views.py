"""What the proof page shows, computed from a `ProofDetail`: numbered source, the proof
as it would be inserted (the variant export uses: `ProofDetail.chosen_tactics`), the diff, and
whether the file still matches the proof.

Plain data only; the templates escape every string.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from leanagent.db.review import ProofDetail
from leanagent.lean.proof_text import Location, PatchError, current_text, render_tactics, replace_proof
from leanagent.review.patch import file_digest, unified_diff

CONTEXT = 3  # lines of source shown around the theorem


@dataclass
class CodeBlock:
    lines: list[tuple[int, str]]  # (line number, text)
    css: dict[int, str] = field(default_factory=dict)  # line number -> class (e.g. "hl")


@dataclass
class Preview:
    file_state: str          # same | changed | no-digest | unknown
    statement: CodeBlock | None
    context: CodeBlock | None  # source around the theorem when the statement is unknown
    original: CodeBlock | None
    inserted: CodeBlock
    diff: list[tuple[str, str]]  # (kind, line): meta | hunk | add | del | ctx
    problem: str | None = None   # why the proof cannot be placed in the file


def numbered(text: str, first: int = 1) -> CodeBlock:
    return CodeBlock(lines=[(first + i, line) for i, line in enumerate(text.split("\n"))])


def diff_lines(diff: str) -> list[tuple[str, str]]:
    out = []
    for line in diff.splitlines():
        if line.startswith(("diff ", "--- ", "+++ ", "\\")):
            kind = "meta"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(line[:1], "ctx")
        out.append((kind, line))
    return out


def _slice(text: str, first: int, last: int) -> CodeBlock:
    lines = text.split("\n")
    first, last = max(first, 1), min(last, len(lines))
    return CodeBlock(lines=[(n, lines[n - 1]) for n in range(first, last + 1)])


def build_preview(d: ProofDetail) -> Preview:
    loc = Location(d.full_name, d.start_line, d.file_path)
    try:
        text = current_text(d.repo_path, d.file_content, d.file_path)
    except (PatchError, OSError, UnicodeDecodeError):
        text = None
    statement = numbered(d.statement, d.start_line) if d.statement else None
    if text is None:
        return _preview_without_file(d, statement)
    state = "no-digest" if d.file_digest is None else ("same" if file_digest(text) == d.file_digest else "changed")
    context = None if statement else _slice(text, d.start_line - CONTEXT, d.end_line + CONTEXT)
    if context is not None:
        context.css = {n: "hl" for n in range(d.start_line, d.end_line + 1)}
    try:
        new_text, at, inserted = replace_proof(text, loc, d.chosen_tactics, d.statement_digest)
        a, b = at.region
    except PatchError as exc:
        fallback = _preview_without_file(d, statement)
        fallback.file_state, fallback.context, fallback.problem = state, context, exc.message
        return fallback
    old_first = text.count("\n", 0, a) + 1
    original = _slice(text, old_first, text.count("\n", 0, b) + 1)
    delta = inserted.count("\n") - text.count("\n", a, b)  # lines gained by the replacement
    new_last = old_first + inserted.count("\n")
    shown = _slice(new_text, at.decl.start_line, max(new_last, at.decl.end_line + delta))  # where it is now
    _mark_changes(original, shown, old_first, new_last)
    return Preview(file_state=state, statement=statement, context=context, original=original, inserted=shown,
                   diff=diff_lines(unified_diff(d.file_path, text, new_text)))


def _mark_changes(original: CodeBlock, shown: CodeBlock, first: int, new_last: int) -> None:
    """Colour only the lines that the replacement really changes (a line-level diff)."""
    old = [line for _, line in original.lines]
    new = [line for n, line in shown.lines if first <= n <= new_last]
    ops = difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag != "equal":
            original.css.update({first + i: "del" for i in range(i1, i2)})
            shown.css.update({first + j: "add" for j in range(j1, j2)})


def _preview_without_file(d: ProofDetail, statement: CodeBlock | None) -> Preview:
    """No file text: show the recorded proof text and the tactic block on their own."""
    try:
        block = render_tactics(d.chosen_tactics, "  ")
    except PatchError as exc:
        return Preview(file_state="unknown", statement=statement, context=None, original=None,
                       inserted=numbered("(empty)"), diff=[], problem=exc.message)
    old = (d.proof_text or "sorry").strip("\n")
    diff = difflib.unified_diff(old.split("\n"), block.split("\n"), "original", "agent", lineterm="", n=CONTEXT)
    return Preview(file_state="unknown", statement=statement, context=None,
                   original=numbered(d.proof_text) if d.proof_text else None,
                   inserted=numbered(block), diff=diff_lines("\n".join(diff)))

