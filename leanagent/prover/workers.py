"""Proving many theorems: one worker per process, each with its own environment and proposer.

`prove_theorems` hands theorems to workers and passes every finished
`SearchResult` to `on_result` in the calling process: that callback is the one
writer to the database. With `workers=0` everything runs in-process (tests,
debugging); otherwise each worker is a Ray actor of one CPU (local Ray by
default, a cluster when an address is given).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from leanagent.errors import ProverError
from leanagent.prover.env import ProofEnv, TheoremRef
from leanagent.prover.leandojo_env import LeanLimits
from leanagent.prover.safety import SafetyPolicy
from leanagent.prover.search import BestFirstSearch, SearchConfig, SearchResult

ENVS = ("replay", "leandojo")
#: Theorems queued per worker, so that a worker never waits for the driver.
IN_FLIGHT = 2


@dataclass
class WorkerSpec:
    """Everything a worker needs to build its own environment and proposer (picklable)."""

    env: str
    db_url: str
    proposer: object  # leanagent.generator.factory.ProposerOptions
    search: SearchConfig = field(default_factory=SearchConfig)
    policy: SafetyPolicy = field(default_factory=SafetyPolicy)
    limits: LeanLimits = field(default_factory=LeanLimits)
    threads: int | None = None
    """Torch/BLAS threads per worker (None: 1 in a Ray worker, unchanged in-process)."""


def make_env(spec: WorkerSpec, db=None) -> ProofEnv:
    if spec.env == "replay":
        from leanagent.prover.replay import ReplayEnv, ReplayIndex

        return ReplayEnv(ReplayIndex.from_db(db if db is not None else _open(spec.db_url)))
    if spec.env == "leandojo":
        from leanagent.prover.leandojo_env import LeanDojoEnv

        return LeanDojoEnv(spec.limits)
    raise ProverError(f"unknown environment {spec.env!r}", fix=f"use one of {', '.join(ENVS)}")


def _open(url: str):
    from leanagent.db.engine import open_db

    return open_db(url, create=False)


class ProverWorker:
    """One environment + one proposer; proves one theorem at a time."""

    def __init__(self, spec: WorkerSpec):
        import torch

        from leanagent.generator.factory import build_proposer

        if spec.threads is not None:
            os.environ.setdefault("OMP_NUM_THREADS", str(spec.threads))
            torch.set_num_threads(spec.threads)
        db = _open(spec.db_url)
        try:
            self.env = make_env(spec, db)
            self.generator = build_proposer(spec.proposer, db)
        finally:
            db.dispose()
        self.search = BestFirstSearch(self.generator, self.env, spec.policy, spec.search)

    def prove(self, theorem: TheoremRef) -> SearchResult:
        try:
            return self.search.search(theorem)
        except ProverError as exc:
            return SearchResult(theorem=theorem, outcome="error", error=exc.message)

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        self.env.close()


def prove_theorems(spec: WorkerSpec, theorems: Iterable[TheoremRef], on_result: Callable[[SearchResult], None],
                   workers: int = 1, address: str | None = None) -> dict:
    """Prove every theorem; `on_result` runs in this process as each one finishes.

    Returns {"startup_seconds", "prove_seconds"}: building the workers vs proving.
    """
    t0 = time.perf_counter()
    if workers <= 0:
        worker = ProverWorker(spec)
        t1 = time.perf_counter()
        try:
            for thm in theorems:
                on_result(worker.prove(thm))
        finally:
            worker.close()
        return {"startup_seconds": t1 - t0, "prove_seconds": time.perf_counter() - t1}
    return _prove_with_ray(spec, theorems, on_result, workers, address)


def init_ray(workers: int, address: str | None, threads: int = 1) -> None:
    import ray

    if ray.is_initialized():
        return
    env_vars = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                "TOKENIZERS_PARALLELISM": "false"}
    try:
        if address:
            ray.init(address=address, runtime_env={"env_vars": env_vars}, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": env_vars}, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ProverError(f"cannot start or join Ray{' at ' + address if address else ''}: {exc}",
                          fix="check --ray-address (e.g. ray://HOST:10001 or auto), or leave it out for local Ray")


def _prove_with_ray(spec: WorkerSpec, theorems: Iterable[TheoremRef], on_result, workers: int,
                    address: str | None) -> dict:
    import ray

    if spec.threads is None:
        spec = replace(spec, threads=1)  # one CPU per actor: one thread, no oversubscription
    init_ray(workers, address, spec.threads)
    actor_cls = ray.remote(num_cpus=1)(ProverWorker)
    t0 = time.perf_counter()
    actors = [actor_cls.remote(spec) for _ in range(workers)]
    try:
        ray.get([a.ready.remote() for a in actors])  # each worker has built its env and proposer
    except ray.exceptions.RayError as exc:
        for actor in actors:
            ray.kill(actor)
        raise ProverError(f"a prover worker failed to start: {_first_line(exc)}") from None
    t1 = time.perf_counter()
    todo = iter(theorems)  # consumed lazily: a caller's generator may stop handing out theorems
    pending: dict = {}
    try:
        for actor in actors:
            for _ in range(IN_FLIGHT):
                thm = next(todo, None)
                if thm is not None:
                    pending[actor.prove.remote(thm)] = (actor, thm)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            actor, thm = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as exc:
                result = SearchResult(theorem=thm, outcome="error", error=f"worker failed: {exc}")
            on_result(result)
            nxt = next(todo, None)
            if nxt is not None:
                pending[actor.prove.remote(nxt)] = (actor, nxt)
    finally:
        for actor in actors:
            ray.kill(actor)
    return {"startup_seconds": t1 - t0, "prove_seconds": time.perf_counter() - t1}


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
