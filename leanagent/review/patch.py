"""Turning reviewed agent proofs into a `git apply`-able patch.

Pure text functions (no database): find each theorem by its full name in the
file as it is now, check that its statement is the one the proof was found
for, replace its proof by the agent's tactic block with the file's indentation
(`leanagent.lean.proof_text`, the re-check's own functions), and write a
unified diff that splits lines on `\n` only, as git does. `leanagent.db.review.export_items`
supplies the data; `leanagent export-proofs` and the web app's download
button both end in `build_patch`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

from leanagent.db.records import file_digest
from leanagent.lean.proof_text import Location, PatchError, replace_proof, safe_relpath, split_lines


def unified_diff(path: str, old: str, new: str, context: int = 3) -> str:
    """A git-style unified diff of one file, with `\\ No newline at end of file` markers."""
    out = [f"diff --git a/{path} b/{path}\n"]
    lines = difflib.unified_diff(split_lines(old), split_lines(new),
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
    statement_digest: str | None = None  # the statement the proof was checked under, when it was


@dataclass
class PatchResult:
    text: str
    proofs: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # Accepted proofs that are already the file's text (an agent proof equal to the original): nothing to patch.
    unchanged: list[str] = field(default_factory=list)
    # {file: (text read, patched text)}: what `export-proofs --branch` commits is exactly what was diffed.
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)
    repo_path: str | None = None  # the clone the files were read from, when there is one


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
    problems, fixes = [], []
    for rel in sorted(by_file):
        text = read_text(rel)
        if text is None:
            problems.append(f"{rel}: the file text is not available")
            fixes.append(NO_TEXT_FIX)
            continue
        digest = file_digest(text)
        stale = [i for i in by_file[rel] if i.file_digest != digest]
        if stale:
            why = "no file digest was recorded" if all(i.file_digest is None for i in stale) \
                else "the file changed since the proof was found"
            problems.append(f"{rel}: {why} ({', '.join(i.full_name for i in stale)})")
            fixes.append(STALE_FIX)
            continue
        try:
            new_text, same = _apply_all(text, by_file[rel])
        except PatchError as exc:
            problems.append(f"{rel}: {exc.message}")
            fixes.append(exc.fix or STALE_FIX)
            continue
        result.unchanged += [i.full_name for i in same]
        if new_text == text:
            continue
        chunks.append(unified_diff(rel, text, new_text))
        result.texts[rel] = (text, new_text)
        result.files.append(rel)
        result.proofs.extend(i.proof_id for i in by_file[rel] if i not in same)
    if problems:
        raise PatchError("cannot export: " + "; ".join(problems), fix="; ".join(dict.fromkeys(fixes)))
    if not chunks:  # `git apply` refuses an empty patch: say why there is nothing to apply
        raise PatchError(f"nothing to patch: the accepted proofs ({', '.join(result.unchanged)}) are already "
                         "the proofs in the files", fix="accept proofs that differ from the files' own")
    result.text = "".join(chunks)
    return result


NO_TEXT_FIX = ("give leanagent the repository's sources: `source: DIR` on a traced entry of repos.yaml, or "
               "`leanagent import --source DIR`; then sync it again (learn, trace or import)")
STALE_FIX = "run the prover again on the current files, or export from the commit the proofs were found on"


def _apply_all(text: str, items: list[ExportItem]) -> tuple[str, list[ExportItem]]:
    """Replace every item's proof in one file, last first so earlier offsets stay valid.
    Returns the new text and the items whose proof is already the file's."""
    edits, same = [], []
    for item in items:
        _, at, new = replace_proof(text, item.location, item.tactics, item.statement_digest)
        region = at.region
        if new == text[region[0]:region[1]]:
            same.append(item)
            continue
        edits.append((region, new, item))
    edits.sort(key=lambda e: e[0][0])
    for (r1, _, i1), (r2, _, i2) in zip(edits, edits[1:]):
        if r2[0] < r1[1]:
            raise PatchError(f"the proofs of {i1.full_name} and {i2.full_name} overlap")
    for (a, b), new, _ in reversed(edits):
        text = text[:a] + new + text[b:]
    return text, same
