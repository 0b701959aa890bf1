"""Difficulty and curriculum order as pure functions (data in, order out).

NOTE for the curriculum work (issue 3): `theorem_difficulty` is used by
`leanagent.db.ingest` to fill `Theorem.difficulty`; keep its name and meaning.
"""

from __future__ import annotations

import math

# e^S overflows a float above S = 709. No real proof has that many steps, but a
# pathological trace must not crash the import, so the exponent is capped.
_MAX_EXPONENT = 700


def theorem_difficulty(num_steps: int, is_sorry: bool = False) -> float | None:
    """e^S for a theorem with S traced proof steps; None (infinite) for a `sorry` theorem."""
    if is_sorry:
        return None
    return math.exp(min(num_steps, _MAX_EXPONENT))
