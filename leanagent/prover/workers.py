"""One prover worker: its environments and proposer, built from a picklable `WorkerSpec`.

A `ProverWorker` proves theorems in the process it was built in: the calling
process, a worker forked from a host that loaded its `WorkerParts` once
(`leanagent.prover.forkpool`), or a Ray actor (`leanagent.prover.pool`, which
hands out the theorems). What both pools share lives here: the spec, how many
searches a worker runs at once (`worker_searches`), the theorems queued per
worker (`IN_FLIGHT`) and the driver's one-off build of the shared proposer
folder (`share_proposer_data`).
"""

from __future__ import annotations

import os
import queue
from dataclasses import dataclass, field, replace

from leanagent.device import Placement, defaults_for, driver_placement, placement
from leanagent.errors import ProverError
from leanagent.prover.env import ProofEnv
from leanagent.data import TheoremRef
from leanagent.prover.batching import BatchingProposer
from leanagent.prover.leandojo_env import LeanLimits
from leanagent.prover.polish import PolishOptions, polish_result, proposed_tactics
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
    default (`leanagent.device.DeviceDefaults`: 8 on a GPU, 1 on the CPU). Always 1 with LeanDojo
    (`worker_searches`)."""
    polish: PolishOptions = field(default_factory=PolishOptions)
    """Polishing the proofs the re-check verified (leanagent.prover.polish)."""


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

    proposer: object  # a TacticProposer
    replay_index: object = None  # leanagent.prover.replay.ReplayIndex, for env "replay"

    @classmethod
    def load(cls, spec: WorkerSpec, db, where=None) -> "WorkerParts":
        from leanagent.prover.proposers import load_proposer, open_proposer

        where = placement(spec.device) if where is None else where
        if spec.shared is not None and os.path.isdir(spec.shared):
            proposer = open_proposer(spec.proposer, spec.shared, device=where)
        else:
            proposer = load_proposer(spec.proposer, db, device=where)
        index = None
        if spec.env == "replay":
            from leanagent.prover.replay import ReplayIndex

            index = ReplayIndex.from_db(db)
        return cls(proposer, index)


def _open(url: str):
    from leanagent.db.engine import open_db

    return open_db(url, create=False)


class ProverWorker:
    """One proposer and `searches` environments: proves that many theorems at once (one per thread calling
    `prove`), their proposer calls batched together; one theorem at a time when `searches` is 1."""

    def __init__(self, spec: WorkerSpec, parts: WorkerParts | None = None):
        """`parts`: the proposer and replay index already loaded (a forking pool's host); None: load them."""
        import torch

        if spec.threads is not None:
            os.environ.setdefault("OMP_NUM_THREADS", str(spec.threads))
            torch.set_num_threads(spec.threads)
        where = placement(spec.device)
        self.searches = worker_searches(spec, where)
        db = _open(spec.db_url)
        try:
            if parts is None:
                parts = WorkerParts.load(spec, db, where)
            self.envs = make_envs(spec, db, self.searches, parts.replay_index)
            proposer = parts.proposer
        finally:
            db.dispose()
        search = spec.search
        if search.expand_batch is None:  # the device decides how many states one proposer call takes
            search = replace(search, expand_batch=where.defaults.expand_batch)
        self.proposer = proposer
        self.polish = spec.polish
        if self.searches > 1:
            self.proposer = BatchingProposer(proposer, max_states=self.searches * search.expand_batch)
        # One (search, rechecker) per environment; a thread calling `prove` borrows a free one.
        self._pairs = [(BestFirstSearch(self.proposer, env, spec.policy, search), _rechecker(spec, env))
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
            # holds the Lean process, before the driver stores it (prover/recheck.py); a verified one is
            # then polished with the same Lean, from the tactics this search proposed (prover/polish.py).
            res = rechecker.apply(res)
            return polish_result(res, rechecker, proposed_tactics(search.last_tree), self.polish)
        finally:
            self._free.put((search, rechecker))

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        if isinstance(self.proposer, BatchingProposer):
            self.proposer.close()
        for env in self.envs:
            env.close()


def _rechecker(spec: WorkerSpec, env: ProofEnv):
    from functools import partial

    from leanagent.prover.leaninteract_env import db_source
    from leanagent.prover.recheck import Rechecker

    sources = getattr(env, "source", None) or partial(db_source, spec.db_url)
    lake = getattr(spec.repl, "lake", "lake") if spec.repl is not None else "lake"
    return Rechecker(env, sources, lake=lake, timeout=spec.limits.init_timeout)


def worker_searches(spec: WorkerSpec, device: "str | Placement | None" = None) -> int:
    """How many theorems one worker searches at once: `spec.searches`, else the default of `device`
    (None: `spec.device`; see `leanagent.device.defaults_for`); always 1 with LeanDojo, whose Dojo changes
    the process's working directory while it opens a theorem (`os.chdir`), which threads would race on."""
    if spec.env == "leandojo":
        return 1
    return max(1, spec.searches or defaults_for(spec.device if device is None else device).searches)


def share_proposer_data(spec: WorkerSpec) -> WorkerSpec:
    """The spec with the proposer's data built once, here, into a shared folder that workers open
    read-only (memory-mapped): per-worker memory then does not grow with the number of workers."""
    from leanagent.prover.proposers import prepare_shared

    if spec.shared is not None:
        return spec
    db = _open(spec.db_url)
    try:
        # The driver embeds the recorded states once, on the device --device names (auto where this machine
        # lacks it: a Ray cluster's driver).
        options, folder = prepare_shared(spec.proposer, db, device=driver_placement(spec.device))
    finally:
        db.dispose()
    return replace(spec, proposer=options, shared=folder)


def error_line(exc: Exception) -> str:
    """The last non-empty line of `exc`'s message (a Ray or torch error ends with what failed), else its
    type's name."""
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
