"""The forking worker pool: workers forked from one loaded host (leanagent/prover/forkpool.py)."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from leanagent.errors import ProverError
from leanagent.generator.options import ProposerOptions
from leanagent.data import TheoremRef
from leanagent.prover.forkpool import choose_pool, fork_available
from leanagent.prover.search import SearchConfig
from leanagent.prover.pool import prove_theorems
from leanagent.prover.workers import WorkerSpec

pytestmark = pytest.mark.skipif(not fork_available(), reason="no fork() on this platform")

NAMES = ("add_zero'", "no_steps", "two_eq", "add_comm'", "imp_self'", "one_add_one")


def _spec(db_url, **kw) -> WorkerSpec:
    base = dict(env="replay", db_url=db_url, device="cpu", search=SearchConfig(num_sampled_tactics=4, max_expansions=3),
                proposer=ProposerOptions(proposer="frequency", source_split="all"))
    return WorkerSpec(**{**base, **kw})


def _refs(toy_db, times: int = 1) -> list[TheoremRef]:
    return [TheoremRef(toy_db.toy_ids[n], "toy", "Toy/Basic.lean", n) for _ in range(times) for n in NAMES]


def _our_processes() -> list[psutil.Process]:
    """Child processes still alive, except multiprocessing's resource tracker (one per process, kept)."""
    return [p for p in psutil.Process().children(recursive=True) if p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline())]


@pytest.mark.parametrize("pool,address,device,fork_ok,cuda,want", [
    ("auto", None, "auto", True, False, "fork"),
    ("auto", None, "cpu", True, True, "fork"),      # the models on the CPU even where a GPU exists
    ("auto", None, "auto", True, True, "ray"),      # GPU workers: CUDA does not survive fork
    ("auto", None, "cuda:0", True, True, "ray"),
    ("auto", "10.0.0.1:6379", "cpu", True, False, "ray"),  # a cluster
    ("auto", None, "cpu", False, False, "ray"),     # no fork on this platform
    ("ray", None, "cpu", True, False, "ray"),
    ("fork", None, "cpu", True, False, "fork"),
])
def test_choose_pool(pool, address, device, fork_ok, cuda, want):
    assert choose_pool(pool, address, device, fork_ok, cuda) == want


@pytest.mark.parametrize("pool,address,device,fork_ok,cuda,says", [
    ("fork", "auto", "cpu", True, False, "this machine only"),
    ("fork", None, "cpu", False, False, "lacks"),
    ("fork", None, "cuda", True, True, "on the CPU"),
    ("threads", None, "cpu", True, False, "unknown worker pool"),
])
def test_choose_pool_refuses_what_cannot_work(pool, address, device, fork_ok, cuda, says):
    with pytest.raises(ProverError, match=says):
        choose_pool(pool, address, device, fork_ok, cuda)


def _gone(pids) -> bool:
    """Every one of these processes has ended (orphans included, which `_our_processes` cannot see)."""
    return all(not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE for pid in pids)


def test_forked_workers_prove_what_one_process_proves(toy_db, db_url):
    refs = _refs(toy_db, times=2)
    alone, forked, pids = [], [], set()
    prove_theorems(_spec(db_url), refs, alone.append, workers=0)

    def on_result(res):
        forked.append(res)
        pids.update(p.pid for p in _our_processes())

    stats = prove_theorems(_spec(db_url), refs, on_result, workers=2, pool="fork")
    outcome = lambda rs: sorted((r.theorem.full_name, r.outcome, tuple(r.proof or ())) for r in rs)  # noqa: E731
    assert outcome(forked) == outcome(alone) and len(forked) == len(refs)
    assert ("two_eq", "proved", ("norm_num",)) in outcome(forked)
    assert stats["startup_seconds"] > 0 and stats["prove_seconds"] >= 0
    assert len(pids) >= 3 and _gone(pids)  # the host and its two workers, all ended


def test_a_killed_worker_loses_only_its_own_theorems(toy_db, db_url):
    refs = _refs(toy_db, times=10)
    results, killed, pids = [], [], set()

    def on_result(res):
        results.append(res)
        pids.update(p.pid for p in _our_processes())
        if not killed:  # the first result: kill one worker (a child of the host) with SIGKILL
            host = [p for p in _our_processes() if p.children()][0]
            victim = host.children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(len(results))

    prove_theorems(_spec(db_url), refs, on_result, workers=2, pool="fork")
    assert len(results) == len(refs)  # every theorem got its result
    lost = [r for r in results if r.outcome == "error" and "worker failed" in (r.error or "")]
    # Only what the dead worker held: one search plus IN_FLIGHT - 1 queued (prover/workers.py).
    assert 1 <= len(lost) <= 2 and all("exit code -9" in r.error for r in lost)
    after = [r for r in results[killed[0]:] if r not in lost]
    assert after and any(r.outcome == "proved" for r in after)  # the other worker went on proving
    assert _gone(pids)


def test_workers_that_cannot_start_end_the_run_with_their_reason(toy_db, db_url):
    with pytest.raises(ProverError, match="every prover worker ended.*could not start: unknown environment 'coq'"):
        prove_theorems(_spec(db_url, env="coq"), _refs(toy_db), lambda r: None, workers=2, pool="fork")
    assert _our_processes() == []


def test_a_host_that_cannot_load_the_proposer_fails_at_start(toy_db, db_url, tmp_path):
    spec = _spec(db_url, proposer=ProposerOptions(proposer="model", checkpoint=str(tmp_path / "missing"),
                                                 retrieval="none"))
    with pytest.raises(ProverError, match="failed to start"):
        prove_theorems(spec, _refs(toy_db), lambda r: None, workers=2, pool="fork")
    assert _our_processes() == []


def test_ctrl_c_stops_the_host_and_its_workers(toy_db, db_url):
    pids = set()
    # Python's own Ctrl-C handler, whatever this process inherited (a pytest started with SIGINT
    # ignored, as `nohup` and some CI runners do, would otherwise never see the signal: issue 27).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def on_result(res):
        pool = _our_processes()
        pids.update(p.pid for p in pool)
        for p in pool:  # a terminal's Ctrl-C reaches the whole foreground group: they ignore it ...
            os.kill(p.pid, signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # ... and the driver stops them

    try:
        with pytest.raises(KeyboardInterrupt):
            prove_theorems(_spec(db_url), _refs(toy_db, times=10), on_result, workers=2, pool="fork")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(pids) >= 3 and _gone(pids)


DRIVER = r"""
import json, sys, time
import psutil
from leanagent.generator.options import ProposerOptions
from leanagent.data import TheoremRef
from leanagent.prover.search import SearchConfig
from leanagent.prover.pool import prove_theorems
from leanagent.prover.workers import WorkerSpec
args = json.loads(sys.argv[1])
spec = WorkerSpec(env="replay", db_url=args["url"], device="cpu", search=SearchConfig(num_sampled_tactics=4, max_expansions=3),
                  proposer=ProposerOptions(proposer="frequency", source_split="all"))
refs = [TheoremRef(*r) for r in args["refs"]]
def on_result(res):
    print(json.dumps([p.pid for p in psutil.Process().children(recursive=True)]), flush=True)
    time.sleep(600)  # killed here
prove_theorems(spec, refs, on_result, workers=2, pool="fork")
"""


def test_a_killed_driver_takes_the_host_and_its_workers_with_it(toy_db, db_url):
    import json
    import subprocess
    import sys
    import time

    refs = [[r.id, r.repo, r.file_path, r.full_name] for r in _refs(toy_db, times=5)]
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps({"url": db_url, "refs": refs})],
                            stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(proc.stdout.readline())
        assert len(pids) >= 3  # host and two workers (and multiprocessing's resource tracker)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 15
    while not _gone(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _gone(pids)


class _Pipe:
    """A worker's result pipe as the driver sees it: queued messages, then the end."""

    def __init__(self, *messages):
        self.messages = list(messages)

    def poll(self, timeout=0.0):
        return True  # a message, or the end: either way recv() does not block

    def recv(self):
        if not self.messages:
            raise EOFError
        return self.messages.pop(0)


class _Tasks(list):
    put = list.append


def _driver(readers, todo, depth=2):
    from leanagent.prover.forkpool import _Driver

    results = []
    d = _Driver(host=None, host_in=None, tasks=[_Tasks() for _ in readers], readers=readers, depth=depth,
                on_result=results.append)
    d.todo = iter(todo)
    for slot in sorted(d.live):
        d._feed(slot)
    return d, results


def _ref(i: int) -> TheoremRef:
    return TheoremRef(i, "toy", "Toy/Basic.lean", f"t{i}")


def test_a_dead_workers_last_results_count_and_it_gets_no_new_theorem():
    from leanagent.prover.search import SearchResult

    dead = _Pipe()
    d, results = _driver([dead, _Pipe()], [_ref(i) for i in range(6)])
    assert [i for i, _ in d.tasks[0]] == [0, 1] and [i for i, _ in d.tasks[1]] == [2, 3]
    # Worker 0 sent its first result, then died holding theorem 1.
    dead.messages.append(("done", 0, SearchResult(theorem=_ref(0), outcome="proved")))
    d._handle_host(("exit", 0, -9))
    assert [(r.theorem.id, r.outcome) for r in results] == [(0, "proved"), (1, "error")]
    assert "exit code -9" in results[1].error
    assert [i for i, _ in d.tasks[0]] == [0, 1]  # nothing new for the dead worker ...
    assert [i for i, _ in d.tasks[1]] == [2, 3]  # ... and the live one is full (depth 2)
    assert d.live == {1} and 0 not in d.open


def test_the_last_worker_ending_with_theorems_left_is_an_error_not_a_silent_stop():
    d, results = _driver([_Pipe()], [_ref(0), _ref(1), _ref(2)], depth=1)
    d.pending[0].clear()  # its theorem's result arrived; theorems 1 and 2 were never handed out
    with pytest.raises(ProverError, match="every prover worker ended"):
        d._handle_host(("exit", 0, 0))
    d, results = _driver([_Pipe()], [_ref(0)], depth=1)
    d.pending[0].clear()  # everything done: a worker ending now costs nothing
    d._handle_host(("exit", 0, 0))
    assert results == []
