"""Turning reviewed agent proofs into a `git apply`-able patch.

Pure text functions (no database): find the `sorry` proof of a theorem at its
recorded position, replace it by the agent's tactic block with the file's
indentation, and write a unified diff. `leanagent.db.review.export_items`
supplies the data; `leanagent export-proofs` and the web app's download
button both end in `build_patch`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from leanagent.db.records import SORRY_RE, file_digest
from leanagent.errors import LeanAgentError


class PatchError(LeanAgentError):
    """A proof cannot be turned into a patch (changed file, unsafe path, no `sorry`)."""


def safe_relpath(path: str) -> str:
    """A repository-relative POSIX path, or PatchError for `..`, absolute or empty paths."""
    p = (path or "").replace("\\", "/")
    pure = PurePosixPath(p)
    if not p or pure.is_absolute() or re.match(r"^[A-Za-z]:", p) or ".." in pure.parts \
            or any(ord(c) < 32 for c in p):
        raise PatchError(f"refusing unsafe file path {path!r} from the database",
                         fix="file paths must be relative to the repository and must not contain `..`")
    return pure.as_posix()


def read_checkout_file(repo_path: str, rel: str) -> str | None:
    """The text of `rel` inside the checkout at `repo_path`, None when absent.

    A symlink that leads outside the checkout is refused like a `..` path.
    """
    root = Path(repo_path).resolve()
    target = (root / safe_relpath(rel)).resolve()
    if root != target and root not in target.parents:
        raise PatchError(f"refusing {rel!r}: it resolves outside the checkout {root}")
    if not target.is_file():
        return None
    return target.read_text(encoding="utf-8", errors="strict")


@dataclass(frozen=True)
class Location:
    """Where a theorem is: 1-based lines and columns, as LeanDojo writes them."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    proof_text: str | None = None  # the original `sorry` proof, when known


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    for m in re.finditer("\n", text):
        offsets.append(m.end())
    return offsets


def _span(text: str, loc: Location) -> tuple[int, int]:
    """Character offsets [start, end) of the declaration; end is generous by one column."""
    offsets = _line_offsets(text)
    n = len(offsets)
    if not (1 <= loc.start_line <= loc.end_line <= n):
        raise PatchError(f"the recorded position (lines {loc.start_line}-{loc.end_line}) is outside "
                         f"the file ({n} lines)")
    start = offsets[loc.start_line - 1] + max(loc.start_col - 1, 0)
    line_end = offsets[loc.end_line] - 1 if loc.end_line < n else len(text)
    end = min(offsets[loc.end_line - 1] + max(loc.end_col, 0), line_end)
    return start, max(end, start)


def find_sorry_proof(text: str, loc: Location) -> tuple[int, int]:
    """Offsets [start, end) of the proof to replace (after `:=`), inside the declaration.

    The recorded proof text is used when it occurs in the declaration; else the
    proof runs from the last `:=` before the last `sorry`/`admit` to that token.
    """
    start, end = _span(text, loc)
    body = text[start:end]
    if loc.proof_text and loc.proof_text.strip():
        wanted = loc.proof_text.strip()
        at = body.rfind(wanted)
        if at >= 0:
            a, b = start + at, start + at + len(wanted)
            if text.startswith(":=", a):  # the recorded text included the `:=`: keep it
                a += 2
                while a < b and text[a] in " \t":
                    a += 1
            if SORRY_RE.search(text, a, b):
                return a, b
    last = None
    for last in SORRY_RE.finditer(body):
        pass
    if last is None:
        raise PatchError(f"no `sorry` at the recorded position (lines {loc.start_line}-{loc.end_line})",
                         fix="the file changed since the proof was found; run the prover again")
    assign = body.rfind(":=", 0, last.start())
    if assign < 0:
        raise PatchError(f"no `:=` before the `sorry` at lines {loc.start_line}-{loc.end_line}",
                         fix="only `:= sorry` and `:= by ... sorry` proofs can be replaced")
    a = assign + 2
    while a < last.start() and body[a] in " \t":
        a += 1
    return start + a, start + last.end()


def _indent_of_line(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


def proof_indent(text: str, loc: Location, region: tuple[int, int]) -> str:
    """The indentation for the tactic lines: that of the original proof's own lines
    when it spans several, else the declaration's indentation plus two spaces."""
    a, b = region
    inner = text[a:b].split("\n")[1:]
    for line in inner:
        if line.strip():
            return line[: len(line) - len(line.lstrip(" \t"))]
    return _indent_of_line(text, _span(text, loc)[0]) + "  "


def render_tactics(tactics: list[str], indent: str = "  ") -> str:
    """`by` and one tactic per line at `indent`; a multi-line tactic keeps its own relative layout."""
    if not tactics or not any(t.strip() for t in tactics):
        raise PatchError("the agent proof has no tactics")
    lines = ["by"]
    for tactic in tactics:
        for part in tactic.strip("\n").split("\n"):
            lines.append(indent + part if part.strip() else "")
    return "\n".join(lines)


def replace_proof(text: str, loc: Location, tactics: list[str]) -> tuple[str, tuple[int, int], str]:
    """(new text, replaced region in the old text, inserted text)."""
    region = find_sorry_proof(text, loc)
    new = render_tactics(tactics, proof_indent(text, loc, region))
    return text[: region[0]] + new + text[region[1]:], region, new


def unified_diff(path: str, old: str, new: str, context: int = 3) -> str:
    """A git-style unified diff of one file, with `\\ No newline at end of file` markers."""
    out = [f"diff --git a/{path} b/{path}\n"]
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}", n=context)
    body = []
    for line in lines:
        if line.endswith("\n"):
            body.append(line)
        else:  # only a last line without newline gets here
            body.append(line + "\n\\ No newline at end of file\n")
    if not body:
        return ""
    # difflib writes `--- a/x\t` only with dates; strip any trailing whitespace on headers.
    body[0], body[1] = body[0].rstrip() + "\n", body[1].rstrip() + "\n"
    return "".join(out + body)


@dataclass
class ExportItem:
    """One proof to export: which theorem, where, and what the file looked like."""

    proof_id: int
    full_name: str
    file_path: str
    location: Location
    tactics: list[str]
    file_digest: str | None


@dataclass
class PatchResult:
    text: str
    proofs: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def build_patch(items: list[ExportItem], read_text: Callable[[str], str | None]) -> PatchResult:
    """One patch for all `items`; `read_text(rel_path)` gives the current file text.

    Refuses (PatchError) the whole export when any file is unsafe, unreadable,
    changed since its proof was found, or when two proofs overlap: a partial
    patch would silently drop accepted work.
    """
    if not items:
        raise PatchError("no proofs to export", fix="accept some proofs in `leanagent review` first")
    by_file: dict[str, list[ExportItem]] = {}
    for item in items:
        by_file.setdefault(safe_relpath(item.file_path), []).append(item)
    result = PatchResult(text="")
    chunks = []
    problems = []
    for rel in sorted(by_file):
        text = read_text(rel)
        if text is None:
            problems.append(f"{rel}: the file text is not available")
            continue
        digest = file_digest(text)
        stale = [i for i in by_file[rel] if i.file_digest != digest]
        if stale:
            why = "no file digest was recorded" if all(i.file_digest is None for i in stale) \
                else "the file changed since the proof was found"
            problems.append(f"{rel}: {why} ({', '.join(i.full_name for i in stale)})")
            continue
        try:
            new_text = _apply_all(text, by_file[rel])
        except PatchError as exc:
            problems.append(f"{rel}: {exc.message}")
            continue
        chunks.append(unified_diff(rel, text, new_text))
        result.files.append(rel)
        result.proofs.extend(i.proof_id for i in by_file[rel])
    if problems:
        raise PatchError("cannot export: " + "; ".join(problems),
                         fix="run the prover again on the current files, or export from the commit "
                             "the proofs were found on")
    result.text = "".join(chunks)
    return result


def _apply_all(text: str, items: list[ExportItem]) -> str:
    """Replace every item's proof in one file, last first so earlier offsets stay valid."""
    edits = []
    for item in items:
        region = find_sorry_proof(text, item.location)
        edits.append((region, render_tactics(item.tactics, proof_indent(text, item.location, region)), item))
    edits.sort(key=lambda e: e[0][0])
    for (r1, _, i1), (r2, _, i2) in zip(edits, edits[1:]):
        if r2[0] < r1[1]:
            raise PatchError(f"the proofs of {i1.full_name} and {i2.full_name} overlap")
    for (a, b), new, _ in reversed(edits):
        text = text[:a] + new + text[b:]
    return text
