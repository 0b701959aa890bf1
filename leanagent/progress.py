"""Progress of long work on stderr that reads well in a terminal and in a log file.

On a terminal: tqdm's bar. Where stderr is a file or a pipe (a log, cron, `nohup`): tqdm would
write carriage returns into it, so a plain line is written instead, at most every `every` seconds
and once at the end: the count, the rate and the time left, and what the caller reports
(`proved=3`). Counters are set before the line is written, so a line never lags its count.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

#: Seconds between progress lines in a log file (issue 27: at least every 30 s).
EVERY = 30.0


def duration_text(seconds: float) -> str:
    """`1m 05s`: how every progress line writes a duration (pure)."""
    m, s = divmod(int(seconds), 60)
    return f"{m}m {s:02d}s"


class Progress:
    def __init__(self, total: int, desc: str, unit: str = "it", *, stream: TextIO | None = None,
                 every: float = EVERY, clock: Callable[[], float] = time.monotonic):
        self.total, self.desc, self.unit, self.every, self.clock = total, desc, unit, every, clock
        self.stream = stream if stream is not None else sys.stderr
        self.done, self.postfix = 0, {}
        self._start = self._last = clock()
        self._bar = None
        if self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, leave=True)

    def update(self, n: int = 1, **postfix) -> None:
        self.done += n
        self.postfix.update(postfix)
        if self._bar is not None:
            self._bar.set_postfix(self.postfix, refresh=False)  # before the count: one render, both current
            self._bar.update(n)
        elif self.clock() - self._last >= self.every:
            self._line()

    def line(self) -> str:
        elapsed = self.clock() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = f", about {duration_text((self.total - self.done) / rate)} left" if rate > 0 and self.total else ""
        extra = "".join(f", {k}={v}" for k, v in self.postfix.items())
        return (f"{self.desc}: {self.done}/{self.total} {self.unit} in {duration_text(elapsed)} "
                f"({rate:.2f} {self.unit}/s{left}){extra}")

    def _line(self) -> None:
        self._last = self.clock()
        print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.done:
            self._line()
