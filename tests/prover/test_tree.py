from __future__ import annotations

import pytest

from leanagent.prover.env import ProofState, TacOutcome, TacResult
from leanagent.prover.tree import EdgeOutcome, NodeStatus, SearchTree


def _state(parent: ProofState, tac: str, text: str) -> TacResult:
    return TacResult.new_state(ProofState(text, parent.path + (tac,)))


def test_tree_statuses_and_propagation():
    tree = SearchTree(ProofState("s0"))
    tree.check_invariants()
    root = tree.pop_best()
    assert root.id == 0 and root.status is NodeStatus.EXPANDED
    tree.check_invariants()
    a = tree.add_edge(root, "a", -0.1, _state(root.state, "a", "s1"))
    b = tree.add_edge(root, "b", -2.0, _state(root.state, "b", "s2"))
    dup = tree.add_edge(root, "c", -0.5, _state(root.state, "c", "s1"))
    err = tree.add_edge(root, "d", -0.5, TacResult.error("nope"))
    rej = tree.add_edge(root, "e", -0.5, None, rejected="unsafe")
    assert (a.outcome, b.outcome, dup.outcome, err.outcome, rej.outcome) == (
        EdgeOutcome.STATE, EdgeOutcome.STATE, EdgeOutcome.DUPLICATE, EdgeOutcome.ERROR, EdgeOutcome.REJECTED)
    tree.finish_expansion(root)
    tree.check_invariants()
    n1 = tree.pop_best()
    assert n1.state.text == "s1" and n1.logprob == pytest.approx(-0.1)  # best priority first
    tree.finish_expansion(n1)  # no children: dead, but root still has s2
    tree.check_invariants()
    assert n1.status is NodeStatus.DEAD and tree.root.status is NodeStatus.EXPANDED
    n2 = tree.pop_best()
    tree.add_edge(n2, "done", -0.3, TacResult.proved(n2.state.path + ("done",)))
    tree.check_invariants()
    tree.finish_expansion(n2)
    tree.check_invariants()
    assert tree.proved and [n.tactic for n in tree.proof()[1:]] == ["b", "done"]
    assert tree.proof()[-1].logprob == pytest.approx(-2.3)


def test_dead_propagates_to_root():
    tree = SearchTree(ProofState("s0"))
    root = tree.pop_best()
    tree.add_edge(root, "a", -1.0, _state(root.state, "a", "s1"))
    tree.finish_expansion(root)
    n1 = tree.pop_best()
    tree.add_edge(n1, "x", -1.0, TacResult(TacOutcome.TIMEOUT, message="slow"))
    tree.finish_expansion(n1)
    tree.check_invariants()
    assert tree.root.status is NodeStatus.DEAD and tree.pop_best() is None


def test_check_invariants_catches_corruption():
    tree = SearchTree(ProofState("s0"))
    root = tree.pop_best()
    tree.add_edge(root, "a", -1.0, _state(root.state, "a", "s1"))
    tree.finish_expansion(root)
    tree.nodes[1].logprob = 5.0
    with pytest.raises(AssertionError, match="logprob"):
        tree.check_invariants()
    tree.nodes[1].logprob = -1.0
    tree.check_invariants()
    tree.nodes[1].status = NodeStatus.DEAD  # dead but still in the frontier
    with pytest.raises(AssertionError, match="frontier"):
        tree.check_invariants()


def test_only_expanding_nodes_take_edges():
    tree = SearchTree(ProofState("s0"))
    with pytest.raises(RuntimeError):
        tree.add_edge(tree.root, "a", -1.0, TacResult.error("x"))
