"""The stand-in REPL's tactic blocks and the answers a command can ask for (see `repl` here).

A `by` block is parsed by indentation, as Lean reads it: a tactic starts where a line is indented
as much as the block's first tactic, and deeper lines belong to it. Two tactics open a nested
block: the focusing dot `· TAC` (the block runs on the first goal, which it must close) and a
tactic written `HEADER := by ...` such as `have h : T := by` (the block runs on the goal the
script's `blocks` gives for HEADER, and must close it; the outer goal then moves by `moves`).

For each tactic the stand-in records what the real REPL reports (shapes of leanprover-community/repl
`test/all_tactics*.expected.out`, `test/infotree.expected.out` and augustepoiroux/repl
`test/extract_declaration.expected.out`):
  allTactics -> "tactics": [{"tactic", "proofState", "pos", "endPos", "goals", "usedConstants", "parentDecl"}]
  infotree   -> "infotree": [{"node": {"stx": {"range": {"synthetic", "start", "finish"}, "pp", "kind",
                 "argKinds"}, "name", "goalsBefore", "goalsAfter"}, "kind": "TacticInfo", "children"}]
                (the `by` block, then a tactic sequence node, then the tactics, nested blocks below them)
  declarations -> "declarations": [{"pp", "range", "scope", "name", "fullName", "kind", "modifiers",
                 "signature", "binders", "type", "value"}]
  rootGoals  -> each theorem's goal in "sorries" ({"proofState", "pos", "goal", "endPos"})
Used constants are the identifiers of the tactic's text (nested blocks included) that name a
constant of the script's `constants` or a declaration made earlier, through the open namespaces,
plus the script's `noise` for the tactic's first word (the real REPL lists every constant of the
elaborated term: `Eq.mpr`, instances, ...).
"""
from __future__ import annotations

import re

NO_GOALS = "no goals"
_NESTED = re.compile(r":=\s*by\b")
IDENT = re.compile(r"[^\W\d][\w.'!?₀-₉]*")


def pos(line: int, col: int) -> dict:
    return {"line": line, "column": col}


class Node:
    """One tactic: its items (line, column, text) and the nested blocks it opens."""

    def __init__(self, items: list, kind: str, header: str | None = None, blocks: list | None = None):
        self.items, self.kind, self.header, self.blocks = items, kind, header, blocks or []

    @property
    def start(self) -> tuple:
        return self.items[0][0], self.items[0][1]

    @property
    def end(self) -> tuple:
        line, col, text = self.items[-1]
        ends = [(b[-1].end if b else None) for b in self.blocks]
        last = (line, col + len(text))
        return max([last] + [e for e in ends if e])

    @property
    def key(self) -> str:
        """What `moves` is keyed by: the text, or the header of a tactic with a nested block."""
        return self.header if self.header is not None else "\n".join(t for _, _, t in self.items)


def parse(items: list) -> list:
    """Tactic nodes of a block: items are (line, column, stripped text) of its non-blank lines."""
    nodes, i = [], 0
    while i < len(items):
        line, col, text = items[i]
        j = i + 1
        while j < len(items) and items[j][1] > col:
            j += 1
        nodes.append(_node(items[i], items[i + 1:j]))
        i = j
    return nodes


def _node(first: tuple, rest: list) -> Node:
    line, col, text = first
    if text in ("·", ".") or text.startswith(("· ", ". ")):
        inner = text[1:].strip()
        inner_col = col + len(text) - len(inner)
        return Node([first], "focus", None, [parse(([(line, inner_col, inner)] if inner else []) + rest)])
    m = _NESTED.search(text)
    if m:
        after = text[m.end():].strip()
        inner = [(line, col + text.index(after, m.end()), after)] if after else []
        return Node([(line, col, text[:m.end()])], "nested", text[:m.end()], [parse(inner + rest)])
    return Node([first] + rest, "plain")


def source(lines: list, start: tuple, end: tuple) -> str:
    """The command's text between two (1-based line, column) positions."""
    (l0, c0), (l1, c1) = start, end
    if l0 == l1:
        return lines[l0 - 1][c0:c1]
    return "\n".join([lines[l0 - 1][c0:]] + lines[l0:l1 - 1] + [lines[l1 - 1][:c1]])


def resolve(word: str, known: set, namespaces: list) -> str | None:
    """The constant an identifier names: itself, or under the current namespace or one above it."""
    parts = ".".join(namespaces).split(".") if namespaces else []
    for k in range(len(parts), -1, -1):
        name = ".".join(parts[:k] + [word])
        if name in known:
            return name
    return None


def used_constants(text: str, known: set, namespaces: list, noise: dict) -> list:
    out: list = []
    for word in IDENT.findall(text):
        parts = word.rstrip(".").split(".")
        for k in range(len(parts), 0, -1):  # `List.length_pos.mpr`: the constant List.length_pos
            name = resolve(".".join(parts[:k]), known, namespaces)
            if name:
                break
        if name and name not in out:
            out.append(name)
    words = text.split()
    for extra in noise.get(words[0] if words else "", []):
        if extra not in out:
            out.append(extra)
    return out


def info_node(kind: str, start: tuple, end: tuple, pp: str, before: list, after: list, children: list) -> dict:
    return {"node": {"stx": {"range": {"synthetic": False, "start": pos(*start), "finish": pos(*end)}, "pp": pp,
                             "kind": kind, "argKinds": []},
                     "name": kind, "goalsBefore": before, "goalsAfter": after},
            "kind": "TacticInfo", "children": children}


def goals_of(state: str) -> list:
    return [] if state == NO_GOALS else state.split("\n\n")


def declaration(lines: list, first: int, last: int, kind: str, name: str, full: str, namespace: str,
                value_col: int | None, value_line: int | None) -> dict:
    """The `declarations` entry of one declaration (lines[first:last] are its lines)."""
    while last > first + 1 and not lines[last - 1].strip():
        last -= 1
    start, end = (first + 1, 0), (last, len(lines[last - 1]))
    text = source(lines, start, end)
    head = text.split(":=", 1)[0]
    after_name = head.split(name, 1)[1] if name and name in head else head.split(None, 1)[-1]
    sig = after_name.strip()
    sig_col = lines[first].find(sig[:10]) if sig else 0
    groups = re.findall(r"[({\[][^)}\]]*[)}\]]", sig.split(" : ")[0] if " : " in sig else "")
    typ = sig.rsplit(" : ", 1)[-1] if " : " in sig else sig.lstrip(": ")
    rng = lambda a, b: {"synthetic": False, "start": pos(*a), "finish": pos(*b)}  # noqa: E731
    sig_range = rng((first + 1, sig_col), (first + 1, sig_col + len(sig)))
    value = None
    if value_line is not None:
        value = {"range": rng((value_line, value_col), end), "pp": source(lines, (value_line, value_col), end),
                 "constants": []}
    return {"value": value, "type": {"range": sig_range, "pp": typ, "constants": []},
            "signature": {"range": sig_range, "pp": sig, "constants": []},
            "scope": {"varDecls": [], "openDecl": [], "omitVars": [], "levelNames": [], "includeVars": [],
                      "currNamespace": namespace or "[anonymous]"},
            "range": rng(start, end), "pp": text, "name": name or f"_{kind}",
            "modifiers": {"visibility": "regular", "recKind": "default", "isUnsafe": False, "docString": None,
                          "computeKind": "regular", "attributes": []},
            "kind": "theorem" if kind in ("theorem", "lemma") else {"def": "definition"}.get(kind, kind),
            "fullName": full,
            "binders": {"range": sig_range, "pp": " ".join(groups), "groups": groups,
                        "map": [{"type": g[1:-1].split(" : ", 1)[-1], "id": v, "binderInfo": "default"}
                                for g in groups for v in g[1:-1].split(" : ", 1)[0].split()]} if groups else None}


# -- the premise program (leanagent.sources.repl_premises) ----------------------------------------
META_MARK = "leanagent-premises"
_NAMES = re.compile(r'"((?:[^"\\]|\\.)*)"')


def premise_answers(text: str, script: dict, own: dict) -> list:
    """Info messages as the package's premise program prints them: one JSON object per name."""
    import json

    start = text.index("#[")
    names = _NAMES.findall(text[start:text.index("]", start)])
    out = []
    for name in names:
        c = script.get("constants", {}).get(name)
        if c is None and name in own:
            c = own[name]
        if c is None:
            data = {"name": name, "module": None}
        else:
            data = {"name": name, "module": c["module"], "kind": c.get("kind", "theorem"),
                    "type": c.get("type", ""), "range": c.get("range"), "selection": c.get("selection")}
        out.append(json.dumps(data, ensure_ascii=False))
    return out


# -- goals from statements (the script's `derive_goals`) ------------------------------------------
_VARIABLE = re.compile(r"\{(\S+) : Type _\}")


def variables(lines: list) -> list:
    """The `variable {α : Type _}` names of a command, in order (auto-bound in the statements using them)."""
    return [v for line in lines if line.startswith("variable") for v in _VARIABLE.findall(line)]


def _groups(sig: str) -> tuple[list, str]:
    """The binder groups `(a b : T)` of a signature and its type after ` : `."""
    groups, i = [], 0
    pairs = {"(": ")", "{": "}", "[": "]"}
    while i < len(sig) and sig[i] in pairs:
        depth, j = 0, i
        while j < len(sig):
            depth += sig[j] in "({[" or -(sig[j] in ")}]")
            if depth == 0:
                break
            j += 1
        groups.append(sig[i + 1:j])
        i = j + 1
        while i < len(sig) and sig[i] == " ":
            i += 1
    return groups, sig[i:].removeprefix(":").strip()


def derive_goal(sig: str, auto: list) -> str:
    """The goal Lean shows for a statement: each binder group a hypothesis line (consecutive names of
    one type on one line), auto-bound `Type _` variables first (universes u_1, u_2, ... in order)."""
    groups, typ = _groups(" ".join(sig.split()))
    hyps: list = []
    used = [v for v in auto if re.search(rf"(?<![\w.]){re.escape(v)}(?![\w'])", sig)]
    for k, v in enumerate(used):
        hyps.append(([v], f"Type u_{k + 1}"))
    for g in groups:
        names, _, t = g.partition(" : ")
        if hyps and hyps[-1][1] == t:
            hyps[-1][0].extend(names.split())
        else:
            hyps.append((names.split(), t))
    return "\n".join(f"{' '.join(n)} : {t}" for n, t in hyps) + f"\n⊢ {typ}" if hyps else f"⊢ {typ}"


def _arrows(goal: str) -> list:
    """`A → B → C` split at its top-level arrows."""
    parts, depth, cur = [], 0, ""
    for ch in goal:
        depth += ch in "([{" or -(ch in ")]}")
        if ch == "→" and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return parts + [cur.strip()]


def derive_intro(state: str, tactic: str) -> str | None:
    """`intro h₁ h₂` on a goal `A → B → C`: the hypotheses `h₁ : A`, `h₂ : B` and the goal `C`."""
    names = tactic.split()[1:]
    if not names or "\n\n" in state or "⊢ " not in state:
        return None
    hyps, _, goal = state.rpartition("⊢ ")
    parts = _arrows(goal)
    if len(parts) <= len(names):
        return None
    added = "".join(f"{n} : {t}\n" for n, t in zip(names, parts))
    return f"{hyps}{added}⊢ {' → '.join(parts[len(names):])}"
