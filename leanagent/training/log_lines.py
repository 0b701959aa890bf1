"""A progress line at least every 30 s while a model trains (issue 27).

`train generator` run alone printed nothing for over 20 minutes into a log file. With Lightning's bar
off (the default: it writes carriage returns), this callback writes one plain line to stderr every
`every` seconds: the optimizer step (of how many), the loss, the rate and the time left.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from leanagent.progress import EVERY, duration_text


def step_line(step: int, total: int | None, loss: float | None, elapsed: float, examples: int | None = None) -> str:
    """`  training: step 40/200, loss 1.2345, 0.50 steps/s, 4.0 examples/s, about 5m 20s left` (pure);
    the examples/s part when `examples` (seen so far) is known."""
    rate = step / elapsed if elapsed > 0 else 0.0
    left = f", about {duration_text((total - step) / rate)} left" if total and rate > 0 and step < total else ""
    of = f"/{total}" if total else ""
    loss_text = f", loss {loss:.4f}" if loss is not None else ""
    ex = f", {examples / elapsed if elapsed > 0 else 0.0:.1f} examples/s" if examples is not None else ""
    return f"  training: step {step}{of}{loss_text}, {rate:.2f} steps/s{ex}{left}"


def batch_size_of(batch, default: int) -> int:
    """Examples in a batch: the rows of its first tensor, when it has one (else `default`)."""
    first = next(iter(batch.values()), None) if isinstance(batch, dict) else None
    shape = getattr(first, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) else default


def log_lines(total: int | None, *, every: float = EVERY, stream: TextIO | None = None,
              clock: Callable[[], float] = time.monotonic):
    """A Lightning callback writing `step_line` every `every` seconds (Lightning imported here)."""
    import pytorch_lightning as pl  # not through training.loop, which imports this module

    class LogLines(pl.Callback):
        def on_train_start(self, trainer, module) -> None:
            self.start = self.last = clock()
            self.examples = 0

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            self.examples += batch_size_of(batch, 0)
            now = clock()
            if now - self.last < every:
                return
            self.last = now
            loss = trainer.callback_metrics.get("loss")
            print(step_line(int(trainer.global_step), total, float(loss) if loss is not None else None,
                            now - self.start, self.examples if self.examples else None),
                  file=stream or sys.stderr, flush=True)

    return LogLines()
