"""Proving many theorems: in this process, or on a pool of workers, each with its own environment.

`prove_theorems` hands theorems to workers (`leanagent.prover.workers`) and
passes every finished `SearchResult` to `on_result` in the calling process:
that callback is the one writer to the database. With `workers=0` everything
runs in-process (tests, debugging). Otherwise, where the device policy says so
(`DeviceDefaults.fork_pool`: this machine's CPU), the workers are forked from
one host process that loaded the proposer once (`leanagent.prover.forkpool`:
each more worker costs little memory); on GPUs or a cluster each worker is a
Ray actor of one CPU and a share of a GPU (`leanagent.device.ray_share`, by
default the cluster's GPUs shared evenly, so that several workers share one GPU
and a cluster spreads over all of them), local Ray or a cluster when an address
is given.

Imports go one way: this module uses `forkpool` and `workers`, `forkpool` uses
`workers`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable, Iterable

from leanagent.device import ray_share
from leanagent.errors import ProverError
from leanagent.prover.env import TheoremRef
from leanagent.prover.forkpool import choose_pool, fork_available, prove_with_forks
from leanagent.prover.search import SearchResult
from leanagent.prover.workers import (IN_FLIGHT, ProverWorker, WorkerSpec, error_line, share_proposer_data,
                                      worker_searches)


def prove_theorems(spec: WorkerSpec, theorems: Iterable[TheoremRef], on_result: Callable[[SearchResult], None],
                   workers: int = 1, address: str | None = None, pool: str = "auto") -> dict:
    """Prove every theorem; `on_result` runs in this process as each one finishes.

    `workers` 0: in this process. Otherwise `pool` (`leanagent.prover.forkpool.choose_pool`): `fork`,
    workers forked from one loaded host process (local, CPU; the auto choice there), or `ray`.
    Returns {"startup_seconds", "prove_seconds"}: building the workers vs proving.
    """
    t0 = time.perf_counter()
    if workers <= 0:
        worker = ProverWorker(spec)
        t1 = time.perf_counter()
        try:
            if worker.searches == 1:
                for thm in theorems:
                    on_result(worker.prove(thm))
            else:
                _prove_in_threads(worker, theorems, on_result)
        finally:
            worker.close()
        return {"startup_seconds": t1 - t0, "prove_seconds": time.perf_counter() - t1}
    # A local run with --device auto: this machine's GPUs are the workers' (choose_pool asks torch).
    if choose_pool(pool, address, spec.device, fork_available()) == "fork":
        return prove_with_forks(spec, theorems, on_result, workers)
    return _prove_with_ray(spec, theorems, on_result, workers, address)


def _prove_in_threads(worker: ProverWorker, theorems: Iterable[TheoremRef], on_result) -> None:
    """`worker.searches` theorems at a time in threads; `on_result` runs in this thread, as each finishes.

    A search that raises is reported as an `error` result, as the Ray path does, so that one failure
    (say, a batched generator call that ran out of GPU memory, which every search in that call sees)
    loses no other theorem's result. On Ctrl-C the queued searches are cancelled.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    todo = iter(theorems)  # consumed lazily, as in the Ray path
    pool = ThreadPoolExecutor(worker.searches, thread_name_prefix="search")
    pending: dict = {}
    try:
        for thm in todo:
            pending[pool.submit(worker.prove, thm)] = thm
            if len(pending) >= worker.searches:
                break
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                thm = pending.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # noqa: BLE001 - one search's failure is its own result
                    result = SearchResult(theorem=thm, outcome="error", error=f"search failed: {error_line(exc)}")
                on_result(result)
                nxt = next(todo, None)
                if nxt is not None:
                    pending[pool.submit(worker.prove, nxt)] = nxt
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def init_ray(workers: int, address: str | None, threads: int = 1) -> None:
    import ray

    if ray.is_initialized():
        return
    env_vars = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                "TOKENIZERS_PARALLELISM": "false", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    # Ray announces its default token authentication on every local start, in the middle of the progress
    # bar; the secure default is not news. Warnings that matter still come from the other Ray loggers.
    import logging

    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    try:
        if address:
            ray.init(address=address, runtime_env={"env_vars": env_vars}, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": env_vars}, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        # Ray's own message is only "Failed to connect" when the cluster refuses the driver's token.
        raise ProverError(f"cannot start or join Ray{' at ' + address if address else ''}: {exc}",
                          fix="check --ray-address (HOST:PORT as `ray start --head` prints it, auto, or "
                              "ray://HOST:10001), or leave it out for local Ray; a cluster with token "
                              "authentication needs its token here too (RAY_AUTH_TOKEN, or ~/.ray/auth_token)")


def _prove_with_ray(spec: WorkerSpec, theorems: Iterable[TheoremRef], on_result, workers: int,
                    address: str | None) -> dict:
    import ray

    if spec.threads is None:
        spec = replace(spec, threads=1)  # one CPU per actor: one thread, no oversubscription
    init_ray(workers, address, spec.threads)
    spec = share_proposer_data(spec)
    spec, gpus = _gpu_share(spec, workers, ray.cluster_resources().get("GPU", 0.0))
    # A worker searching several theorems at once takes that many calls at a time (a threaded actor). How
    # many: `spec.searches`, else the default of `spec.device`, now the worker's own (its GPU share, or the CPU).
    searches = worker_searches(spec)
    actor_cls = ray.remote(num_cpus=1, num_gpus=gpus, max_concurrency=searches)(ProverWorker)
    t0 = time.perf_counter()
    actors = [actor_cls.remote(spec) for _ in range(workers)]
    try:
        ray.get([a.ready.remote() for a in actors])  # each worker has built its env and proposer
    except ray.exceptions.RayError as exc:
        for actor in actors:
            ray.kill(actor)
        raise ProverError(f"a prover worker failed to start: {error_line(exc)}") from None
    t1 = time.perf_counter()
    todo = iter(theorems)  # consumed lazily: a caller's generator may stop handing out theorems
    pending: dict = {}
    try:
        for actor in actors:
            for _ in range(searches + IN_FLIGHT - 1):
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


def _gpu_share(spec: WorkerSpec, workers: int, cluster_gpus: float) -> tuple[WorkerSpec, float]:
    """(the spec each Ray worker gets, its num_gpus): the device policy's `ray_share` for the spec."""
    device, gpus = ray_share(spec.device, spec.gpus_per_worker, workers, cluster_gpus)
    return replace(spec, device=device), gpus
