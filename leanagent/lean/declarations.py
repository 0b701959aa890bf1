"""Where declarations are in a Lean file, without Lean: the walker over the lexer's tokens.

`namespace`/`section`/`mutual`/`end` keep a scope stack for full names; a declaration starts at a
line whose first token is a modifier, an attribute `@[` or one of theorem/lemma/def/instance/example/
abbrev, and runs until the next command at the same or a smaller indentation (or, at any
indentation, a word that never starts a line inside a declaration: `theorem`, `end`, ...).

Three users: the `sorry` scanner (`leanagent.sources.scan`), the LeanInteract backend (which opens a
theorem by elaborating its file up to it) and the proof splice (`leanagent.lean.proof_text`), which
places a proof into the theorem *named* in the database, wherever the file now has it (`locate`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from leanagent.errors import LeanAgentError
from leanagent.lean.lexer import _ID, Token, _tokens, mask

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
# Words that start a new command wherever a line starts with them, even indented: none can start a line
# inside a declaration (unlike `open ... in` or `set_option ... in`, which are also tactics). Lean's
# commands are not layout-sensitive, so an indented `theorem` after a proof is a declaration of its own.
_ALWAYS_COMMANDS = set(DECL_KINDS) | {"@[", "namespace", "section", "end", "mutual", "universe", "variable",
                                      "structure", "class", "inductive", "axiom", "private", "noncomputable"}


def _qualify(prefix: list[str], name: str) -> str:
    if name.startswith("_root_."):
        return name[len("_root_."):]
    return ".".join([*prefix, name]) if prefix else name


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
        if depth == 0 and t.first and starts_command and (t.indent <= indent or t.text in _ALWAYS_COMMANDS) \
                and not _leading_part(toks, i, j):
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


@lru_cache(maxsize=16)
def declarations(text: str) -> tuple[Declaration, ...]:
    """Every declaration of a Lean file with or without `sorry`, in file order.

    Cached per text: the LeanInteract backend, the re-check, the patch and the review flags each
    locate theorems in the same file, often many in one file, and lexing is the costly part."""
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
    return tuple(out)


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
# Finding the theorem the database names


class DeclarationNotFound(LeanAgentError):
    """The file as it is now has no (single) declaration of the theorem asked for."""


RESYNC_FIX = "the file changed since it was synced: sync the repository again (learn, trace, import or nightly)"


def _same_name(written: str, wanted: str) -> bool:
    """Full names that agree up to a namespace the scanner could not see (`_root_`, `export`)."""
    return written == wanted or wanted.endswith("." + written) or written.endswith("." + wanted)


def locate(text: str, full_name: str, line: int | None = None, file: str = "the file") -> Declaration:
    """The declaration of `full_name` in `text`, wherever the file now has it.

    By name first, never by position alone: a file edited since it was synced may hold another
    declaration at the recorded line, and a proof placed there would prove the wrong theorem. `line`
    (the recorded start line) only tells apart several declarations of one name. Anonymous
    declarations (`<example@12>`) carry their line in the name, so a moved one is not found.
    """
    decls = declarations(text)
    found = [d for d in decls if d.full_name == full_name]
    if not found:
        found = [d for d in decls if d.name and _same_name(d.full_name, full_name)]
    if len(found) > 1 and line is not None:
        at = [d for d in found if d.start_line <= line <= d.end_line or d.line == line]
        found = at if len(at) == 1 else found
    if len(found) == 1:
        return found[0]
    if not found:
        raise DeclarationNotFound(f"{full_name} is not declared in {file} as it is now", fix=RESYNC_FIX)
    lines = ", ".join(str(d.line) for d in found)
    raise DeclarationNotFound(f"{full_name} is declared {len(found)} times in {file} (lines {lines})",
                              fix=RESYNC_FIX)


def statement_text(text: str, d: Declaration) -> str:
    """The declaration's statement as written: from its keyword to its body, whitespace collapsed
    (so that re-indenting it changes nothing; a changed comment inside it counts as a change)."""
    end = d.body if d.body is not None else d.end
    return " ".join(text[d.keyword:end].split())


def statement_digest(text: str, d: Declaration) -> str:
    """sha256 hex of `statement_text`: what a proof was found for (`Proof.statement_digest`)."""
    return hashlib.sha256(statement_text(text, d).encode("utf-8")).hexdigest()
