"""What a proof text asks of Lean beyond its tactics: native evaluation and `maxHeartbeats`.

Pure text functions over masked text (`leanagent.lean.lexer.mask`: comments and string contents
blanked), so a `native_decide` in a comment, a docstring or a string is never taken for a use,
and an identifier that merely contains the word (`native_decide_spec`, `Foo.native_decide`) is not
the tactic. The review flags (`leanagent.review.flags`) call these.
"""

from __future__ import annotations

import re

from leanagent.lean.lexer import mask

#: Lean's default `maxHeartbeats` (the option is in thousands of heartbeats; 0 means no limit).
DEFAULT_MAX_HEARTBEATS = 200_000

# Identifier characters on either side: a match inside `my_native_decide` or `native_decide'` is a name.
_NOT_ID_BEFORE = r"(?<![\w.'!?])"
_NOT_ID_AFTER = r"(?![\w'!?])"
_NATIVE = [
    ("`native_decide`", re.compile(_NOT_ID_BEFORE + r"native_decide" + _NOT_ID_AFTER)),
    ("`decide +native`", re.compile(_NOT_ID_BEFORE + r"decide\s*\+\s*native" + _NOT_ID_AFTER)),
    # `decide (config := { native := true })`, or the option given any other way.
    ("`native := true`", re.compile(_NOT_ID_BEFORE + r"native\s*:=\s*true" + _NOT_ID_AFTER)),
]
_HEARTBEATS = re.compile(_NOT_ID_BEFORE + r"set_option\s+maxHeartbeats\s+(\d+)(\s+in" + _NOT_ID_AFTER + ")?")
# What may stand between `set_option ... in` and the declaration it scopes.
_SCOPED_PREFIX = re.compile(r"\s*(?:(?:set_option\s+[\w.]+\s+\S+|open\s+[^\n]*?)\s+in\s+)*"
                            r"(?:@\[[^\]]*\]\s*)*(?:(?:private|protected|noncomputable|nonrec)\s+)*$")


def native_uses(proof: str) -> list[str]:
    """The ways `proof` asks for native evaluation (`native_decide`, `decide +native`, `native := true`)."""
    if "native" not in proof:  # the common case, without lexing
        return []
    text = mask(proof)
    return [what for what, pattern in _NATIVE if pattern.search(text)]


def heartbeats_set(proof: str) -> list[int]:
    """The `maxHeartbeats` values that `proof` sets (`set_option maxHeartbeats N in tac`)."""
    if "maxHeartbeats" not in proof:  # the common case, without lexing
        return []
    return [int(m[1]) for m in _HEARTBEATS.finditer(mask(proof))]


def heartbeats_in_force(text: str, offset: int) -> int:
    """The `maxHeartbeats` in force for a declaration whose command starts at `offset` of the file `text`:
    a `set_option maxHeartbeats N in` directly before it, else the last file-level `set_option
    maxHeartbeats N` above it, else Lean's default. (A `section` does not end an option here: a value set
    inside an earlier section reads as still in force, which can only hide a raise, never invent one.)"""
    masked = mask(text)
    value = DEFAULT_MAX_HEARTBEATS
    for m in _HEARTBEATS.finditer(masked, 0, offset):
        if not m[2]:
            value = int(m[1])
        elif _SCOPED_PREFIX.match(masked[m.end():offset]):
            return int(m[1])
    return value


def raises_heartbeats(new: int, in_force: int) -> bool:
    """True when setting `maxHeartbeats` to `new` gives more than `in_force` (0 is no limit at all)."""
    if in_force == 0:
        return False
    return new == 0 or new > in_force
