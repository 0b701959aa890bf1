"""Tactic safety: model output is untrusted code, checked before it reaches Lean.

A tactic is rejected when it could run arbitrary code (`#eval`, `run_tac`,
`IO`, `unsafe`, ...), escape the proof into a command (`#exit`, `macro`,
attributes), weaken what the kernel checks (`sorry`, `admit`, `native_decide`,
`maxHeartbeats 0`, debug/trust options), start an unbounded search
(`exact?` and friends, or search limits over a size), or start a new command
on a later line (`end`, `theorem`, `instance`: Lean's one-tactic parse refuses
those, but a replay proof is never parsed). The search counts a rejected
tactic as an error and logs the reason.

Identifiers are read as Lean reads them: `«»` quotes are removed first, so
`set_option debug.«skipKernelTC» true` and `decide +«native»` are the options
they name. This is a fast first filter, not the guarantee: whatever it misses
(`exact earlier_sorry_lemma`, a lemma proved by `native_decide`) shows in the
theorem's axioms, which the whole-file re-check asks Lean for
(`leanagent.prover.recheck`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A token boundary for Lean identifiers: `sorry` but not `sorry_lemma` or `Foo.sorry'`.
_L = r"(?<![\w.'?!])"
_R = r"(?![\w'?!])"


def _word(*words: str) -> re.Pattern:
    return re.compile(_L + "(?:" + "|".join(re.escape(w) for w in words) + ")" + _R)


# Ways to run arbitrary code at elaboration time, or to escape into a command.
_CODE = _word("run_cmd", "run_tac", "run_elab", "run_meta", "by_elab", "IO", "unsafe", "implemented_by",
              "extern", "macro", "macro_rules", "elab", "elab_rules", "syntax", "initialize",
              "builtin_initialize", "declare_syntax_cat", "attribute", "axiom", "opaque", "dbg_trace",
              "dbgTrace", "unsafeCast", "unsafeIO", "unsafeBaseIO", "unsafeEIO", "ofReduceBool",
              "ofReduceNat", "Lean.ofReduceBool", "Lean.ofReduceNat", "import", "namespace", "section")
_COMMAND = re.compile(r"#[A-Za-z_][\w.]*")           # #eval, #exit, #print, #check, ...
_ATTRIBUTE = re.compile(r"@\[")                # @[implemented_by ...], @[extern ...]
_GIVE_UP = _word("sorry", "admit", "stop")
# Command keywords: never the start of a tactic, so a tactic holding one escapes into the file.
_NEW_COMMAND = _word("theorem", "lemma", "def", "instance", "example", "abbrev", "end", "structure",
                     "inductive", "class", "universe", "variable", "mutual", "noncomputable", "deriving",
                     "export", "omit", "include", "notation", "infix", "infixl", "infixr", "prefix", "postfix")
_NATIVE = re.compile(_L + r"native_decide" + _R + r"|\+native\b|native\s*:=\s*true")
_SEARCH = _word("exact?", "apply?", "rw?", "refine?", "library_search", "hint", "rw_search",
                "polyrith", "aesop?")
_SET_OPTION = re.compile(r"set_option\s+([\w.]+)\s+(\S+)")
_SEARCH_LIMIT = re.compile(r"\b(maxSteps|maxRuleApplications|maxDepth|maxRecDepth|maxDischargeDepth|"
                           r"maxNormalizations|maxGoals|maxRuleHeartbeats|maxSize|maxHeartbeats|"
                           r"maxTotalHeartbeats|maxSynthPendingDepth)\s*:?=\s*(\d+)")
_TRUST_OPTIONS = ("debug.", "trust", "compiler.", "interpreter.", "bootstrap.", "backward.")
_HEARTBEAT_OPTIONS = ("maxHeartbeats", "synthInstance.maxHeartbeats", "maxRecDepth",
                      "synthInstance.maxSize")
# One pass over the text: a tactic that matches none of the patterns is allowed without the
# detailed checks below (most model output). The search calls the policy for every tactic.
_ANY = re.compile("|".join(f"(?:{p.pattern})" for p in (_CODE, _COMMAND, _ATTRIBUTE, _GIVE_UP, _NATIVE, _SEARCH,
                                                        _SET_OPTION, _SEARCH_LIMIT, _NEW_COMMAND)) + "|\x00")


_QUOTED = re.compile(r"«([^»]*)»")


def unquote(tactic: str) -> str:
    """The tactic with Lean's identifier quotes `«»` removed: `debug.«skipKernelTC»` is
    `debug.skipKernelTC` to Lean, and must be to the policy. A quoted part stays one word
    (`«my lemma»` reads `my_lemma`, not the keyword `lemma`)."""
    return _QUOTED.sub(lambda m: re.sub(r"\s", "_", m.group(1)), tactic)


@dataclass(frozen=True)
class SafetyPolicy:
    """Which tactics may reach Lean. The defaults are strict."""

    allow_native_decide: bool = False
    """`native_decide` trusts the compiler; off unless a project accepts that."""
    allow_search_tactics: bool = False
    """`exact?`, `apply?`, `rw?`, `hint`, ...: unbounded searches inside one tactic."""
    max_search_size: int = 200_000
    """Largest number accepted for a search/heartbeat limit (`maxSteps := N`, `maxHeartbeats N`)."""
    max_chars: int = 4096
    """Longer tactic texts are rejected outright (runaway generations)."""

    def check(self, tactic: str) -> str | None:
        """None when `tactic` may run, else the reason for rejecting it."""
        if not tactic.strip():
            return "empty tactic"
        if len(tactic) > self.max_chars:
            return f"tactic longer than {self.max_chars} characters"
        tactic = unquote(tactic)
        if _ANY.search(tactic) is None:
            return None
        if "\x00" in tactic:
            return "NUL byte in tactic"
        if m := _COMMAND.search(tactic):
            return f"command `{m.group(0)}` inside a tactic"
        if _ATTRIBUTE.search(tactic):
            return "attribute inside a tactic"
        if m := _CODE.search(tactic):
            return f"`{m.group(0)}` can run arbitrary code or leave the proof"
        if m := _GIVE_UP.search(tactic):
            return f"`{m.group(0)}` gives up instead of proving"
        if m := _NEW_COMMAND.search(tactic):
            return f"`{m.group(0)}` starts a new command, not a tactic"
        if not self.allow_native_decide and (m := _NATIVE.search(tactic)):
            return f"`{m.group(0)}` trusts compiled code (allow_native_decide is off)"
        if not self.allow_search_tactics and (m := _SEARCH.search(tactic)):
            return f"`{m.group(0)}` is an unbounded search (allow_search_tactics is off)"
        for m in _SET_OPTION.finditer(tactic):
            reason = self._check_option(m.group(1), m.group(2))
            if reason:
                return reason
        for m in _SEARCH_LIMIT.finditer(tactic):
            if int(m.group(2)) == 0 or int(m.group(2)) > self.max_search_size:
                return f"search limit {m.group(1)} = {m.group(2)} outside 1..{self.max_search_size}"
        return None

    def _check_option(self, name: str, value: str) -> str | None:
        if name.startswith(_TRUST_OPTIONS):
            return f"set_option {name} weakens or bypasses checking"
        if name in _HEARTBEAT_OPTIONS:
            if not value.isdigit():
                return f"set_option {name} needs a number"
            n = int(value)
            if n == 0 or n > self.max_search_size * 10:
                return f"set_option {name} {value}: 0 means unlimited, and the cap is {self.max_search_size * 10}"
        return None

    def allows(self, tactic: str) -> bool:
        return self.check(tactic) is None
