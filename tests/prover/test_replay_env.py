from __future__ import annotations

import pytest

from leanagent.errors import ProverError
from leanagent.prover.env import NO_GOALS, ProofEnv, ProofState, TacOutcome
from leanagent.prover.replay import NOT_IN_RECORD, UNKNOWN_STATE, ReplayEnv, ReplayIndex

from tests.prover.conftest import S_ADD_COMM, S_ADD_COMM2, S_ONE_ONE


def test_replay_follows_the_record(toy_db, toy_ref):
    env = ReplayEnv(ReplayIndex.from_db(toy_db))
    assert isinstance(env, ProofEnv) and env.name == "replay"
    s0 = env.start(toy_ref("add_comm'"))
    assert s0 == ProofState(S_ADD_COMM, ())
    r1 = env.run_tac(s0, "rw  [Nat.add_comm]\n")  # whitespace-normalised match
    assert r1.kind is TacOutcome.STATE and r1.state.text == S_ADD_COMM2
    assert r1.state.path == ("rw  [Nat.add_comm]\n",)
    r2 = env.run_tac(r1.state, "rfl")
    assert r2.kind is TacOutcome.PROVED and r2.state.text == NO_GOALS and len(r2.state.path) == 2


def test_replay_rejects_what_is_not_recorded(toy_db, toy_ref):
    env = ReplayEnv(ReplayIndex.from_db(toy_db))
    s0 = env.start(toy_ref("add_comm'"))
    wrong = env.run_tac(s0, "simp")
    assert wrong.kind is TacOutcome.ERROR and wrong.message == NOT_IN_RECORD
    unknown = env.run_tac(ProofState("⊢ False"), "simp")
    assert unknown.kind is TacOutcome.ERROR and unknown.message == UNKNOWN_STATE
    assert env.run_tac(s0, "sorry").kind is TacOutcome.GIVEN_UP


def test_replay_matches_states_across_theorems(toy_db, toy_ref):
    env = ReplayEnv(ReplayIndex.from_db(toy_db))
    s0 = env.start(toy_ref("two_eq"))  # a sorry theorem; its state is proved in one_add_one
    assert s0.text == S_ONE_ONE
    assert env.run_tac(s0, "norm_num").kind is TacOutcome.PROVED


def test_replay_cannot_start_a_theorem_without_steps(toy_db, toy_ref):
    env = ReplayEnv(ReplayIndex.from_db(toy_db))
    with pytest.raises(ProverError, match="no recorded tactic steps"):
        env.start(toy_ref("no_steps"))


def test_replay_index_by_repo_and_first_answer_wins():
    idx = ReplayIndex.from_steps([(7, 1, "b", "s1", "no goals"), (7, 0, "a", "s0", "s1"),
                                  (8, 0, "a", "s0", "other")])
    assert idx.first_state == {7: "s0", 8: "s0"}
    assert [m.after for m in idx.moves["s0"]["a"]] == ["s1", "other"] and len(idx) == 2


def test_replay_without_a_started_theorem_raises():
    """Issue 24, fail closed: without a target nothing tells the theorem's own steps from others'."""
    import pytest

    from leanagent.errors import ProverError
    from leanagent.prover.env import ProofState

    env = ReplayEnv(ReplayIndex.from_steps([(7, 0, "a", "s0", "no goals")]))
    with pytest.raises(ProverError, match="no target theorem"):
        env.run_tac(ProofState("s0", ()), "a")
