"""A small Lean lexer for the source scanners: masking comments and literals, then tokens.

Pass 1 (`mask`) blanks out comments (line, nested block, doc) and string/char
literals, keeping every offset and newline, so later passes never see a
`sorry` that Lean would not see. Pass 2 (`_tokens`) splits the masked text into
identifiers and punctuation with (line, column) positions. The declaration
walker that uses them is `leanagent.sources.scan`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Identifiers: letters (incl. Greek, subscripts), digits, _, ', !, ? and dotted parts.
_ID = r"[^\W\d][\w'!?₀-₉ₐ-ₜᵢ-ᵪⱼ]*"
_TOKEN = re.compile(rf"(?P<id>#?{_ID}(?:\.{_ID})*)|(?P<num>\d[\w.]*)|(?P<sym>:=|@\[|%\[|[^\s\w])", re.UNICODE)


# ---------------------------------------------------------------------------------------------
# Pass 1: masking


def mask(text: str) -> str:
    """`text` with comments and literal contents replaced by spaces (newlines kept)."""
    out = list(text)
    n, i = len(text), 0

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif c == "/" and text.startswith("/-", i):
            depth, j = 1, i + 2  # block comments nest: /- /- -/ -/
            while j < n and depth:
                if text.startswith("/-", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("-/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif c == '"' or (c == "r" and re.match(r'r#*"', text[i:i + 8]) and not _ident_before(text, i)):
            j = _string_end(text, i)
            blank(i + 1, j - 1)
            i = j
        elif c == "'" and not _ident_before(text, i):
            m = re.match(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'\n])'", text[i:i + 16])
            if m:
                blank(i + 1, i + m.end() - 1)
                i += m.end()
            else:
                i += 1
        elif c == "«":
            j = text.find("»", i)
            j = n if j < 0 else j + 1
            for k in range(i + 1, j - 1):  # keep it one identifier: «a sorry b» -> «_______»
                if out[k] != "\n":
                    out[k] = "_"
            i = j
        else:
            i += 1
    return "".join(out)


def _ident_before(text: str, i: int) -> bool:
    return i > 0 and (text[i - 1].isalnum() or text[i - 1] in "_'!?.")


def _string_end(text: str, i: int) -> int:
    """Offset just past the string literal that starts at `i` (`"..."` or `r#"..."#`)."""
    if text[i] == "r":
        m = re.match(r'r(#*)"', text[i:])
        closing = '"' + m.group(1)
        j = text.find(closing, i + m.end())
        return len(text) if j < 0 else j + len(closing)
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
        elif text[j] == '"':
            return j + 1
        else:
            j += 1
    return len(text)


# ---------------------------------------------------------------------------------------------
# Pass 2: tokens


@dataclass(frozen=True)
class Token:
    text: str
    offset: int
    line: int       # 1-based
    col: int        # 0-based
    first: bool     # first token on its line
    indent: int     # indentation of its line


def _tokens(masked: str) -> list[Token]:
    lines = masked.split("\n")
    starts, off = [], 0
    for ln in lines:
        starts.append(off)
        off += len(ln) + 1
    indents = [len(ln) - len(ln.lstrip(" \t")) for ln in lines]
    toks: list[Token] = []
    line_idx, last_line = 0, -1
    for m in _TOKEN.finditer(masked):
        off = m.start()
        while line_idx + 1 < len(starts) and starts[line_idx + 1] <= off:
            line_idx += 1
        col = off - starts[line_idx]
        toks.append(Token(m.group(), off, line_idx + 1, col, line_idx != last_line and col == indents[line_idx],
                          indents[line_idx]))
        last_line = line_idx
    return toks
