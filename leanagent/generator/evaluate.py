"""Tactic accuracy of any proposer on recorded steps (pure over plain data)."""

from __future__ import annotations

import time
from typing import Callable, Sequence

from leanagent.data import RecordedStep
from leanagent.text import normalize_tactic


def tactic_accuracy(proposer, steps: Sequence[RecordedStep], k: int = 10, batch: int = 16,
                    deadline: float | None = None, clock: Callable[[], float] = time.monotonic) -> dict:
    """Exact match of the top tactic and top-k accuracy (normalised tactics), in percent.

    Every query carries its step's theorem as the target, so a proposer never
    answers from the evaluated theorem's own recorded steps, and the model's
    premises are the ones accessible from that theorem. With a `deadline`
    (a `clock()` value) no batch starts that would end after it, judging by the
    previous batch: the figures are then over the steps evaluated (`steps`), and
    `limited_by_time` says so.
    """
    hit1 = hitk = 0
    done = 0
    last = 0.0  # seconds the previous batch took
    for i in range(0, len(steps), batch):
        if deadline is not None and clock() + last >= deadline:
            break
        chunk = steps[i:i + batch]
        done += len(chunk)
        started = clock()
        props = proposer.generate([e.state for e in chunk], k, targets=[e.theorem for e in chunk])
        last = clock() - started
        for e, cands in zip(chunk, props):
            want = normalize_tactic(e.tactic)
            got = [normalize_tactic(t) for t, _ in cands[:k]]
            hit1 += bool(got) and got[0] == want
            hitk += want in got
    n = done
    return {"exact_match": 100.0 * hit1 / n if n else 0.0, "top_k": 100.0 * hitk / n if n else 0.0,
            "k": k, "steps": n, "limited_by_time": n < len(steps)}
