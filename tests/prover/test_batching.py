"""Several searches at once: the batching generator and the worker's concurrent searches."""

from __future__ import annotations

import threading
import time

import pytest

from leanagent.generator.options import ProposerOptions
from leanagent.prover.batching import BatchingGenerator
from leanagent.data import TheoremRef
from leanagent.prover.search import SearchConfig
from leanagent.prover.search import SearchResult
from leanagent.prover.pool import _prove_in_threads, prove_theorems
from leanagent.prover.workers import ProverWorker, WorkerSpec, worker_searches


class SlowDeterministic:
    """Rows depend on their own state only; each call takes a while, so concurrent callers pile up."""

    name = "slow"

    def __init__(self, delay: float = 0.05):
        self.delay, self.sizes, self.targets = delay, [], []

    def generate(self, states, num, targets=None):
        self.sizes.append(len(states))
        self.targets.append(targets)
        time.sleep(self.delay)
        return [[(f"{s}-{i}", -float(i + len(s))) for i in range(num)] for s in states]


def _call_concurrently(gen, requests):
    out, barrier = [None] * len(requests), threading.Barrier(len(requests))

    def go(i, states, targets):
        barrier.wait()
        out[i] = gen.generate(states, 3, targets)

    threads = [threading.Thread(target=go, args=(i, *r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


class Gated(SlowDeterministic):
    """The first call holds until the test opens the gate: the requests made meanwhile queue up, so
    what is merged does not depend on the machine's timing (no sleeps that race)."""

    def __init__(self):
        super().__init__(delay=0)
        self.gate, self.entered = threading.Event(), threading.Event()

    def generate(self, states, num, targets=None):
        if not self.sizes:
            self.entered.set()
            assert self.gate.wait(timeout=30)
        return super().generate(states, num, targets)


def _wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_concurrent_calls_are_merged_and_each_caller_gets_its_own_rows():
    inner = Gated()
    gen = BatchingGenerator(inner, max_states=64, wait_s=0.0)
    requests = [([f"s{i}a", f"s{i}b"][: 1 + i % 2], None) for i in range(8)]
    out = [None] * len(requests)

    def go(i, states, targets):
        out[i] = gen.generate(states, 3, targets)

    threads = [threading.Thread(target=go, args=(i, *r)) for i, r in enumerate(requests)]
    try:
        threads[0].start()
        assert inner.entered.wait(timeout=30)  # the first call is in the generator
        for t in threads[1:]:
            t.start()
        _wait_until(lambda: gen._queue.qsize() == len(requests) - 1)  # the other seven wait in the queue
        inner.gate.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        gen.close()
    direct = SlowDeterministic(delay=0)
    assert out == [direct.generate(states, 3) for states, _ in requests]
    # Exactly two calls: the first request alone, then the seven that queued behind it, merged.
    assert inner.sizes == [1, sum(len(s) for s, _ in requests[1:])] and gen.calls == 2


def test_targets_travel_with_their_states_and_max_states_bounds_a_call():
    inner = SlowDeterministic()
    gen = BatchingGenerator(inner, max_states=4, wait_s=0.02)
    requests = [([f"s{i}"], [f"t{i}"]) for i in range(8)]
    try:
        _call_concurrently(gen, requests)
    finally:
        gen.close()
    assert max(inner.sizes) <= 4
    for sizes_targets in inner.targets:
        assert all(t.startswith("t") for t in sizes_targets)
    assert sorted(t for ts in inner.targets for t in ts) == sorted(f"t{i}" for i in range(8))


def test_an_error_reaches_every_caller_of_the_failed_call():
    class Broken:
        name = "broken"

        def generate(self, states, num, targets=None):
            time.sleep(0.02)
            raise RuntimeError("CUDA out of memory")

    gen = BatchingGenerator(Broken(), wait_s=0.02)
    errors = []

    def go():
        try:
            gen.generate(["x"], 2)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gen.close()
    assert errors == ["CUDA out of memory"] * 3
    with pytest.raises(RuntimeError, match="closed"):
        gen.generate(["x"], 2)


@pytest.mark.parametrize("rows", [None, [], [[("t", -1.0)]]])
def test_a_generator_that_returns_the_wrong_rows_fails_its_callers_instead_of_hanging(rows):
    class Wrong:
        name = "wrong"

        def generate(self, states, num, targets=None):
            return rows

    gen = BatchingGenerator(Wrong(), wait_s=0.01)
    try:
        with pytest.raises(ValueError, match="rows for 2 states"):
            gen.generate(["a", "b"], 2)
        with pytest.raises(ValueError, match="1 targets for 2 states"):
            gen.generate(["a", "b"], 2, ["t"])
        assert gen._thread.is_alive()  # still serving
    finally:
        gen.close()


def test_a_failing_search_is_an_error_result_and_loses_no_other():
    class Worker:
        searches = 3

        def prove(self, thm):
            time.sleep(0.01 * (thm % 3))
            if thm == 2:
                raise RuntimeError("CUDA out of memory\nwhile proposing")
            return SearchResult(theorem=thm, outcome="failed")

    results = []
    _prove_in_threads(Worker(), iter(range(7)), results.append)
    assert sorted(r.theorem for r in results) == list(range(7))
    bad = [r for r in results if r.outcome == "error"]
    assert [r.theorem for r in bad] == [2] and "while proposing" in bad[0].error


def test_how_many_searches_a_worker_runs():
    spec = WorkerSpec(env="replay", db_url="sqlite://", proposer=None)
    assert worker_searches(spec, "cpu") == 1 and worker_searches(spec, "cuda") == 8
    assert worker_searches(WorkerSpec(env="replay", db_url="", proposer=None, searches=3), "cpu") == 3
    # LeanDojo's Dojo chdirs the whole process while opening a theorem: never two at once.
    assert worker_searches(WorkerSpec(env="leandojo", db_url="", proposer=None, searches=8), "cuda") == 1


def _refs(db, names):
    return [TheoremRef(db.toy_ids[n], "toy", "Toy/Basic.lean", n) for n in names]


@pytest.mark.parametrize("searches", [2, 4])
def test_concurrent_searches_find_what_one_at_a_time_finds(toy_db, db_url, searches):
    names = ["add_zero'", "add_comm'", "one_add_one", "two_eq", "imp_self'", "no_steps"]
    out = {}
    for k in (1, searches):
        spec = WorkerSpec(env="replay", db_url=db_url, device="cpu", searches=k,
                          search=SearchConfig(num_sampled_tactics=4, max_expansions=4),
                          proposer=ProposerOptions(proposer="frequency", source_split="all"))
        results = []
        prove_theorems(spec, _refs(toy_db, names), results.append, workers=0)
        assert sorted(r.theorem.full_name for r in results) == sorted(names)  # each theorem reported once
        out[k] = {r.theorem.full_name: (r.outcome, r.proof, r.expansions) for r in results}
    assert out[searches] == out[1]
    assert any(outcome == "proved" for outcome, _, _ in out[1].values())


def test_a_worker_on_the_cpu_searches_one_theorem_at_a_time_by_default(toy_db, db_url):
    spec = WorkerSpec(env="replay", db_url=db_url, device="cpu",
                      proposer=ProposerOptions(proposer="frequency", source_split="all"))
    worker = ProverWorker(spec)
    try:
        assert worker.searches == 1 and len(worker.envs) == 1
        assert not isinstance(worker.generator, BatchingGenerator)
    finally:
        worker.close()
    four = ProverWorker(WorkerSpec(env="replay", db_url=db_url, device="cpu", searches=4,
                                   proposer=ProposerOptions(proposer="frequency", source_split="all")))
    try:
        assert len(four.envs) == 4 and len({id(e.index) for e in four.envs}) == 1  # one shared replay index
        assert isinstance(four.generator, BatchingGenerator)
    finally:
        four.close()
