"""Local proving workers forked from one loaded process: N workers for little more memory than one.

A Ray worker is a fresh Python process that imports torch, transformers and the
rest itself: about 320 MB of pages per process that no sharing of indexes can
remove (the Python objects of the imported modules, the libraries'
relocations; bench/bench_scale.py), so 4 Ray workers take 2.6x the memory of
one at 100k theorems even though every index is memory-mapped. Here the driver
spawns one *host* process, which loads what every worker only reads -- the
proposer (its models, the shared proposer folder) and, for replay, the replay
index --, freezes its objects (`gc.freeze`: the collector stops writing to
them) and forks the workers from itself. They share every page the host
loaded, copy-on-write, and each adds only what its own searches write: 4
workers take 1.09x the memory of one at 100k theorems (docs/scale-results.md).

Used for local runs on the CPU where `fork` exists (Linux): `choose_pool`
(`leanagent.device.DeviceDefaults.fork_pool`). GPUs and clusters use Ray
(`leanagent.prover.pool`): a CUDA context does not survive `fork`. The host
never runs a model before it forks, because GNU OpenMP's thread pool does not
survive `fork` either; the workers start their own.

Wiring. Every worker has its own task queue (driver -> worker) and its own
result pipe (worker -> driver), so a worker that is killed, even in the middle
of a message, affects no other worker's traffic, and the driver knows which
theorems it held. The host has a pipe of its own for ("ready",), ("fail", why)
and ("exit", slot, code) whenever a worker process ends. A worker sends
("done", index, SearchResult), or ("fail", why) when it cannot start. Only the
worker holds the write end of its pipe, so the driver reads everything it sent
and then an end of file; when the host reports its exit, the driver reads the
rest of its pipe and turns the theorems still held into `error` results (as
on Ray), and the other workers go on. Workers and host ignore Ctrl-C, and
they die with their parent (`PR_SET_PDEATHSIG`): the driver stops them with
SIGTERM, which a worker turns into a clean exit that closes its Lean processes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import wait
from typing import Callable, Iterable

from leanagent.device import defaults_for
from leanagent.errors import ProverError
from leanagent.data import TheoremRef
from leanagent.prover.search import SearchResult
from leanagent.prover.workers import (IN_FLIGHT, ProverWorker, WorkerParts, WorkerSpec, _open, error_line,
                                      share_proposer_data, worker_searches)

log = logging.getLogger("leanagent.prover")

POOLS = ("auto", "fork", "ray")
#: Seconds the host gives its workers to stop after SIGTERM before it kills them.
STOP_WAIT = 30.0
#: A worker's exit code when it could not start (it has sent why).
START_FAILED = 3


def fork_available() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def choose_pool(pool: str, address: str | None, device: str, fork_ok: bool, cuda: bool | None = None) -> str:
    """`fork` or `ray` for `pool` (auto|fork|ray): auto is fork for a local run whose device's defaults say
    so (the CPU) where fork exists, Ray otherwise (a cluster, or GPUs, whose CUDA contexts do not survive
    fork). `cuda`: whether this machine has GPUs, which decides `auto` (None: ask torch); pure when given."""
    if pool not in POOLS:
        raise ProverError(f"unknown worker pool {pool!r}", fix=f"use one of {', '.join(POOLS)}")
    forkable = defaults_for(device, cuda).fork_pool  # the models run on the CPU
    if pool == "fork":
        if address:
            raise ProverError("--pool fork runs workers on this machine only",
                              fix="drop --ray-address, or use --pool ray")
        if not fork_ok:
            raise ProverError("--pool fork needs fork(), which this platform lacks", fix="use --pool ray")
        if not forkable:
            raise ProverError(f"--pool fork runs the models on the CPU (device {device!r})",
                              fix="use --device cpu, or --pool ray for GPU workers")
        return "fork"
    if pool == "ray" or address or not fork_ok or not forkable:
        return "ray"
    return "fork"


def prove_with_forks(spec: WorkerSpec, theorems: Iterable[TheoremRef],
                     on_result: Callable[[SearchResult], None], workers: int) -> dict:
    """Prove every theorem on `workers` forked workers; `on_result` runs here as each finishes.

    Returns {"startup_seconds", "prove_seconds"} as `leanagent.prover.pool.prove_theorems` does.
    """
    from dataclasses import replace

    # The models run on the CPU (`choose_pool`): named, so that neither this build nor the host resolves `auto`.
    spec = share_proposer_data(replace(spec, device="cpu", threads=spec.threads or 1))
    per_worker = worker_searches(spec)
    ctx = multiprocessing.get_context("spawn")  # the host starts clean: no threads, no open database
    tasks = [ctx.Queue() for _ in range(workers)]
    pipes = [ctx.Pipe(duplex=False) for _ in range(workers)]  # (read end, write end) per worker
    host_in, host_out = ctx.Pipe(duplex=False)
    host = ctx.Process(target=_host_main, args=(spec, tasks, [w for _, w in pipes], host_out),
                       name="leanagent-prover-host")
    pool = _Driver(host, host_in, tasks, [r for r, _ in pipes], per_worker + IN_FLIGHT - 1, on_result)
    t0 = time.perf_counter()
    try:
        host.start()
        for _, w in pipes:  # the workers hold the only write ends: a worker's death is an end of file
            w.close()
        host_out.close()
        pool.wait_ready()
        t1 = time.perf_counter()
        pool.run(iter(theorems))
        for q in tasks:  # one stop marker per search thread
            for _ in range(per_worker):
                q.put(None)
        host.join(STOP_WAIT + 10)
        return {"startup_seconds": t1 - t0, "prove_seconds": time.perf_counter() - t1}
    finally:
        if host.is_alive():
            host.terminate()  # the host terminates its workers, which close their Lean processes
            host.join(STOP_WAIT + 10)
        if host.is_alive():
            host.kill()
        for q in tasks:
            q.cancel_join_thread()
            q.close()
        for conn in [host_in, *(r for r, _ in pipes)]:
            conn.close()


class _Driver:
    """The driver's side: keeps `depth` theorems queued per live worker and passes each result on."""

    def __init__(self, host, host_in, tasks, readers, depth: int, on_result):
        self.host, self.host_in, self.tasks, self.readers = host, host_in, tasks, readers
        self.depth, self.on_result = depth, on_result
        self.pending: list[dict[int, TheoremRef]] = [{} for _ in tasks]  # per slot: index -> theorem
        self.live = set(range(len(tasks)))
        self.open = set(range(len(tasks)))  # result pipes not yet at their end
        self.why: dict[int, str] = {}  # a worker's own word on why it could not start
        self.todo = iter(())
        self.counter = 0

    def _host_message(self, what: str):
        try:
            return self.host_in.recv()
        except (EOFError, OSError):
            self.host.join(5)
            raise ProverError(f"the prover workers' host process ended {what} (exit code {self.host.exitcode})",
                              fix="see the messages above; run with --workers 0 to see the error in this "
                                  "process") from None

    def wait_ready(self) -> None:
        """The host's first word: "ready" (every worker forked; it reports exits only after this) or "fail"."""
        msg = self._host_message("while starting")
        if msg[0] == "fail":
            raise ProverError(f"a prover worker failed to start: {msg[1]}")

    def run(self, todo) -> None:
        self.todo = todo
        for slot in sorted(self.live):
            self._feed(slot)
        while any(self.pending):
            conns = [self.host_in] + [self.readers[s] for s in self.open]
            for conn in wait(conns):
                if conn is self.host_in:
                    self._handle_host(self._host_message("while proving"))
                else:
                    slot = self.readers.index(conn)
                    if slot in self.open:  # not drained and closed by an exit handled just before
                        self._read(slot)

    def _feed(self, slot: int) -> None:
        while len(self.pending[slot]) < self.depth:
            thm = next(self.todo, None)
            if thm is None:
                return
            self.pending[slot][self.counter] = thm
            self.tasks[slot].put((self.counter, thm))
            self.counter += 1

    def _read(self, slot: int) -> None:
        """One message from a worker's pipe; at its end, stop listening to it (the host says why)."""
        try:
            msg = self.readers[slot].recv()
        except (EOFError, OSError):  # the end, or a message cut short by the worker's death
            self.open.discard(slot)
            return
        if msg[0] == "fail":
            self.why[slot] = f"could not start: {msg[1]}"
        elif msg[0] == "done":
            _, index, result = msg
            if self.pending[slot].pop(index, None) is not None:
                self.on_result(result)
                if slot in self.live:
                    self._feed(slot)

    def _handle_host(self, msg) -> None:
        if msg[0] != "exit":
            return
        _, slot, code = msg
        self.live.discard(slot)  # first: a result read below must not hand the dead worker a new theorem
        while slot in self.open and self.readers[slot].poll(0.5):  # everything it sent, then its end
            self._read(slot)
        self.open.discard(slot)
        lost, self.pending[slot] = self.pending[slot], {}
        why = self.why.get(slot) or f"the worker process ended (exit code {code})"
        if lost:
            log.warning("prover worker %d: %s", slot, why)
        for thm in lost.values():
            self.on_result(SearchResult(theorem=thm, outcome="error", error=f"worker failed: {why}"))
        if not self.live:
            if lost or next(self.todo, None) is not None:  # theorems no worker is left to prove
                raise ProverError(f"every prover worker ended; the last: {why}",
                                  fix="run with --workers 0 to see the error in this process")
            return
        for other in sorted(self.live):  # the lost theorems' places go to the others
            self._feed(other)


# ----------------------------------------------------------------------------- host and workers


def _die_with_parent(parent: int) -> None:
    """SIGTERM to this process when its parent ends (Linux); `parent` (its pid) already gone: exit now."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # not Linux: the host's own check of its parent remains
        pass
    if os.getppid() != parent:
        os._exit(1)


def _host_main(spec, tasks, writers, out) -> None:
    """Load the read-only parts once, fork one worker per slot, report every worker's exit."""
    import gc

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's; it stops us
    children: dict[int, multiprocessing.Process] = {}

    def stop(signum=None, frame=None):  # the driver's terminate(): stop the workers first
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: a second SIGTERM must not cut this short
        for p in children.values():
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + STOP_WAIT
        for p in children.values():
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    driver = multiprocessing.parent_process().pid
    _die_with_parent(driver)
    try:
        import torch

        # One thread until the fork: no OpenMP pool is started here (it would not survive the fork).
        torch.set_num_threads(1)
        db = _open(spec.db_url)
        try:
            parts = WorkerParts.load(spec, db)  # on spec.device, the CPU
        finally:
            db.dispose()
        gc.collect()
        gc.freeze()  # the collector no longer touches the loaded objects: their pages stay shared
        fork = multiprocessing.get_context("fork")
        # No SIGTERM while forking: a child would run `stop` before it has its own handler.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            for slot in range(len(tasks)):
                p = fork.Process(target=_worker_main, args=(slot, os.getpid(), spec, parts, tasks[slot], writers, out),
                                 name=f"leanagent-prover-{slot}", daemon=True)
                p.start()
                children[slot] = p  # only started ones: `stop` joins them
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        for w in writers:  # the workers hold the only write ends now
            w.close()
    except Exception as exc:  # noqa: BLE001 - reported to the driver as one line
        try:
            out.send(("fail", error_line(exc)))
        finally:
            stop()
    out.send(("ready",))
    while children:
        ended = wait([p.sentinel for p in children.values()], timeout=1.0)
        if os.getppid() != driver:  # the driver is gone: nobody will read or stop us
            stop()
        for slot, p in list(children.items()):
            if p.sentinel in ended:
                p.join()
                del children[slot]
                try:
                    out.send(("exit", slot, p.exitcode))
                except OSError:  # the driver is gone
                    stop()


def _worker_main(slot: int, host: int, spec, parts, tasks, writers, host_out) -> None:
    stopped = []

    def on_term(signum, frame):  # a clean exit: `finally` closes the Lean processes
        if stopped:  # a second SIGTERM must not cut the closing short
            return
        stopped.append(signum)
        sys.exit(143)

    signal.signal(signal.SIGTERM, on_term)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    _die_with_parent(host)
    host_out.close()  # the host's pipe: only the host may hold it, so that its death reaches the driver
    out = writers[slot]
    for i, w in enumerate(writers):  # only the host's copies of the others' ends: close them here
        if i != slot:
            w.close()
    lock = threading.Lock()  # the search threads share one pipe

    def send(msg) -> bool:
        try:
            with lock:
                out.send(msg)
            return True
        except (OSError, ValueError):  # closed: we are stopping
            return False

    try:
        worker = ProverWorker(spec, parts)
    except Exception as exc:  # noqa: BLE001 - the driver reports it with the worker's theorems
        send(("fail", error_line(exc)))
        os._exit(START_FAILED)
    try:
        loops = [threading.Thread(target=_serve, args=(worker, tasks, send), daemon=True)
                 for _ in range(worker.searches)]
        for t in loops:
            t.start()
        for t in loops:
            t.join()
    finally:
        worker.close()
        if stopped:  # nobody will take the queued tasks
            tasks.cancel_join_thread()
        out.close()


def _serve(worker, tasks, send) -> None:
    while True:
        item = tasks.get()
        if item is None:
            return
        index, thm = item
        try:
            result = worker.prove(thm)
        except Exception as exc:  # noqa: BLE001 - one search's failure is its own result
            result = SearchResult(theorem=thm, outcome="error", error=f"search failed: {error_line(exc)}")
        try:
            ok = send(("done", index, result))
        except Exception as exc:  # noqa: BLE001 - a result that cannot be pickled is still a result
            ok = send(("done", index, SearchResult(theorem=thm, outcome="error",
                                                   error=f"result not sendable: {error_line(exc)}")))
        if not ok:
            return

