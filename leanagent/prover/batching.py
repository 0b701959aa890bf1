"""Several searches, one proposer call: dynamic batching across theorems.

Best-first search on one theorem often has a single open node (early on, or
when the proposer's tactics mostly fail), so `SearchConfig.expand_batch`
alone leaves a GPU idle between tiny calls: one beam-search call costs about the
same for 1 state as for 32 (measured on an H200, see bench/bench_gpu.py). A
worker therefore runs several searches at once, in threads, that share one
`BatchingProposer`: requests that arrive while the proposer is busy (or within
`wait_s` of the first) are merged into one call of the wrapped proposer, and
each caller gets back exactly its own rows. For a deterministic proposer whose
rows do not depend on the other rows of the batch, results are identical to
calling it directly (tested), so every search's tree is unchanged when
expansions bound the search. A wall-clock `timeout` can end differently: a
search's model time includes waiting behind the other searches' states.

Torch releases the GIL inside its kernels, so the threads overlap the
environment's work (Lean, or replay lookups) with the model's.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Sequence

from leanagent.generator.base import Candidate, TheoremRef


class BatchingProposer:
    """A `TacticProposer` shared by threads; merges their concurrent `generate` calls.

    No caller waits forever: whatever goes wrong in the serving thread (the wrapped proposer raising,
    returning the wrong number of rows, or `close` while requests wait) reaches every waiting caller as
    an exception.
    """

    def __init__(self, inner, max_states: int = 64, wait_s: float = 0.002):
        self.inner, self.max_states, self.wait_s = inner, max_states, wait_s
        self.name = inner.name
        self.calls = 0  # calls of the wrapped proposer (tests and benchmarks read it)
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()  # `_closed` and the stop marker vs a request being queued
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="batching-proposer", daemon=True)
        self._thread.start()

    def generate(self, states: Sequence[str], num: int,
                 targets: Sequence[TheoremRef | None] | None = None) -> list[list[Candidate]]:
        if not states:
            return []
        if targets is not None and len(targets) != len(states):
            # Merged calls line targets up with states by position: a short list would shift every later
            # request's targets, and targets decide which theorem's own records a proposer must not use.
            raise ValueError(f"{len(targets)} targets for {len(states)} states")
        fut: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("BatchingProposer is closed")
            self._queue.put((list(states), num, list(targets) if targets is not None else [None] * len(states), fut))
        return fut.result()  # re-raises the wrapped proposer's exception in the caller

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout=5)
        self._fail_waiting(RuntimeError("BatchingProposer is closed"))

    # -- the serving thread -------------------------------------------------------
    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            try:
                size = len(first[0])
                while size < self.max_states:  # whatever else is waiting, or arrives within wait_s
                    try:
                        item = self._queue.get(timeout=self.wait_s)
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)  # stop after this batch
                        break
                    batch.append(item)
                    size += len(item[0])
                # One call per distinct `num` (searches normally share it).
                for num in dict.fromkeys(item[1] for item in batch):
                    self._run([item for item in batch if item[1] == num], num)
            except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting
                for item in batch:
                    if not item[3].done():
                        item[3].set_exception(exc)

    def _run(self, items: list, num: int) -> None:
        states = [s for item in items for s in item[0]]
        targets = [t for item in items for t in item[2]]
        try:
            self.calls += 1
            rows = self.inner.generate(states, num, targets)
            if rows is None or len(rows) != len(states):
                raise ValueError(f"{self.name} returned {0 if rows is None else len(rows)} rows for "
                                 f"{len(states)} states")
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting caller
            for item in items:
                item[3].set_exception(exc)
            return
        at = 0
        for item in items:
            n = len(item[0])
            item[3].set_result(list(rows[at:at + n]))
            at += n

    def _fail_waiting(self, exc: BaseException) -> None:
        """After the serving thread stopped: fail whatever is still queued."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None and not item[3].done():
                item[3].set_exception(exc)
