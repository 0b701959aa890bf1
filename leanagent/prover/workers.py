"""Proving many theorems: one worker per process, each with its own environment and proposer.

`prove_theorems` hands theorems to workers and passes every finished
`SearchResult` to `on_result` in the calling process: that callback is the one
writer to the database. With `workers=0` everything runs in-process (tests,
debugging). Otherwise, on this machine's CPU, the workers are forked from one
host process that loaded the proposer once (`leanagent.prover.forkpool`: each
more worker costs little memory); on GPUs or a cluster each worker is a Ray
actor of one CPU and a share of a GPU (`gpus_per_worker`, by default the
cluster's GPUs shared evenly, so that several workers share one GPU and a
cluster spreads over all of them), local Ray or a cluster when an address is
given.
"""

from __future__ import annotations

import os
import queue
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from leanagent.device import SEARCHES, device_spec, gpus_per_worker, placement
from leanagent.errors import ProverError
from leanagent.prover.env import ProofEnv
from leanagent.data import TheoremRef
from leanagent.prover.batching import BatchingGenerator
from leanagent.prover.leandojo_env import LeanLimits
from leanagent.prover.safety import SafetyPolicy
from leanagent.prover.search import BestFirstSearch, SearchConfig, SearchResult

ENVS = ("replay", "leandojo", "leaninteract")
#: Theorems queued per worker, so that a worker never waits for the driver.
IN_FLIGHT = 2


@dataclass
class WorkerSpec:
    """Everything a worker needs to build its own environment and proposer (picklable)."""

    env: str
    db_url: str
    proposer: object  # leanagent.generator.options.ProposerOptions
    search: SearchConfig = field(default_factory=SearchConfig)
    policy: SafetyPolicy = field(default_factory=SafetyPolicy)
    limits: LeanLimits = field(default_factory=LeanLimits)
    threads: int | None = None
    """Torch/BLAS threads per worker (None: 1 in a Ray worker, unchanged in-process)."""
    repl: object = None
    """ReplOptions for the LeanInteract backend (None: the defaults)."""
    device: str = "auto"
    """Where the worker's models run (`leanagent.device`). In a Ray worker, `cuda` is the GPU share Ray
    assigned to it (Ray renumbers the GPUs each worker sees), so `cuda:N` counts only in-process."""
    gpus_per_worker: float | None = None
    """Ray's `num_gpus` per worker (None: the cluster's GPUs shared evenly over the workers, at most one
    each; 0 with --device cpu)."""
    shared: str | None = None
    """A shared proposer folder built by the driver (`leanagent.prover.proposers.prepare_shared`; then
    `proposer` is already resolved): workers open it read-only instead of loading the recorded steps
    from the database. None, or a folder this machine cannot see: the worker reads the database."""
    searches: int | None = None
    """Theorems the worker searches at once, in threads with their own environments, sharing one proposer
    whose concurrent calls are merged into one batch (`leanagent.prover.batching`). None: the device's
    default (8 on a GPU, 1 on the CPU). Always 1 with LeanDojo (`worker_searches`)."""


def make_env(spec: WorkerSpec, db=None) -> ProofEnv:
    if spec.env == "replay":
        from leanagent.prover.replay import ReplayEnv, ReplayIndex

        return ReplayEnv(ReplayIndex.from_db(db if db is not None else _open(spec.db_url)))
    if spec.env == "leandojo":
        from leanagent.prover.leandojo_env import LeanDojoEnv

        return LeanDojoEnv(spec.limits)
    if spec.env == "leaninteract":
        from leanagent.prover.leaninteract_env import LeanInteractEnv

        return LeanInteractEnv(spec.limits, spec.repl, db_url=spec.db_url)
    raise ProverError(f"unknown environment {spec.env!r}", fix=f"use one of {', '.join(ENVS)}")


def make_envs(spec: WorkerSpec, db, k: int, replay_index=None) -> list[ProofEnv]:
    """`k` environments for `k` concurrent searches; replay environments share one read-only index
    (`replay_index` when the caller loaded it already, e.g. a forking pool's host)."""
    if spec.env == "replay" and (k > 1 or replay_index is not None):
        from leanagent.prover.replay import ReplayEnv, ReplayIndex

        index = replay_index if replay_index is not None else ReplayIndex.from_db(db)
        return [ReplayEnv(index) for _ in range(k)]
    return [make_env(spec, db) for _ in range(k)]


@dataclass
class WorkerParts:
    """What a worker reads but never writes: its proposer (models, indexes) and, for replay, the replay
    index. Loaded once by a forking pool's host and inherited by every worker it forks
    (`leanagent.prover.forkpool`); each worker loads its own otherwise."""

    generator: object  # a TacticGenerator
    replay_index: object = None  # leanagent.prover.replay.ReplayIndex, for env "replay"

    @classmethod
    def load(cls, spec: WorkerSpec, db, where=None) -> "WorkerParts":
        from leanagent.prover.proposers import load_proposer, open_proposer

        where = placement(spec.device) if where is None else where
        if spec.shared is not None and os.path.isdir(spec.shared):
            generator = open_proposer(spec.proposer, spec.shared, device=where)
        else:
            generator = load_proposer(spec.proposer, db, device=where)
        index = None
        if spec.env == "replay":
            from leanagent.prover.replay import ReplayIndex

            index = ReplayIndex.from_db(db)
        return cls(generator, index)


def _open(url: str):
    from leanagent.db.engine import open_db

    return open_db(url, create=False)


class ProverWorker:
    """One proposer and `searches` environments: proves that many theorems at once (one per thread calling
    `prove`), their generator calls batched together; one theorem at a time when `searches` is 1."""

    def __init__(self, spec: WorkerSpec, parts: WorkerParts | None = None):
        """`parts`: the proposer and replay index already loaded (a forking pool's host); None: load them."""
        import torch

        if spec.threads is not None:
            os.environ.setdefault("OMP_NUM_THREADS", str(spec.threads))
            torch.set_num_threads(spec.threads)
        where = placement(spec.device)
        self.searches = worker_searches(spec, where.kind)
        db = _open(spec.db_url)
        try:
            if parts is None:
                parts = WorkerParts.load(spec, db, where)
            self.envs = make_envs(spec, db, self.searches, parts.replay_index)
            generator = parts.generator
        finally:
            db.dispose()
        search = spec.search
        if search.expand_batch is None:  # the device decides how many states one generator call takes
            search = replace(search, expand_batch=where.expand_batch())
        self.generator = generator
        if self.searches > 1:
            self.generator = BatchingGenerator(generator, max_states=self.searches * search.expand_batch)
        # One (search, rechecker) per environment; a thread calling `prove` borrows a free one.
        self._pairs = [(BestFirstSearch(self.generator, env, spec.policy, search), _rechecker(spec, env))
                       for env in self.envs]
        self._free: queue.Queue = queue.Queue()
        for pair in self._pairs:
            self._free.put(pair)

    @property
    def env(self) -> ProofEnv:
        return self.envs[0]

    @property
    def search(self) -> BestFirstSearch:
        return self._pairs[0][0]

    def prove(self, theorem: TheoremRef) -> SearchResult:
        search, rechecker = self._free.get()
        try:
            try:
                res = search.search(theorem)
            except ProverError as exc:
                return SearchResult(theorem=theorem, outcome="error", error=exc.message)
            # Every proof found tactic by tactic is re-checked as a whole file here, in the worker that
            # holds the Lean process, before the driver stores it (prover/recheck.py).
            return rechecker.apply(res)
        finally:
            self._free.put((search, rechecker))

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        if isinstance(self.generator, BatchingGenerator):
            self.generator.close()
        for env in self.envs:
            env.close()


def _rechecker(spec: WorkerSpec, env: ProofEnv):
    from functools import partial

    from leanagent.prover.leaninteract_env import db_source
    from leanagent.prover.recheck import Rechecker

    sources = getattr(env, "source", None) or partial(db_source, spec.db_url)
    lake = getattr(spec.repl, "lake", "lake") if spec.repl is not None else "lake"
    return Rechecker(env, sources, lake=lake, timeout=spec.limits.init_timeout)


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
    from leanagent.prover.forkpool import choose_pool, fork_available, prove_with_forks

    device = device_spec(spec.device)
    cuda = device == "auto" and placement("auto").is_cuda  # a local run: this machine's GPUs are the workers'
    if choose_pool(pool, address, device, fork_available(), cuda) == "fork":
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
                    result = SearchResult(theorem=thm, outcome="error", error=f"search failed: {_first_line(exc)}")
                on_result(result)
                nxt = next(todo, None)
                if nxt is not None:
                    pending[pool.submit(worker.prove, nxt)] = nxt
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def worker_searches(spec: WorkerSpec, kind: str) -> int:
    """How many theorems one worker searches at once (pure): `spec.searches`, else the device kind's
    default; always 1 with LeanDojo, whose Dojo changes the process's working directory while it opens
    a theorem (`os.chdir`), which threads would race on."""
    if spec.env == "leandojo":
        return 1
    return max(1, spec.searches or SEARCHES[kind])


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
    # A worker searching several theorems at once takes that many calls at a time (a threaded actor).
    searches = worker_searches(spec, "cuda" if gpus > 0 else "cpu")
    actor_cls = ray.remote(num_cpus=1, num_gpus=gpus, max_concurrency=searches)(ProverWorker)
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


def share_proposer_data(spec: WorkerSpec) -> WorkerSpec:
    """The spec with the proposer's data built once, here, into a shared folder that workers open
    read-only (memory-mapped): per-worker memory then does not grow with the number of workers."""
    from leanagent.prover.proposers import prepare_shared

    if spec.shared is not None:
        return spec
    db = _open(spec.db_url)
    try:
        # The driver embeds the recorded states once, on its own device under the policy (auto unless cpu).
        where = "cpu" if device_spec(spec.device) == "cpu" else None
        options, folder = prepare_shared(spec.proposer, db, device=where)
    finally:
        db.dispose()
    return replace(spec, proposer=options, shared=folder)


def _gpu_share(spec: WorkerSpec, workers: int, cluster_gpus: float) -> tuple[WorkerSpec, float]:
    """(the spec each Ray worker gets, its num_gpus): the device policy applied to Ray's GPU shares."""
    from leanagent.errors import ConfigError

    device = device_spec(spec.device)  # not resolved here: the driver may have no GPU, the cluster does
    if spec.gpus_per_worker is not None:
        gpus = spec.gpus_per_worker
    else:
        gpus = 0.0 if device == "cpu" else gpus_per_worker(cluster_gpus, workers)
    if gpus < 0 or (gpus > 1 and gpus != int(gpus)):
        raise ConfigError(f"--gpus-per-worker {gpus}: Ray takes a fraction up to 1 or a whole number of GPUs")
    if gpus > 0 and device == "cpu":
        raise ConfigError("--gpus-per-worker > 0 with --device cpu", fix="drop one of them")
    if gpus == 0 and device.startswith("cuda"):
        raise ConfigError(f"--device {device}: the Ray workers get no GPU ({cluster_gpus:g} in the cluster)",
                          fix="use --device auto or cpu, or give the workers GPUs with --gpus-per-worker")
    # Inside a worker Ray shows only its assigned GPUs, renumbered from 0; without a share it shows none.
    return replace(spec, device="cuda" if gpus > 0 else "cpu"), gpus


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
