"""The Lean sources behind a traced dataset: file texts and each theorem's own proof.

A LeanDojo-format dataset holds proof states, not files. When repos.yaml gives
the project it was traced from (`source:` on a traced entry, or `leanagent
import --source DIR`), the text of every file with a selected theorem is stored
with the repository, and each theorem gets its proof text (what follows its
`:=`). Review then shows the file and the original proof, and export-proofs can
patch the file: a `sorry` replaced by the agent's proof, or, for the held-out
theorems that replay proves, the original proof replaced by the agent's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from leanagent.db.records import FileRecord, RepoRecord
from leanagent.errors import SourceError
from leanagent.text import module_of_path


def read_traced(path: str | Path, *, source: str | Path | None = None, is_known=None, **options) -> RepoRecord:
    """`read_dataset(path, **options)`, with the file texts and proof texts from `source` when given.

    The sources' fingerprint is part of the record's digest, so adding `source:` to an entry already
    imported, or editing a source file, stores the repository again.
    """
    from leanagent.sources.leandojo_format import read_dataset
    from leanagent.sources.scan import lean_files

    if source is None:
        return read_dataset(path, is_known=is_known, **options)
    source = Path(source)
    if not source.is_dir():
        raise SourceError(f"{source}: the `source:` folder does not exist",
                          fix="point `source:` at the Lean project the dataset was traced from")
    files = [rel for _, rel in lean_files(source, options.get("include", ()), options.get("exclude", ()))]
    src = sources_digest(source, files)
    known = (lambda name, digest: is_known(name, combine_digest(digest, src))) if is_known else None
    record = read_dataset(path, is_known=known, **options)
    record.digest = combine_digest(record.digest, src)
    if record.parsed:
        attach_sources(record, source_files(source, record), source)
    return record


def source_files(root: Path, record: RepoRecord) -> dict[str, str]:
    """{path: text} of the files of `record`'s theorems that exist under `root`. Paths go through the
    checkout's own check: nothing outside `root` (`..`, absolute paths, symlinks out) is read."""
    from leanagent.errors import LeanAgentError
    from leanagent.lean.proof_text import read_checkout_file

    out = {}
    for rel in sorted({t.file_path for t in record.theorems}):
        try:
            text = read_checkout_file(str(root), rel)
        except LeanAgentError as exc:
            raise SourceError(f"{rel}: {exc.message}", fix=exc.fix or "fix the dataset's file paths") from None
        except UnicodeDecodeError:
            raise SourceError(f"{Path(root) / rel}: not UTF-8 text") from None
        except OSError as exc:
            raise SourceError(f"{Path(root) / rel}: cannot read: {exc.strerror}") from None
        if text is not None:
            out[rel] = text
    return out


def sources_digest(root: Path, paths: list[str]) -> str:
    """A fingerprint of the source files a dataset's theorems live in (folded into the import digest, so a
    changed file, or a newly given `source:`, is stored again)."""
    h = hashlib.sha256(str(Path(root).resolve()).encode())
    for rel in sorted(paths):
        path = Path(root) / rel
        h.update(rel.encode() + b"\0")
        if path.is_file():
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def combine_digest(dataset: str | None, sources: str) -> str:
    return hashlib.sha256(f"{dataset}:{sources}".encode()).hexdigest()


def attach_sources(record: RepoRecord, texts: dict[str, str], root: Path) -> int:
    """Store `texts` on `record`'s files and each theorem's proof text; the checkout becomes `root`.
    Returns the number of theorems that got their proof text."""
    files = {f.path: f for f in record.files}
    for rel, text in texts.items():
        if rel in files:
            files[rel].content = text
        else:
            record.files.append(FileRecord(path=rel, module=module_of_path(rel), content=text))
    found = 0
    for thm in record.theorems:
        text = texts.get(thm.file_path)
        if text is None or thm.proof_text:
            continue
        thm.proof_text = proof_of(text, thm.start, thm.end)
        found += thm.proof_text is not None
    # The patch export and the review app read files from the repository's checkout.
    record.path = str(Path(root).resolve())
    return found


def proof_of(text: str, start: tuple[int, int], end: tuple[int, int]) -> str | None:
    """The proof of the declaration at [start, end) (1-based lines and columns, LeanDojo's convention): the
    text after its first top-level `:=`, or None (pattern-matching definitions have no `:=`)."""
    from leanagent.lean.lexer import mask

    lines = text.split("\n")
    if not (1 <= start[0] <= end[0] <= len(lines)):
        return None
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    a = offsets[start[0] - 1] + max(start[1] - 1, 0)
    b = min(offsets[end[0] - 1] + max(end[1] - 1, 0), offsets[end[0] - 1] + len(lines[end[0] - 1]))
    masked = mask(text)  # `:=` inside comments and strings does not count
    depth = 0
    for i in range(a, b - 1):
        c = masked[i]
        if c in "([{⟨":
            depth += 1
        elif c in ")]}⟩":
            depth -= 1
        elif depth == 0 and masked.startswith(":=", i):  # binders' default values sit inside brackets
            proof = text[i + 2:b].strip()
            return proof or None
    return None
