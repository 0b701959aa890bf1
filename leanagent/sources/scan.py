"""Find declarations whose proofs contain `sorry` or `admit`, without Lean.

The declaration walker (`leanagent.lean.declarations`) finds each command that
may be a declaration, with its scopes; `scan_text` keeps those whose body
holds a `sorry`/`admit` token that Lean would see (comments and literals are
masked by `leanagent.lean.lexer`).

Tactic vs term mode: a `sorry` is in tactic mode when it sits inside a `by`
block. A `by` block ends when its bracket closes, at a `,` of its bracket
level, or at a later line that is not indented more than the line holding
the `by` (Lean's own layout rule for tactic blocks). LeanAgent only notices
tactic-mode `sorry` (through LeanDojo's traced tactics); we report both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from leanagent.db.records import FileRecord, RepoRecord, TheoremRecord
from leanagent.text import module_of_path
from leanagent.errors import SourceError
from leanagent.sources.leandojo_format import path_selected
from leanagent.lean.declarations import (
    DECL_KINDS,
    _CLOSE,
    _OPEN,
    _SORRY,
    _TACTIC_OPENERS,
    _body_start,
    _decl_name,
    _declaration_commands,
    _qualify,
    _skip_modifiers,
)
from leanagent.lean.lexer import Token, _tokens, mask


@dataclass
class SorryDecl:
    """One declaration whose proof contains `sorry`/`admit`."""

    file: str
    line: int
    column: int                 # 1-based, of the declaration keyword
    name: str | None            # as written (None for `example` and anonymous instances)
    full_name: str
    kind: str                   # theorem | lemma | def | instance | example | abbrev
    mode: str                   # tactic | term | mixed
    sorry_lines: list[int] = field(default_factory=list)
    end: tuple[int, int] = (0, 0)   # LeanDojo convention: 1-based line, column just past the last character
    statement: str = ""
    proof_text: str = ""

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "name": self.name,
                "full_name": self.full_name, "kind": self.kind, "mode": self.mode,
                "sorry_lines": self.sorry_lines}


def scan_text(text: str, file: str = "<text>") -> list[SorryDecl]:
    """Every declaration in one Lean file whose body uses `sorry` or `admit`."""
    toks = _tokens(mask(text))
    found: list[SorryDecl] = []
    for i, end, scopes in _declaration_commands(toks):
        decl = _declaration(text, toks, i, end, scopes, file)
        if decl is not None:
            found.append(decl)
    return found


def _declaration(text: str, toks: list[Token], i: int, end: int, scopes: list, file: str) -> SorryDecl | None:
    k = _skip_modifiers(toks, i, end)
    if k >= end or toks[k].text not in DECL_KINDS:
        return None
    kw = toks[k]
    name, k_name = _decl_name(toks, k, end)
    body = _body_start(toks, k_name, end)
    if body is None:
        return None
    # `sorry is a Name literal in meta code, not a proof hole.
    sorries = [m for m in range(body, end) if toks[m].text in _SORRY and text[toks[m].offset - 1:toks[m].offset] != "`"]
    if not sorries:
        return None
    modes = _modes(toks, body, end, set(sorries))
    mode = modes.pop() if len(modes) == 1 else "mixed"
    prefix = [n for kind, n in scopes if kind == "namespace" and n]
    full_name = _qualify(prefix, name) if name else _qualify(prefix, f"<{kw.text}@{kw.line}>")
    last = toks[end - 1]
    body_off = toks[body].offset + (2 if toks[body].text == ":=" else 0)
    end_off = last.offset + len(last.text)
    return SorryDecl(file=file, line=kw.line, column=kw.col + 1, name=name, full_name=full_name, kind=kw.text,
                     mode=mode, sorry_lines=sorted({toks[m].line for m in sorries}),
                     end=(last.line, last.col + len(last.text) + 1),
                     statement=text[kw.offset:toks[body].offset].strip(),
                     proof_text=text[body_off:end_off].strip())


def _modes(toks: list[Token], body: int, end: int, sorries: set[int]) -> set[str]:
    """tactic/term for each sorry token index, following `by` blocks (see the module docstring)."""
    depth = 0
    blocks: list[tuple[int, int, int]] = []  # open `by` blocks: (bracket depth, line indent, line)
    modes: set[str] = set()
    for m in range(body, end):
        t = toks[m]
        if t.first:  # a line not indented past a block's own line ends that block
            while blocks and blocks[-1][0] == depth and t.line > blocks[-1][2] and t.indent <= blocks[-1][1]:
                blocks.pop()
        s = t.text
        if s in _OPEN:
            depth += 1
        elif s in _CLOSE:
            depth -= 1
            while blocks and blocks[-1][0] > depth:
                blocks.pop()
        elif s == "," and depth > 0:  # ⟨by simp, sorry⟩: the comma ends the `by` of its bracket
            while blocks and blocks[-1][0] == depth:
                blocks.pop()
        elif s in _TACTIC_OPENERS:
            blocks.append((depth, t.indent, t.line))
        elif m in sorries:
            modes.add("tactic" if blocks or s == "admit" else "term")
    return modes


# ---------------------------------------------------------------------------------------------
# Trees and records


def lean_files(root: Path, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[tuple[Path, str]]:
    """(absolute path, path relative to root) of every selected `.lean` file, skipping build folders."""
    root = Path(root)
    if root.is_file():
        return [(root, root.name)]
    if not root.is_dir():
        raise SourceError(f"{root}: no such file or directory", fix="give a Lean project folder or a .lean file")
    out = []
    for p in sorted(root.rglob("*.lean")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith((".lake/", "lake-packages/", "build/")) or "/.lake/" in rel:
            continue
        if path_selected(rel, include, exclude):
            out.append((p, rel))
    return out


def scan_tree(root: str | Path, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[SorryDecl]:
    """Every sorry declaration under `root` (a folder or one `.lean` file), in file order."""
    found: list[SorryDecl] = []
    for path, rel in lean_files(Path(root), include, exclude):
        found.extend(scan_text(_read(path), rel))
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SourceError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror}") from None


def sorry_theorem(d: SorryDecl, url: str | None = None, commit: str | None = None) -> TheoremRecord:
    """A database record for one scanned declaration: no steps, flagged `sorry` by the scanner."""
    return TheoremRecord(file_path=d.file, full_name=d.full_name, start=(d.line, d.column), end=d.end,
                         url=url, commit=commit, statement=d.statement, proof_text=d.proof_text,
                         has_sorry=True, sorry_mode=d.mode)


def scan_records(root: str | Path, name: str, include: Iterable[str] = (), exclude: Iterable[str] = (),
                 *, url: str | None = None, commit: str | None = None,
                 lean_version: str | None = None) -> RepoRecord:
    """A `RepoRecord` of the sorry theorems under `root`, for `store_repo` (kind `path`).

    The files holding them are stored with their text, so review can show context and
    patch export can check that the file did not change.
    """
    root = Path(root)
    include, exclude = list(include), list(exclude)
    h = hashlib.sha256(repr(("scan", name, include, exclude)).encode())
    record = RepoRecord(name=name, kind="path", url=url, path=str(root.resolve()), commit=commit,
                        lean_version=lean_version, tracer="scan")
    for path, rel in lean_files(root, include, exclude):
        text = _read(path)
        h.update(rel.encode())
        h.update(text.encode())
        decls = scan_text(text, rel)
        if decls:
            record.files.append(FileRecord(path=rel, module=module_of_path(rel), content=text))
            record.theorems.extend(sorry_theorem(d, url, commit) for d in decls)
    record.digest = h.hexdigest()
    return record


def iter_sorry_lines(decls: Iterable[SorryDecl]) -> Iterator[str]:
    for d in decls:
        yield f"{d.file}:{d.line}: {d.kind} {d.full_name} ({d.mode})"
