from __future__ import annotations

import logging

import pytest

from leanagent.prover.env import ProofState, TacResult
from leanagent.data import TheoremRef
from leanagent.prover.replay import ReplayEnv, ReplayIndex
from leanagent.prover.search import BestFirstSearch, SearchConfig
from leanagent.prover.tree import EdgeOutcome, NodeStatus

from tests.prover.conftest import S_IMP, S_IMP1, S_IMP2, ScriptedGenerator


def _search(gen, env, **cfg):
    checks = []

    def on_step(tree):
        tree.check_invariants()
        checks.append(len(tree.nodes))

    return BestFirstSearch(gen, env, config=SearchConfig(**cfg), on_step=on_step), checks


IMP_TABLE = {
    S_IMP: [("intros", -0.1), ("intro hp", -0.5), ("#eval 1", -0.2), ("sorry", -0.3)],
    S_IMP1: [("exact hp", -0.1), ("intro hq", -0.4), ("intro  hq", -0.6)],
    S_IMP2: [("exact hp", -0.2)],
}


def test_search_proves_with_replay_and_records_everything(toy_db, toy_ref, caplog):
    env = ReplayEnv(ReplayIndex.from_db(toy_db))
    gen = ScriptedGenerator(IMP_TABLE)
    search, checks = _search(gen, env, num_sampled_tactics=8, max_expansions=10)
    with caplog.at_level(logging.INFO, logger="leanagent.prover"):
        res = search.search(toy_ref("imp_self'"))
    assert res.outcome == "proved"
    assert res.proof == ["intro hp", "intro hq", "exact hp"]
    assert res.states == [S_IMP, S_IMP1, S_IMP2, "no goals"]
    assert res.expansions == 3 and res.rejected == 2 and len(checks) > 5
    assert "#eval" in caplog.text and "rejected tactic" in caplog.text
    tree = search.last_tree
    edges = {e.tactic: e.outcome for n in tree.nodes for e in n.edges}
    assert edges["#eval 1"] is EdgeOutcome.REJECTED and edges["sorry"] is EdgeOutcome.REJECTED
    assert edges["intros"] is EdgeOutcome.ERROR  # not in the record
    assert edges["intro  hq"] is EdgeOutcome.DUPLICATE  # same state as "intro hq"
    assert res.time_model >= 0 and res.time_lean >= 0 and res.time_search >= 0


def test_best_first_order_is_cumulative_logprob():
    # s0 -> a (-1.0) -> a1 (-0.1): cumulative -1.1; s0 -> b (-0.5) -> b1 (-1.0): -1.5.
    moves = {("s0", "a"): "A", ("s0", "b"): "B", ("A", "x"): "A1", ("B", "y"): "B1"}

    class Env:
        name = "fake"

        def start(self, thm):
            return ProofState("s0")

        def run_tac(self, state, tactic, timeout=None):
            nxt = moves.get((state.text, tactic))
            if nxt is None:
                return TacResult.error("no")
            return TacResult.new_state(ProofState(nxt, state.path + (tactic,)))

        def close(self):
            pass

    gen = ScriptedGenerator({"s0": [("a", -1.0), ("b", -0.5)], "A": [("x", -0.1)], "B": [("y", -1.0)]})
    search, _ = _search(gen, Env(), num_sampled_tactics=4)
    res = search.search(TheoremRef(1, "r", "F.lean", "t"))
    assert res.outcome == "failed"  # frontier exhausted
    assert [c[0] for c in gen.calls] == ["s0", "B", "A", "A1", "B1"]
    assert search.last_tree.root.status is NodeStatus.DEAD


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_time_is_split_between_model_lean_and_search():
    clock = _Clock()

    class SlowGen:
        name = "slow"

        def generate(self, states, num, targets=None):
            clock.t += 1.0
            return [[("t", -0.1)] for _ in states]

    class SlowEnv:
        name = "fake"

        def start(self, thm):
            clock.t += 0.25
            return ProofState("s0")

        def run_tac(self, state, tactic, timeout=None):
            clock.t += 0.5
            return TacResult.new_state(ProofState(state.text + "'", state.path + (tactic,)))

        def close(self):
            pass

    search = BestFirstSearch(SlowGen(), SlowEnv(), config=SearchConfig(max_expansions=3), clock=clock)
    res = search.search(TheoremRef(1, "r", "F.lean", "t"))
    assert res.outcome == "failed" and res.expansions == 3
    assert res.time_model == pytest.approx(3.0)
    assert res.time_lean == pytest.approx(0.25 + 1.5)
    assert res.time_search == pytest.approx(0.0)


def test_wall_clock_timeout_and_tactic_timeout_passed_down():
    clock = _Clock()
    seen = []

    class Env:
        name = "fake"

        def start(self, thm):
            return ProofState("s0")

        def run_tac(self, state, tactic, timeout=None):
            seen.append(timeout)
            clock.t += 4.0
            return TacResult.new_state(ProofState(state.text + tactic, state.path + (tactic,)))

        def close(self):
            pass

    gen = ScriptedGenerator({}, default=[("a", -0.1), ("b", -0.2)])
    search = BestFirstSearch(gen, Env(), config=SearchConfig(timeout=10, tactic_timeout=3), clock=clock,
                             on_step=lambda t: t.check_invariants())
    res = search.search(TheoremRef(1, "r", "F.lean", "t"))
    assert res.outcome == "timeout"
    assert seen[:2] == [3, 3] and seen[2] == pytest.approx(2.0)  # capped by the time left
    assert res.tactics_tried == 3


def test_start_failure_is_an_error_outcome(toy_db, toy_ref):
    env = ReplayEnv(ReplayIndex.from_db(toy_db))
    res = BestFirstSearch(ScriptedGenerator({}), env).search(toy_ref("no_steps"))
    assert res.outcome == "error" and "no recorded tactic steps" in res.error


def test_batched_expansion_sends_several_states_at_once():
    class Env:
        name = "fake"

        def start(self, thm):
            return ProofState("s0")

        def run_tac(self, state, tactic, timeout=None):
            return TacResult.new_state(ProofState(state.text + tactic, state.path + (tactic,)))

        def close(self):
            pass

    gen = ScriptedGenerator({}, default=[("a", -0.1), ("b", -0.2)])
    search, _ = _search(gen, Env(), max_expansions=5, expand_batch=2)
    res = search.search(TheoremRef(1, "r", "F.lean", "t"))
    assert [len(c) for c in gen.calls] == [1, 2, 2] and res.expansions == 5


def test_budget_string_is_canonical():
    assert SearchConfig(max_expansions=50, num_sampled_tactics=64, timeout=600.0).budget() == \
        "tactics=64;expansions=50;timeout=600;tactic_timeout=5"
    assert SearchConfig().budget() == SearchConfig().budget()
    assert SearchConfig(timeout=60).budget() != SearchConfig(timeout=61).budget()


def test_a_theorem_without_an_id_is_refused_before_any_proposal():
    """Issue 24, fail closed: without the theorem's id the proposers cannot hold its own steps out."""
    import pytest

    from leanagent.data import MissingTargetError

    class NeverCalled:
        def generate(self, *args, **kwargs):
            raise AssertionError("proposed without a target")

    with pytest.raises(MissingTargetError, match="has no database id"):
        BestFirstSearch(NeverCalled(), None).search(TheoremRef(None, "r", "F.lean", "t"))
