"""The stand-in REPL's state and tactic runner (see `repl` here): the script, the environments and proof
states of this process, and how a `by` block's tactic nodes (fake_tactics.parse) run from a goal."""
import json
import os
import re
import sys
import time

import fake_tactics as ft

SCRIPT = json.load(open(os.environ["FAKE_REPL_SCRIPT"], encoding="utf-8"))
LOG = os.environ.get("FAKE_REPL_LOG")
DECL = re.compile(r"^(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable)\s+)*"
                  r"(?P<kind>theorem|lemma|def|example|abbrev|instance)\b\s*(?P<name>[^\s:(\[{]+)?")
SORRY = re.compile(r"(?<![\w.'])sorry(?![\w'])")
NO_GOALS = "no goals"
DEFAULT_MS = 1.0  # what the profiler reports for a tactic the script's `timing` does not name

envs: list[tuple[frozenset, tuple, tuple]] = []  # (names declared, open namespaces, (name, axioms)) of each env
proof_states: list[str] = []     # the goal text of each proof state


def log(suffix: str, obj) -> None:
    if LOG:
        with open(LOG + suffix, "a", encoding="utf-8") as f:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")


def pos(line: int, col: int) -> dict:
    return {"line": line, "column": col}


def message(line: int, col: int, severity: str, data: str) -> dict:
    return {"pos": pos(line, col), "endPos": pos(line, col + 1), "severity": severity, "data": data}


def new_state(goal: str) -> int:
    proof_states.append(goal)
    return len(proof_states) - 1


def blocks(lines: list[str], namespaces: list[str]):
    """(first line index, last line index + 1, namespace prefix) of each declaration; `namespaces`
    (the open ones, carried from the parent environment as Lean's command state does) is updated."""
    starts = []
    for i, line in enumerate(lines):
        if line[:1].isspace() or not line.strip():
            continue
        word = line.split()[0]
        if word == "namespace":
            namespaces.append(line.split()[1])
        elif word == "end" and namespaces:
            namespaces.pop()
        starts.append((i, DECL.match(line) is not None, ".".join(namespaces)))
    for k, (i, is_decl, prefix) in enumerate(starts):
        if is_decl:
            j = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
            yield i, j, prefix


IDENT = re.compile(r"[^\W\d][\w.'!?]*")


def tactic_axioms(tac: str, known: dict) -> set:
    """The axioms a tactic brings in: its own (script), and those of the declarations it names."""
    out = set(SCRIPT.get("axioms", {}).get(tac, []))
    for word in IDENT.findall(tac):
        out |= set(known.get(word, ()))
    return out


class Ctx:
    """What elaborating one declaration's tactics collects."""

    def __init__(self, messages, sorries, axioms, known, lines, decl, namespaces, constants):
        self.messages, self.sorries, self.axioms, self.known = messages, sorries, axioms, known
        self.lines, self.decl, self.namespaces, self.constants = lines, decl, namespaces, constants
        self.entries: list = []
        self.timings: list = []  # (tactic, milliseconds) of each tactic run, for the profiler (`timing`)


def run_plain(node, state: str, ctx: Ctx):
    """One tactic without a nested block; the state after it, or None after an error (which stops)."""
    line_no, col, _ = node.items[0]
    tac = node.key
    if ctx.axioms is not None:
        ctx.axioms |= tactic_axioms(tac, ctx.known)
    if state == NO_GOALS:
        ctx.messages.append(message(line_no, col, "error", "no goals to be proved"))
        return None
    if tac in SCRIPT.get("crash", []):
        sys.exit(1)
    if tac in SCRIPT.get("slow", []):
        time.sleep(30)
    if tac.startswith("first |"):  # `first | t1 | t2`: the first alternative that works, as in Lean
        moves = SCRIPT.get("moves", {}).get(state, {})
        tac = next((alt for alt in (a.strip() for a in tac[len("first |"):].split("|"))
                    if alt in moves or SORRY.search(alt)), tac)
    if tac.startswith("simp?"):  # Lean suggests the `simp only` it used, then runs it as the plain simp
        plain = "simp" + tac[len("simp?"):]
        only = SCRIPT.get("simp_only", {}).get(state) or SCRIPT.get("simp_only", {}).get(plain)
        if only:
            ctx.messages.append(message(line_no, col, "info", f"Try this: {only}"))
        tac = plain
    ctx.timings.append((tac, SCRIPT.get("timing", {}).get(tac, DEFAULT_MS)))
    if tac in SCRIPT.get("lint", {}):
        ctx.messages.append(message(line_no, col, "warning", SCRIPT["lint"][tac]))
    if SORRY.search(tac):
        at = SORRY.search(tac).start()
        ctx.sorries.append({"pos": pos(line_no, col + at), "endPos": pos(line_no, col + at + 5), "goal": state,
                            "proofState": new_state(state)})
        return NO_GOALS
    if tac in SCRIPT.get("file_reject", {}):
        ctx.messages.append(message(line_no, col, "error", SCRIPT["file_reject"][tac]))
        return None
    after = SCRIPT.get("moves", {}).get(state, {}).get(tac)
    if after is None and SCRIPT.get("derive_goals") and tac.startswith("intro "):
        after = ft.derive_intro(state, tac)
    if after is None and SCRIPT.get("default_move"):  # the script's stand-in for "Lean closes this goal"
        after = SCRIPT["default_move"]
    if after is None:
        ctx.messages.append(message(line_no, col, "error", f"unknown tactic '{tac}' for this goal"))
        return None
    return after


def run_block(nodes, state: str, ctx: Ctx):
    """(state after, infotree nodes) of a tactic block; the state is None after an error."""
    infos = []
    for node in nodes:
        slot = len(ctx.entries)
        ctx.entries.append(None)  # the tactic comes before the ones nested in it, as in the infotree
        children = []
        if node.kind == "plain":
            after = run_plain(node, state, ctx)
        elif state == NO_GOALS:
            ctx.messages.append(message(*node.start, "error", "no goals to be proved"))
            after = None
        else:
            goals = ft.goals_of(state)
            inner = goals[0] if node.kind == "focus" else SCRIPT.get("blocks", {}).get(node.key)
            if inner is None:
                ctx.messages.append(message(*node.start, "error", f"unknown goal for '{node.key}'"))
                return None, infos
            closed, kids = run_block(node.blocks[0], inner, ctx)
            children = [seq_info(node.blocks[0], inner, closed or inner, kids)] if node.blocks[0] else []
            if closed is not None and closed != NO_GOALS:
                ctx.messages.append(message(*node.start, "error", "unsolved goals\n" + closed))
                closed = None
            if closed is None:
                after = None
            elif node.kind == "focus":
                after = "\n\n".join(goals[1:]) or NO_GOALS
            else:
                after = SCRIPT.get("moves", {}).get(state, {}).get(node.key)
                if after is None:
                    ctx.messages.append(message(*node.start, "error", f"unknown tactic '{node.key}' for this goal"))
        if after is None:
            del ctx.entries[slot:slot + 1]
            return None, infos
        text = ft.source(ctx.lines, node.start, node.end)
        kind = "Lean.cdot" if node.kind == "focus" else "Lean.Parser.Tactic." + (text.split() or ["skip"])[0]
        known = set(SCRIPT.get("constants", {})) | set(ctx.known)
        ctx.entries[slot] = {"usedConstants": ft.used_constants(text, known, ctx.namespaces, SCRIPT.get("noise", {})),
                             "tactic": text, "proofState": new_state(state), "pos": pos(*node.start),
                             "parentDecl": ctx.decl, "goals": state, "endPos": pos(*node.end)}
        infos.append(ft.info_node(kind, node.start, node.end, text, ft.goals_of(state), ft.goals_of(after), children))
        state = after
    return state, infos


def seq_info(nodes, before: str, after: str, kids: list) -> dict:
    """The tactic sequence node that holds a block's tactics in the infotree."""
    return ft.info_node("Lean.Parser.Tactic.tacticSeq", nodes[0].start, nodes[-1].end, None, ft.goals_of(before),
                        ft.goals_of(after), kids)


def profile(timings: list) -> str:
    """The profiler's message for one declaration, as Lean words it: a line per tactic (in ms under a
    second, else in s) and the type check."""
    def took(ms: float) -> str:
        return f"{ms:g}ms" if ms < 1000 else f"{ms / 1000:g}s"
    return "\n".join([f"tactic execution of Lean.Parser.Tactic.{(tac.split() or ['skip'])[0]} took {took(ms)}"
                      for tac, ms in timings] + ["type checking took 0.1ms"])
