"""Placing an agent proof in a Lean file: pure text functions, shared by everything that edits a file.

Find the `sorry` proof of a theorem at its recorded position and replace it by
the agent's tactic block with the file's indentation. The patch export
(`leanagent.review.patch`) and the prover's whole-file re-check
(`leanagent.prover.recheck`) both call `replace_proof`, so the file that Lean
re-checks is exactly the file that the patch produces. No database here: this
sits in `db` only because it is the lowest package both of them may import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from leanagent.text import SORRY_RE
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
    A recorded proof without `sorry` is a proven theorem's own proof (the held-out
    theorems that replay proves): the agent's proof replaces that one.
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
            if SORRY_RE.search(text, a, b) or not SORRY_RE.search(wanted):
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


def current_text(repo_path: str | None, stored: str | None, rel: str) -> str | None:
    """The file as it is now: the local checkout when there is one, else the stored text.

    The prover digests files through this and the patch export reads them through it, so both
    see the same text.
    """
    rel = safe_relpath(rel)
    if repo_path:
        text = read_checkout_file(repo_path, rel)
        if text is not None:
            return text
    return stored
