"""Placing an agent proof in a Lean file: pure text functions, shared by everything that edits a file.

`place` finds the theorem by its full name in the file as it is now (`leanagent.lean.declarations.
locate`), checks that its statement is the one the proof was found for (a digest), and returns the
region after its `:=`; `replace_proof` puts the agent's tactic block there with the file's
indentation. The prover's whole-file re-check (`leanagent.prover.recheck`), the patch export
(`leanagent.review.patch`) and the review page's preview all call these, so the file that Lean
re-checks is exactly the file that the patch produces, and a file edited since it was synced never
gets the proof in a neighbouring declaration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from leanagent.errors import LeanAgentError
from leanagent.lean.declarations import Declaration, DeclarationNotFound, locate, statement_digest


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
    # newline="": the text exactly as stored (a CRLF file stays CRLF, so the digest and the patch match it).
    with target.open(encoding="utf-8", errors="strict", newline="") as f:
        return f.read()


@dataclass(frozen=True)
class Location:
    """Which theorem to place a proof in: its full name, and the line the database recorded (which
    only tells apart several declarations of one name; see `locate`)."""

    full_name: str
    line: int | None = None
    file: str = "the file"


@dataclass(frozen=True)
class Placement:
    """Where a proof goes in one file text."""

    decl: Declaration
    region: tuple[int, int]    # character offsets [start, end) of the proof after `:=`
    statement_digest: str      # of the declaration's statement, as `statement_digest` computes it

    @property
    def first_line(self) -> int:
        """1-based line of the declaration's keyword."""
        return self.decl.line


def place(text: str, loc: Location, expect_statement: str | None = None) -> Placement:
    """Where the proof of `loc.full_name` goes in `text`; PatchError when the theorem is not there
    (or not once), has no `:=` body, or its statement is not `expect_statement` (a digest)."""
    try:
        d = locate(text, loc.full_name, loc.line, loc.file)
    except DeclarationNotFound as exc:
        raise PatchError(exc.message, fix=exc.fix) from None
    if d.body is None or d.body_token != ":=":
        raise PatchError(f"{loc.full_name} has no `:=` body that a tactic proof could replace",
                         fix="only `:= sorry` and `:= by ...` proofs can be replaced")
    digest = statement_digest(text, d)
    if expect_statement is not None and digest != expect_statement:
        raise PatchError(f"the statement of {loc.full_name} in {loc.file} is not the one its proof was found for",
                         fix="the theorem changed since the proof was found: run the prover again")
    a = d.body + 2
    while a < d.end and text[a] in " \t":
        a += 1
    return Placement(d, (a, max(a, d.end)), digest)


def _indent_of_line(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


def proof_indent(text: str, at: Placement) -> str:
    """The indentation for the tactic lines: that of the original proof's own lines
    when it spans several, else the declaration's indentation plus two spaces."""
    a, b = at.region
    for line in text[a:b].split("\n")[1:]:
        if line.strip():
            return line[: len(line) - len(line.lstrip(" \t"))]
    return _indent_of_line(text, at.decl.keyword) + "  "


def render_tactics(tactics: list[str], indent: str = "  ") -> str:
    """`by` and one tactic per line at `indent`; a multi-line tactic keeps its own relative layout."""
    if not tactics or not any(t.strip() for t in tactics):
        raise PatchError("the agent proof has no tactics")
    lines = ["by"]
    for tactic in tactics:
        for part in tactic.strip("\n").split("\n"):
            lines.append(indent + part if part.strip() else "")
    return "\n".join(lines)


def replace_proof(text: str, loc: Location, tactics: list[str],
                  expect_statement: str | None = None) -> tuple[str, Placement, str]:
    """(new text, where the proof went in the old text, inserted text)."""
    at = place(text, loc, expect_statement)
    new = render_tactics(tactics, proof_indent(text, at))
    return text[: at.region[0]] + new + text[at.region[1]:], at, new


def split_lines(text: str) -> list[str]:
    """Lines with their `\\n` kept, split on `\\n` only: Lean, git and the line numbers Lean reports
    count only `\\n` (`str.splitlines` also splits on `\\x0c`, `\\x85` and U+2028)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


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
