"""Tactic steps of one file from the Lean REPL's answers, in LeanDojo's order and by LeanDojo's rule.

The REPL lists every tactic it ran (`allTactics`: the substantive, original tactic nodes, nested
ones included, with the constants each used) and its info tree gives each tactic node's goals
before and after. LeanDojo records a tactic when it is an *element of a tactic sequence*
(`tacticSeq1Indented` / `tacticSeqBracketed`) at any depth, and lists them by walking the syntax
tree in preorder, taking all the elements of a sequence when it meets the sequence
(`TracedTheorem.get_traced_tactics`). Without the syntax tree the same is read off the source:

- A tactic is an element when the token before it opens a tactic block (`by`, `·`, `=>`, `(`,
  `{`, `|` of `first`, `try`, `repeat`, `all_goals`, `any_goals`, `focus`, `then`, `else`,
  `decreasing_by`), or is
  `;`, or a line break (the next tactic of a block). It is not when it starts where an enclosing
  tactic starts (`constructor` in `constructor <;> simp`), follows `<;>`, or sits in a `conv`
  block (conv sequences are not tactic sequences). So `have h : P := by simp` is a step and so is
  its `simp`; `· simp` is a step (dropped below, as LeanDojo's export drops the focusing dot) and
  so is its `simp`; in `constructor <;> simp` only the whole is a step.
- Order: a sequence's elements in source order, then, element by element, the sequences nested in
  it (outer before inner: `have h := by simp` / `exact h` / `simp`).
- Then LeanDojo's own clean-up: steps with the same (state before, tactic, state after) in one
  theorem kept once; a step whose state before is `no goals`, or whose text has `·`, dropped.
- States are the goals joined by a blank line, `no goals` for none (LeanDojo's `ppGoals`); the
  tactic is the source text without comments, its later lines dedented by its column
  (LeanDojo's `_fix_indentation`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leanagent.lean.lexer import mask
from leanagent.lean.repl_answers import Pos, TacticAt, TacticNode

NO_GOALS = "no goals"
_OPENERS = ("by", "·", ".", "=>", "(", "{", "|", "try", "repeat", "all_goals", "any_goals", "focus", "then",
            "else", "decreasing_by", "<;>", ";")
_COMMENT = re.compile(r"--[^\n]*|/-.*?-/", re.S)


@dataclass
class Step:
    """One recorded tactic of a file."""

    tactic: str
    start: Pos
    end: Pos
    state_before: str
    state_after: str
    used_constants: tuple[str, ...] = ()
    seq: tuple = ()                       # the sequence it belongs to (for the order)
    container: Step | None = field(default=None, repr=False)


def state_text(goals: tuple[str, ...] | list[str]) -> str:
    return "\n\n".join(goals) if goals else NO_GOALS


class FileText:
    """A file's text with offsets for REPL positions and its comments masked."""

    def __init__(self, text: str):
        self.text = text
        self.masked = mask(text)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def offset(self, p: Pos) -> int:
        line, col = p
        return self.line_starts[min(line, len(self.line_starts)) - 1] + col

    def prev_token(self, p: Pos) -> tuple[str, bool]:
        """The token just before `p` (comments skipped) and whether a line break lies between."""
        i = self.offset(p)
        j = i
        while j > 0 and self.masked[j - 1].isspace():
            j -= 1
        gap = "\n" in self.masked[j:i]
        for tok in ("<;>", "=>", "·", ";", "(", "{", "|", "."):
            if self.masked.endswith(tok, 0, j):
                return tok, gap
        k = j
        while k > 0 and (self.masked[k - 1].isalnum() or self.masked[k - 1] in "_'"):
            k -= 1
        return self.masked[k:j], gap

    def tactic(self, start: Pos, end: Pos) -> str:
        """The tactic as LeanDojo writes it: comments out, later lines dedented by its column."""
        a, b = self.offset(start), self.offset(end)
        raw = self.text[a:b]
        raw = _COMMENT.sub(lambda m: "" if not self.masked[a + m.start()].strip() and raw[m.start()] in "-/" else
                           m.group(0), raw)
        lines = raw.rstrip().split("\n")
        out = [lines[0]]
        for ln in lines[1:]:
            lead = len(ln) - len(ln.lstrip(" "))
            out.append(ln[min(lead, start[1]):])
        return "\n".join(out)


def _contains(outer: Step | TacticAt, inner: Step | TacticAt) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end and (outer.start, outer.end) != (inner.start,
                                                                                                  inner.end)


def file_steps(text: FileText, tactics: list[TacticAt], nodes: list[TacticNode]) -> tuple[list[Step], int]:
    """Every step of the file (not yet in LeanDojo's order) and how many tactics had no info node."""
    goals: dict[tuple[Pos, Pos], TacticNode] = {}
    for n in nodes:  # the outermost node of a range: macro expansions below it share its range
        goals.setdefault((n.start, n.end), n)
    steps: list[Step] = []
    missing = 0
    for t in sorted({(t.start, t.end): t for t in tactics}.values(), key=lambda t: (t.start, (-t.end[0], -t.end[1]))):
        node = goals.get((t.start, t.end))
        if node is None:
            missing += 1
            continue
        steps.append(Step(text.tactic(t.start, t.end), t.start, t.end, state_text(node.goals_before),
                          state_text(node.goals_after), t.used_constants))
    return _elements(text, steps), missing


def _elements(text: FileText, steps: list[Step]) -> list[Step]:
    """The steps that are elements of a tactic sequence, each with its container and sequence."""
    kept: list[Step] = []
    for s in steps:  # sorted by start, outer first: containers come before what they contain
        enclosing = [k for k in kept if _contains(k, s)]
        container = max(enclosing, key=lambda k: k.start, default=None)
        if any(o.start == s.start and _contains(o, s) for o in steps):
            continue  # the first part of a combinator (`constructor` of `constructor <;> simp`)
        if container is not None and container.tactic.startswith("conv"):
            continue
        tok, gap = text.prev_token(s.start)
        if tok == "<;>":
            continue
        if tok in _OPENERS and tok != ";" or container is None and not kept:
            seq = (container.start if container else None, s.start)  # a new sequence opens here
        elif tok == ";" or gap:
            same = [k for k in kept if k.container is container]
            seq = same[-1].seq if same else (container.start if container else None, s.start)
        else:
            continue
        s.container, s.seq = container, seq
        kept.append(s)
    return kept


def leandojo_order(steps: list[Step]) -> list[Step]:
    """A theorem's steps in LeanDojo's preorder (see the module docstring)."""
    seqs: dict[tuple, list[Step]] = {}
    for s in steps:
        seqs.setdefault(s.seq, []).append(s)
    children: dict[int | None, list[tuple]] = {}
    for key, members in seqs.items():
        owner = members[0].container
        children.setdefault(id(owner) if owner is not None else None, []).append(key)
    out: list[Step] = []

    def emit(key: tuple) -> None:
        members = sorted(seqs[key], key=lambda s: s.start)
        out.extend(members)
        for m in members:
            for child in sorted(children.get(id(m), []), key=lambda k: k[1]):
                emit(child)

    for top in sorted(children.get(None, []), key=lambda k: k[1]):
        emit(top)
    return out


def clean(steps: list[Step]) -> list[Step]:
    """LeanDojo's de-duplication and its export's filter (`no goals` before, the focusing dot)."""
    seen, out = set(), []
    for s in steps:
        sig = (s.state_before, s.tactic, s.state_after)
        if sig in seen:
            continue
        seen.add(sig)
        if s.state_before != NO_GOALS and "·" not in s.tactic:
            out.append(s)
    return out
