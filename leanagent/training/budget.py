"""`--max-minutes`: one wall-clock budget for a whole training command, evaluations included.

A command that trains several repositories and evaluates after each (`train
generator`, `train retriever`, `nightly`'s training) creates one `TimeBudget`
when it starts and hands it to the trainer and to the stage evaluator. Before
each stage the time left is split evenly over the stages still to train; of a
stage's slot, training may use all but `EVAL_SHARE` when an evaluation follows,
and the evaluation stops at the end of the slot (the stage's metrics then say
`limited_by_time`). The command therefore ends within the budget, give or take one
training batch, one evaluation batch and the checkpoint writes.
"""

from __future__ import annotations

import time
from typing import Callable

#: Share of a stage's slot kept for the evaluation after it.
EVAL_SHARE = 0.25
#: Lightning's max_time has a resolution of a second: a stage trains at least this long.
MIN_TRAIN_SECONDS = 1.0


def stage_seconds(remaining: float, stages_left: int, evaluates: bool, eval_share: float = EVAL_SHARE
                  ) -> tuple[float, float]:
    """(training seconds, slot seconds) of the next stage (pure).

    The slot is an even share of what is left over the stages still to train; training gets the slot
    less the evaluation's share (when one follows), and never less than MIN_TRAIN_SECONDS.
    """
    slot = max(0.0, remaining) / max(1, stages_left)
    train = slot * (1.0 - eval_share) if evaluates else slot
    return max(MIN_TRAIN_SECONDS, train), slot


class TimeBudget:
    """The budget of one command; `None` minutes means no limit (every method then says so)."""

    def __init__(self, minutes: float | None, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.deadline = clock() + minutes * 60.0 if minutes is not None else None
        self.slot_end = self.deadline

    @property
    def limited(self) -> bool:
        return self.deadline is not None

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - self.clock()

    def next_stage(self, stages_left: int, evaluates: bool) -> float | None:
        """Training seconds for the stage about to train (None: no limit); starts that stage's slot."""
        if self.deadline is None:
            return None
        train, slot = stage_seconds(self.deadline - self.clock(), stages_left, evaluates)
        self.slot_end = min(self.deadline, self.clock() + slot)
        return train

    def eval_deadline(self) -> float | None:
        """`clock()` value at which the current stage's evaluation must stop (None: no limit)."""
        return self.slot_end

    def expired(self, deadline: float | None = None) -> bool:
        """True once `deadline` (default: the current slot's end) has passed."""
        at = self.slot_end if deadline is None else deadline
        return at is not None and self.clock() >= at
