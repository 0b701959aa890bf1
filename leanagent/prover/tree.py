"""The best-first search tree: nodes are proof states, edges are tactic attempts.

Nodes are de-duplicated by state text: a tactic that reaches a state already in
the tree adds a DUPLICATE edge and no node, so the tree stays a tree. The
frontier (a heap on cumulative log-probability) holds exactly the OPEN nodes.
`check_invariants()` states every rule the search relies on; tests call it
after every step.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import math
from dataclasses import dataclass, field

from leanagent.prover.env import ProofState, TacOutcome, TacResult


class NodeStatus(str, enum.Enum):
    OPEN = "open"          # in the frontier, not yet expanded
    EXPANDED = "expanded"  # tactics tried; some child is still alive
    PROVED = "proved"      # a proof from this node is known
    DEAD = "dead"          # expanded, and every child is dead (or there are none)


class EdgeOutcome(str, enum.Enum):
    STATE = "state"
    PROVED = "proved"
    ERROR = "error"
    TIMEOUT = "timeout"
    GIVEN_UP = "given_up"
    REJECTED = "rejected"    # the safety policy refused it; counts as an error
    DUPLICATE = "duplicate"  # reached a state already in the tree


@dataclass
class Edge:
    tactic: str
    logprob: float
    outcome: EdgeOutcome
    child: int | None = None
    message: str | None = None


@dataclass
class Node:
    id: int
    state: ProofState
    parent: int | None
    tactic: str | None        # the edge from the parent
    logprob: float            # cumulative log-probability of the path: the priority
    depth: int
    status: NodeStatus = NodeStatus.OPEN
    terminal: bool = False    # "no goals": the end of a proof
    edges: list[Edge] = field(default_factory=list)


class SearchTree:
    def __init__(self, root: ProofState):
        self.nodes: list[Node] = []
        self.by_text: dict[str, int] = {}
        self._heap: list[tuple[float, int, int]] = []  # (-logprob, tie-break, node id)
        self._tie = itertools.count()
        self.expanding: set[int] = set()  # popped, tactics still being tried
        self._add_node(root, None, None, 0.0)

    # -- queries -------------------------------------------------------------
    @property
    def root(self) -> Node:
        return self.nodes[0]

    @property
    def proved(self) -> bool:
        return self.root.status is NodeStatus.PROVED

    def proof(self) -> list[Node]:
        """Nodes from the root to a terminal node along PROVED nodes, best path first; [] if none."""
        if not self.proved:
            return []
        path = [self.root]
        while not path[-1].terminal:
            node = path[-1]
            best = max((self.nodes[e.child] for e in node.edges
                        if e.child is not None and self.nodes[e.child].status is NodeStatus.PROVED),
                       key=lambda n: (n.logprob, -n.id))
            path.append(best)
        return path

    # -- changes -------------------------------------------------------------
    def _add_node(self, state: ProofState, parent: Node | None, tactic: str | None, logprob: float,
                  terminal: bool = False) -> Node:
        node = Node(id=len(self.nodes), state=state, parent=parent.id if parent else None, tactic=tactic,
                    logprob=logprob, depth=parent.depth + 1 if parent else 0,
                    status=NodeStatus.PROVED if terminal else NodeStatus.OPEN, terminal=terminal)
        self.nodes.append(node)
        if not terminal:
            self.by_text[state.text] = node.id
            heapq.heappush(self._heap, (-logprob, next(self._tie), node.id))
        return node

    def peek_best(self, k: int) -> list[Node]:
        """The k OPEN nodes that `pop_best` would return next if nothing changed, best first (no change)."""
        return [self.nodes[nid] for _, _, nid in heapq.nsmallest(k, self._heap)] if k > 0 else []

    def pop_best(self) -> Node | None:
        """Take the OPEN node with the highest cumulative log-probability and start expanding it."""
        if not self._heap:
            return None
        _, _, nid = heapq.heappop(self._heap)
        node = self.nodes[nid]
        node.status = NodeStatus.EXPANDED
        self.expanding.add(nid)
        return node

    def add_edge(self, node: Node, tactic: str, logprob: float, result: TacResult | None,
                 rejected: str | None = None) -> Edge:
        """Record one tactic tried at the node being expanded. `rejected` is the safety reason."""
        if node.id not in self.expanding:
            raise RuntimeError(f"node {node.id} is not being expanded")
        if rejected is not None or result is None:
            edge = Edge(tactic, logprob, EdgeOutcome.REJECTED, message=rejected)
        elif result.kind is TacOutcome.STATE:
            assert result.state is not None
            dup = self.by_text.get(result.state.text)
            if dup is not None:
                edge = Edge(tactic, logprob, EdgeOutcome.DUPLICATE, message=f"same state as node {dup}")
            else:
                child = self._add_node(result.state, node, tactic, node.logprob + logprob)
                edge = Edge(tactic, logprob, EdgeOutcome.STATE, child=child.id)
        elif result.kind is TacOutcome.PROVED:
            assert result.state is not None
            child = self._add_node(result.state, node, tactic, node.logprob + logprob, terminal=True)
            edge = Edge(tactic, logprob, EdgeOutcome.PROVED, child=child.id)
        else:
            edge = Edge(tactic, logprob, EdgeOutcome(result.kind.value), message=result.message)
        node.edges.append(edge)
        if edge.outcome is EdgeOutcome.PROVED:
            self._propagate_proved(node)
        return edge

    def finish_expansion(self, node: Node) -> None:
        """End the expansion: a node with no live child is DEAD, and so may be its ancestors."""
        if node.id not in self.expanding:
            raise RuntimeError(f"node {node.id} is not being expanded")
        self.expanding.discard(node.id)
        if node.status is NodeStatus.EXPANDED and not self._has_live_child(node):
            self._propagate_dead(node)

    def _has_live_child(self, node: Node) -> bool:
        return any(e.child is not None and self.nodes[e.child].status is not NodeStatus.DEAD
                   for e in node.edges)

    def _propagate_proved(self, node: Node) -> None:
        cur: Node | None = node
        while cur is not None and cur.status is not NodeStatus.PROVED:
            cur.status = NodeStatus.PROVED
            cur = self.nodes[cur.parent] if cur.parent is not None else None

    def _propagate_dead(self, node: Node) -> None:
        cur: Node | None = node
        while cur is not None and cur.status is NodeStatus.EXPANDED and cur.id not in self.expanding \
                and not self._has_live_child(cur):
            cur.status = NodeStatus.DEAD
            cur = self.nodes[cur.parent] if cur.parent is not None else None

    # -- invariants ----------------------------------------------------------
    def check_invariants(self) -> None:
        """Raise AssertionError naming the first broken rule."""
        heap_ids = [nid for _, _, nid in self._heap]
        assert len(heap_ids) == len(set(heap_ids)), "a node is in the frontier twice"
        open_ids = {n.id for n in self.nodes if n.status is NodeStatus.OPEN}
        assert set(heap_ids) == open_ids, f"frontier {sorted(heap_ids)} != OPEN nodes {sorted(open_ids)}"
        texts = [n.state.text for n in self.nodes if not n.terminal]
        assert len(texts) == len(set(texts)), "two nodes share a state text"
        assert {t: i for i, t in ((n.id, n.state.text) for n in self.nodes if not n.terminal)} == \
            {t: i for t, i in self.by_text.items()}, "by_text does not index exactly the non-terminal nodes"
        for i, n in enumerate(self.nodes):
            assert n.id == i, f"node {i} has id {n.id}"
            if n.parent is None:
                assert i == 0 and n.depth == 0 and n.logprob == 0.0 and n.tactic is None, "bad root"
            else:
                p = self.nodes[n.parent]
                assert n.parent < i, f"node {i} is older than its parent"
                assert n.depth == p.depth + 1, f"node {i}: depth"
                into = [e for e in p.edges if e.child == i]
                assert len(into) == 1 and into[0].tactic == n.tactic, f"node {i}: not exactly one edge from parent"
                assert math.isclose(n.logprob, p.logprob + into[0].logprob, abs_tol=1e-9), f"node {i}: logprob"
                assert n.logprob <= p.logprob + 1e-9, f"node {i}: priority grows along a path"
                assert n.state.path == p.state.path + (n.tactic,), f"node {i}: tactic path"
            for e in n.edges:
                has_child = e.outcome in (EdgeOutcome.STATE, EdgeOutcome.PROVED)
                assert (e.child is not None) == has_child, f"node {i}: edge {e.tactic!r} child/outcome"
                if has_child:
                    assert self.nodes[e.child].parent == i
                    assert self.nodes[e.child].terminal == (e.outcome is EdgeOutcome.PROVED)
            live = self._has_live_child(n)
            proved_child = any(e.child is not None and self.nodes[e.child].status is NodeStatus.PROVED
                               for e in n.edges)
            if n.terminal:
                assert n.status is NodeStatus.PROVED and not n.edges, f"node {i}: terminal must be a PROVED leaf"
            elif n.status is NodeStatus.OPEN:
                assert not n.edges, f"node {i}: OPEN node has edges"
            elif n.status is NodeStatus.PROVED:
                assert proved_child, f"node {i}: PROVED without a PROVED child"
            elif n.status is NodeStatus.DEAD:
                assert not live, f"node {i}: DEAD with a live child"
            elif n.status is NodeStatus.EXPANDED:
                assert not proved_child, f"node {i}: has a PROVED child but is not PROVED"
                assert live or i in self.expanding, f"node {i}: EXPANDED without a live child"
        assert all(self.nodes[i].status in (NodeStatus.EXPANDED, NodeStatus.PROVED) for i in self.expanding), \
            "an expanding node is neither EXPANDED nor PROVED"
