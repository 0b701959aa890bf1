"""Batched search: several states per generator call, the same search as one state per call."""

from __future__ import annotations

import hashlib

import pytest

from leanagent.data import TheoremRef
from leanagent.prover.env import ProofState, TacResult
from leanagent.prover.search import BestFirstSearch, SearchConfig


def _h(*parts: str) -> int:
    return int(hashlib.blake2b("|".join(parts).encode(), digest_size=4).hexdigest(), 16)


class HashGenerator:
    """Deterministic: a state's tactics and scores depend on its text only, never on the rest of the batch."""

    name = "hash"

    def __init__(self):
        self.calls: list[int] = []
        self.targets: list = []

    def generate(self, states, num, targets=None):
        self.calls.append(len(states))
        self.targets.append(list(targets))
        out = []
        for s in states:
            cands = [(f"t{_h(s, str(i)) % 7}", -((_h(s, 'lp', str(i)) % 1000) / 250.0)) for i in range(num)]
            best = {}
            for t, lp in cands:
                best[t] = max(lp, best.get(t, lp))
            out.append(sorted(best.items(), key=lambda kv: (-kv[1], kv[0])))
        return out


class TreeEnv:
    """A branching proof space with errors, shared states (duplicates) and one deep proof."""

    name = "tree"

    def start(self, thm):
        return ProofState("s")

    def run_tac(self, state, tactic, timeout=None):
        h = _h(state.text, tactic) % 10
        path = state.path + (tactic,)
        if h < 3:
            return TacResult.error("no")
        depth = state.text.count(".")
        if h == 9 and depth >= 7:
            return TacResult.proved(path)
        text = f"{state.text}.{h % 4}" if h < 8 else f"s.{h}"  # s.8, s.9: states reached from many places
        return TacResult.new_state(ProofState(text, path))

    def close(self):
        pass


def _run(batch: int, expansions: int, num: int = 4):
    gen = HashGenerator()
    search = BestFirstSearch(gen, TreeEnv(), config=SearchConfig(num_sampled_tactics=num, max_expansions=expansions,
                                                                 expand_batch=batch, timeout=1e9),
                             on_step=lambda tree: tree.check_invariants())
    res = search.search(TheoremRef(7, "r", "F.lean", "thm", (3, 0)))
    tree = search.last_tree
    shape = [(n.state.text, n.parent, n.status, [(e.tactic, e.outcome, e.child) for e in n.edges])
             for n in tree.nodes]
    return res, shape, gen


@pytest.mark.parametrize("expansions", [1, 5, 40, 200])
def test_batched_search_is_the_unbatched_search(expansions):
    ref, ref_shape, ref_gen = _run(1, expansions)
    assert ref_gen.calls == [1] * ref.expansions
    for batch in (2, 3, 8):
        res, shape, gen = _run(batch, expansions)
        assert (res.outcome, res.proof, res.expansions, res.tactics_tried, res.nodes) == \
            (ref.outcome, ref.proof, ref.expansions, ref.tactics_tried, ref.nodes)
        assert shape == ref_shape
        assert sum(gen.calls) <= ref.expansions + (batch - 1) * len(gen.calls)
        assert max(gen.calls) <= batch
        # Never more states than expansions left, and every state carries the theorem as its target.
        assert all(t == [TheoremRef(7, "r", "F.lean", "thm", (3, 0))] * len(t) for t in gen.targets)
    if ref.expansions > 8:
        assert len(_run(8, expansions)[2].calls) < ref.expansions  # fewer generator calls


def test_prefetch_never_asks_for_more_states_than_expansions_left():
    res, _, gen = _run(8, 3)
    assert res.expansions == 3 and sum(gen.calls) <= 3 + 2  # the 3rd expansion asks for one state at most


def test_search_config_resolves_expand_batch_per_device(tmp_path, monkeypatch):
    from leanagent.device import Placement
    from leanagent.prover.pool import _gpu_share
    from leanagent.prover.workers import WorkerSpec

    assert SearchConfig().expand_batch is None and Placement("cpu").defaults.expand_batch == 1
    spec = WorkerSpec(env="replay", db_url="sqlite://", proposer=None)
    assert _gpu_share(spec, 4, 2.0) == (spec.__class__(**{**spec.__dict__, "device": "cuda"}), 0.5)
    assert _gpu_share(spec, 4, 0.0)[1] == 0.0 and _gpu_share(spec, 4, 0.0)[0].device == "cpu"
    cpu = WorkerSpec(env="replay", db_url="sqlite://", proposer=None, device="cpu")
    assert _gpu_share(cpu, 2, 8.0) == (cpu, 0.0)
    pinned = WorkerSpec(env="replay", db_url="sqlite://", proposer=None, device="cuda:1", gpus_per_worker=0.25)
    got, gpus = _gpu_share(pinned, 2, 8.0)
    assert gpus == 0.25 and got.device == "cuda"  # inside a worker Ray renumbers its GPUs from 0
    from leanagent.errors import ConfigError

    with pytest.raises(ConfigError, match="no GPU"):
        _gpu_share(WorkerSpec(env="replay", db_url="sqlite://", proposer=None, device="cuda"), 2, 0.0)
    with pytest.raises(ConfigError, match="device cpu"):
        _gpu_share(WorkerSpec(env="replay", db_url="sqlite://", proposer=None, device="cpu", gpus_per_worker=0.5),
                   2, 1.0)
    with pytest.raises(ConfigError, match="whole number"):
        _gpu_share(WorkerSpec(env="replay", db_url="sqlite://", proposer=None, gpus_per_worker=1.5), 2, 4.0)


def test_a_worker_takes_its_device_and_expand_batch_from_the_policy(toy_db, db_url, monkeypatch):
    from leanagent.device import Placement
    from leanagent.generator.options import ProposerOptions
    from leanagent.prover import workers

    from leanagent.prover import proposers

    seen = {}

    def spy(options, db, device=None):
        seen["device"] = device
        return proposers.build_proposer(proposers.resolve(options, db), proposers.proposer_data(options, db), device)

    monkeypatch.setattr(proposers, "load_proposer", spy)
    spec = workers.WorkerSpec(env="replay", db_url=db_url, device="cpu",
                              proposer=ProposerOptions(proposer="frequency", source_split="all"))
    worker = workers.ProverWorker(spec)
    assert seen["device"] == Placement("cpu") and worker.search.config.expand_batch == 1
    pinned = workers.ProverWorker(workers.WorkerSpec(env="replay", db_url=db_url, device="cpu",
                                                     search=SearchConfig(expand_batch=3),
                                                     proposer=ProposerOptions(proposer="frequency")))
    assert pinned.search.config.expand_batch == 3  # an explicit --expand-batch wins
