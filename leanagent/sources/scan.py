"""Find declarations whose proofs contain `sorry` or `admit`, without Lean.

(Over 400 lines: one declaration walker serves both `scan_text` and `declarations`; split it and the
scope/indentation rules would live twice.)

The lexer (`leanagent.sources.lean_lexer`) masks comments and literals and
splits the text into tokens with positions. `scan_text` then walks the tokens:
`namespace`/`section`/`mutual`/`end` keep a scope stack for full names; a
declaration starts at a line whose first token is a modifier, an attribute
`@[` or one of theorem/lemma/def/instance/example/abbrev, and runs until the
next command at the same or a smaller indentation.

Tactic vs term mode: a `sorry` is in tactic mode when it sits inside a `by`
block. A `by` block ends when its bracket closes, at a `,` of its bracket
level, or at a later line that is not indented more than the line holding
the `by` (Lean's own layout rule for tactic blocks). LeanAgent only notices
tactic-mode `sorry` (through LeanDojo's traced tactics); we report both.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from leanagent.db.records import FileRecord, RepoRecord, TheoremRecord
from leanagent.text import module_of_path
from leanagent.errors import SourceError
from leanagent.sources.leandojo_format import path_selected
from leanagent.sources.lean_lexer import _ID, Token, _tokens, mask  # noqa: F401  (mask is re-exported)

DECL_KINDS = ("theorem", "lemma", "def", "instance", "example", "abbrev")
MODIFIERS = {"private", "protected", "noncomputable", "partial", "unsafe", "nonrec", "scoped", "local"}
# Words that start a new command when they open a line at command level.
COMMANDS = set(DECL_KINDS) | MODIFIERS | {
    "namespace", "section", "end", "mutual", "open", "variable", "universe", "import", "attribute",
    "set_option", "structure", "class", "inductive", "axiom", "opaque", "macro", "macro_rules", "syntax",
    "elab", "elab_rules", "notation", "infix", "infixl", "infixr", "prefix", "postfix", "deriving",
    "initialize", "builtin_initialize", "export", "alias", "register_option", "declare_syntax_cat",
    "add_decl_doc", "library_note", "assert_not_exists", "suppress_compilation", "irreducible_def",
    "omit", "include"}
_OPEN = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⦃": "⦄", "@[": "]", "%[": "]"}
_CLOSE = set(_OPEN.values())
_SORRY = {"sorry", "admit"}
_TACTIC_OPENERS = {"by", "decreasing_by"}  # what follows is a tactic block

# ---------------------------------------------------------------------------------------------
# Pass 3: declarations


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


def _qualify(prefix: list[str], name: str) -> str:
    if name.startswith("_root_."):
        return name[len("_root_."):]
    return ".".join([*prefix, name]) if prefix else name


def scan_text(text: str, file: str = "<text>") -> list[SorryDecl]:
    """Every declaration in one Lean file whose body uses `sorry` or `admit`."""
    toks = _tokens(mask(text))
    found: list[SorryDecl] = []
    for i, end, scopes in _declaration_commands(toks):
        decl = _declaration(text, toks, i, end, scopes, file)
        if decl is not None:
            found.append(decl)
    return found


def _declaration_commands(toks: list[Token]) -> Iterator[tuple[int, int, list]]:
    """(first token, token after the end, open scopes) of every command that may be a declaration.

    `namespace`/`section`/`mutual`/`end` keep the scope stack; the scopes are a
    snapshot at the command.
    """
    scopes: list[tuple[str, str | None]] = []  # (namespace|section|mutual, name)
    i = 0
    while i < len(toks):
        t = toks[i]
        # `set_option maxHeartbeats 400000 in theorem ...`: a declaration after `in` on the command's line.
        after_in = t.text in MODIFIERS | set(DECL_KINDS) | {"@["} and i > 0 and toks[i - 1].text == "in" \
            and _line_head(toks, i).text in ("set_option", "open", "variable", "omit", "include")
        if not t.first and not after_in:
            i += 1
            continue
        word = t.text
        if word == "namespace" and i + 1 < len(toks):
            scopes.append(("namespace", toks[i + 1].text))
            i += 2
            continue
        if word == "section" or (word == "noncomputable" and i + 1 < len(toks) and toks[i + 1].text == "section"):
            j = i + 1 if word == "section" else i + 2
            has_name = j < len(toks) and toks[j].line == toks[j - 1].line and _is_ident(toks[j].text)
            scopes.append(("section", toks[j].text if has_name else None))
            i = j + (1 if has_name else 0)
            continue
        if word == "mutual":
            scopes.append(("mutual", None))
            i += 1
            continue
        if word == "end":
            _close_scope(scopes, toks[i + 1].text if i + 1 < len(toks) and toks[i + 1].line == t.line else None)
            i += 1
            continue
        if word in MODIFIERS or word in DECL_KINDS or word == "@[":
            end = _command_end(toks, i)
            yield i, end, list(scopes)
            i = end
            continue
        i += 1


def _line_head(toks: list[Token], i: int) -> Token:
    while i > 0 and not toks[i].first:
        i -= 1
    return toks[i]


def _is_ident(s: str) -> bool:
    return bool(re.fullmatch(f"{_ID}(?:\\.{_ID})*", s))


def _close_scope(scopes: list, name: str | None) -> None:
    if not scopes:
        return
    if name is None or not _is_ident(name):
        scopes.pop()
        return
    # `end A.B` closes `namespace A.B` (or `namespace A` + `namespace B`).
    parts = name.split(".")
    while parts and scopes:
        kind, sname = scopes.pop()
        sparts = (sname or "").split(".")
        parts = parts[: len(parts) - len(sparts)] if parts[-len(sparts):] == sparts else parts[:-1]


def _command_end(toks: list[Token], i: int) -> int:
    """Index of the first token after the declaration starting at toks[i]."""
    indent = toks[i].indent
    depth = 0
    j = i + 1
    # Attributes and modifiers may sit on their own lines before the keyword.
    while j < len(toks):
        t = toks[j]
        starts_command = t.text in COMMANDS or t.text == "@[" or t.text.startswith("#")
        if depth == 0 and t.first and t.indent <= indent and starts_command and not _leading_part(toks, i, j):
            return j
        if t.text in _OPEN:
            depth += 1
        elif t.text in _CLOSE:
            depth = max(0, depth - 1)
        j += 1
    return j


def _leading_part(toks: list[Token], i: int, j: int) -> bool:
    """True while toks[i:j] holds only attributes and modifiers (the keyword is still to come)."""
    depth = 0
    for t in toks[i:j]:
        if t.text in _OPEN:
            depth += 1
        elif t.text in _CLOSE:
            depth -= 1
        elif depth == 0 and t.text not in MODIFIERS:
            return False
    return True


def _skip_modifiers(toks: list[Token], i: int, end: int) -> int:
    """The index of the first token after a command's attributes (`@[...]`) and modifiers."""
    depth, k = 0, i
    while k < end:
        t = toks[k]
        if t.text in _OPEN:
            depth += 1
        elif t.text in _CLOSE:
            depth -= 1
        elif depth == 0 and t.text not in MODIFIERS:
            break
        k += 1
    return k


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


def _decl_name(toks: list[Token], k: int, end: int) -> tuple[str | None, int]:
    """The declared name and the index after it. `example` and `instance : C` have none."""
    j = k + 1
    kind = toks[k].text
    if kind == "example":
        return None, j
    if kind == "instance" and j < end and toks[j].text == "(":  # instance (priority := low) foo : C
        depth = 0
        while j < end:
            depth += toks[j].text in _OPEN
            depth -= toks[j].text in _CLOSE
            j += 1
            if depth == 0:
                break
    if j < end and _is_ident(toks[j].text) and toks[j].text not in ("where",):
        return toks[j].text, j + 1
    return None, j


def _body_start(toks: list[Token], j: int, end: int) -> int | None:
    """Index of the token that starts the body: the first `:=`, `where`, or `|` opening a line
    (equations), at bracket depth 0. A `|` inside `|a| ≤ b` does not open a line."""
    depth = 0
    for m in range(j, end):
        s = toks[m].text
        if s in _OPEN:
            depth += 1
        elif s in _CLOSE:
            depth -= 1
        elif depth == 0 and (s in (":=", "where") or s == "|" and toks[m].first):
            return m
    return None


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


@dataclass(frozen=True)
class Declaration:
    """Where one declaration sits in a file (character offsets into the original text).

    The prover opens a theorem by elaborating the file up to `start` and then the
    statement with `:= by sorry`; the re-check replaces the proof after `body`.
    """

    kind: str                # theorem | lemma | def | instance | example | abbrev
    name: str | None
    full_name: str
    start: int               # the command: a doc comment just before it, attributes, modifiers
    keyword: int             # the `theorem`/`lemma`/... keyword
    body: int | None         # the `:=`, `where` or `|` that starts the body (None: no body)
    end: int                 # just past the last token
    line: int                # 1-based line of the keyword
    start_line: int          # 1-based line of `start`
    end_line: int            # 1-based line of the last token
    body_token: str | None = None  # `:=`, `where` or `|`

    @property
    def assigns(self) -> bool:
        """True when the body is `:= ...` (the only kind a tactic proof can replace)."""
        return self.body_token == ":="


def declarations(text: str) -> list[Declaration]:
    """Every declaration of a Lean file with or without `sorry`, in file order."""
    masked = mask(text)
    toks = _tokens(masked)
    out: list[Declaration] = []
    for i, end, scopes in _declaration_commands(toks):
        k = _skip_modifiers(toks, i, end)
        if k >= end or toks[k].text not in DECL_KINDS:
            continue
        kw = toks[k]
        name, k_name = _decl_name(toks, k, end)
        body = _body_start(toks, k_name, end)
        prefix = [n for kind, n in scopes if kind == "namespace" and n]
        full_name = _qualify(prefix, name) if name else _qualify(prefix, f"<{kw.text}@{kw.line}>")
        start = _doc_comment_start(text, masked, toks[i].offset)
        last = toks[end - 1]
        out.append(Declaration(kind=kw.text, name=name, full_name=full_name, start=start, keyword=kw.offset,
                               body=toks[body].offset if body is not None else None,
                               end=last.offset + len(last.text), line=kw.line,
                               start_line=text.count("\n", 0, start) + 1, end_line=last.line,
                               body_token=toks[body].text if body is not None else None))
    return out


def _doc_comment_start(text: str, masked: str, offset: int) -> int:
    """`offset` moved back over a `/-- doc -/` comment that directly precedes it (it belongs to the
    declaration: a chunk of the file cut between the two would end in a dangling doc comment)."""
    j = offset
    while j > 0 and text[j - 1] in " \t\r\n":
        j -= 1
    if not text.startswith("-/", j - 2):
        return offset
    at = text.rfind("/--", 0, j)
    if at < 0 or masked[at:j].strip():  # not one comment: code between
        return offset
    return at


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
                        lean_version=lean_version)
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
