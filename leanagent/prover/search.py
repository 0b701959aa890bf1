"""Best-first proof search over a `TacticProposer` and a `ProofEnv`.

The priority of a node is the cumulative log-probability of its tactic path.
Each expansion asks the proposer for `num_sampled_tactics` tactics, checks
each against the safety policy, and runs the allowed ones in the environment.
Time is split three ways: in the model, in Lean (the environment), and in the
search itself (everything else: tree, heap, policy).

Batching: a proposer is far faster per state on a batch (a GPU most of all),
but expanding several nodes at once would change the order of a best-first
search. So the order stays strictly best-first, and the proposer is asked
ahead instead: when the node to expand has no proposals yet, one call gets
them for it and for the next `expand_batch - 1` best open nodes, whose
proposals wait in a cache until those nodes are expanded (an open node stays
open until it is popped). For a proposer whose answer for a state does not
depend on the rest of its batch, the search is identical to the unbatched one;
the cost is the proposals of nodes never expanded once a proof is found.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from leanagent.data import MissingTargetError, TheoremRef
from leanagent.errors import ProverError
from leanagent.generator.base import TacticProposer
from leanagent.prover.env import ProofEnv
from leanagent.prover.safety import SafetyPolicy
from leanagent.prover.tree import SearchTree

log = logging.getLogger("leanagent.prover")

# `rejected`: a proof was found tactic by tactic but its file does not elaborate with it (prover/recheck.py).
OUTCOMES = ("proved", "failed", "timeout", "error", "rejected")


@dataclass(frozen=True)
class SearchConfig:
    """The search budget. `budget()` is its canonical text, stored with every attempt."""

    num_sampled_tactics: int = 64
    """Tactics asked from the proposer per expanded node."""
    timeout: float = 600.0
    """Wall-clock seconds per theorem."""
    max_expansions: int | None = None
    """Expanded nodes per theorem; None = only the timeout limits the search."""
    tactic_timeout: float = 5.0
    """Seconds one tactic may run in Lean."""
    expand_batch: int | None = None
    """Open nodes proposed for in one proposer call, best first (the expansion order stays best-first; see
    the module docstring). None: per device, 8 on a GPU and 1 on the CPU (`leanagent.device`)."""

    def budget(self) -> str:
        """Canonical text: the same budget always gives the same string (for skipping repeats)."""
        exp = "inf" if self.max_expansions is None else str(self.max_expansions)
        return (f"tactics={self.num_sampled_tactics};expansions={exp};timeout={self.timeout:g};"
                f"tactic_timeout={self.tactic_timeout:g}")


@dataclass
class SearchResult:
    theorem: TheoremRef
    outcome: str                      # one of OUTCOMES
    proof: list[str] | None = None    # tactics, when proved
    states: list[str] = field(default_factory=list)  # len(proof) + 1 states, the last "no goals"
    expansions: int = 0
    time_model: float = 0.0
    time_lean: float = 0.0
    time_search: float = 0.0
    tactics_tried: int = 0
    rejected: int = 0
    nodes: int = 0
    error: str | None = None
    check_status: str | None = None   # verified | rejected | flagged | unchecked: the whole-file re-check
    checked_by: str | None = None     # repl | lake, when a re-check ran (prover/recheck.py)
    check_message: str | None = None  # Lean's messages when rejected; the reason otherwise
    axioms: list[str] | None = None   # what `#print axioms` answered for the theorem, when it did
    statement_digest: str | None = None     # of the statement the re-check placed the proof under
    checked_file_digest: str | None = None  # of the file text the re-check placed the proof into
    measures: dict | None = None      # what the re-check measured: {"found": M, "polished": M} (db Proof.measures)
    polished: list[str] | None = None  # the shorter proof polishing kept (prover/polish.py), if any
    polish: dict | None = None        # what polishing did: {tried, kept, seconds, budget_hit, skipped}

    def as_dict(self) -> dict:
        d = asdict(self)
        d["theorem"] = asdict(self.theorem)
        return d


class BestFirstSearch:
    def __init__(self, proposer: TacticProposer, env: ProofEnv, policy: SafetyPolicy | None = None,
                 config: SearchConfig | None = None, on_step: Callable[[SearchTree], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.proposer = proposer
        self.env = env
        self.policy = policy or SafetyPolicy()
        self.config = config or SearchConfig()
        self.on_step = on_step  # called after every change to the tree (tests check invariants there)
        self.clock = clock
        self.last_tree: SearchTree | None = None

    def search(self, theorem: TheoremRef) -> SearchResult:
        cfg, clock = self.config, self.clock
        if theorem.id is None and theorem.identity is None:  # fail closed: nothing to hold out
            raise MissingTargetError(f"theorem {theorem.full_name} has no database id: the proposers cannot "
                                     "hold its own recorded steps out")
        t0 = clock()
        res = SearchResult(theorem=theorem, outcome="failed")
        try:
            root = self.env.start(theorem)
        except ProverError as exc:
            res.outcome, res.error = "error", exc.message
            res.time_lean = clock() - t0
            return res
        res.time_lean = clock() - t0
        tree = self.last_tree = SearchTree(root)
        self._step(tree)
        deadline = t0 + cfg.timeout
        try:
            self._loop(tree, res, deadline)
        except ProverError as exc:
            res.outcome, res.error = "error", exc.message
        if tree.proved:
            path = tree.proof()
            res.outcome = "proved"
            res.proof = [n.tactic for n in path[1:]]
            res.states = [n.state.text for n in path]
        res.nodes = len(tree.nodes)
        res.time_search = max(0.0, clock() - t0 - res.time_model - res.time_lean)
        return res

    def _step(self, tree: SearchTree) -> None:
        if self.on_step is not None:
            self.on_step(tree)

    def _loop(self, tree: SearchTree, res: SearchResult, deadline: float) -> None:
        cfg, clock = self.config, self.clock
        thm = res.theorem
        # The proposers hold out the theorem's identity (`TheoremRef.hidden`): its own recorded steps and
        # its copies' elsewhere.
        target = thm
        batch = max(1, cfg.expand_batch or 1)
        ahead: dict[int, list] = {}  # open node id -> its proposals, asked for ahead of its expansion
        while not tree.proved:
            if clock() >= deadline:
                res.outcome = "timeout"
                return
            left = None if cfg.max_expansions is None else cfg.max_expansions - res.expansions
            if left is not None and left <= 0:
                return  # expansions used up: failed
            node = tree.pop_best()
            if node is None:
                return  # frontier exhausted: failed
            self._step(tree)
            cands = ahead.pop(node.id, None)
            if cands is None:
                want = batch - 1 if left is None else min(batch, left) - 1
                more = [n for n in tree.peek_best(want + len(ahead)) if n.id not in ahead][:want]
                nodes = [node] + more
                t = clock()
                # Every state is the theorem's own: the proposers leave its recorded steps out.
                proposals = self.proposer.generate([n.state.text for n in nodes], cfg.num_sampled_tactics,
                                                    targets=[target] * len(nodes))
                res.time_model += clock() - t
                cands = proposals[0]
                ahead.update((n.id, p) for n, p in zip(more, proposals[1:]))
            res.expansions += 1
            for tactic, logprob in cands:
                if tree.proved or clock() >= deadline:
                    break
                self._try(tree, node, tactic, logprob, res, deadline)
            tree.finish_expansion(node)
            self._step(tree)

    def _try(self, tree: SearchTree, node, tactic: str, logprob: float, res: SearchResult,
             deadline: float) -> None:
        res.tactics_tried += 1
        reason = self.policy.check(tactic)
        if reason is not None:
            res.rejected += 1
            log.info("rejected tactic %r: %s", tactic, reason)
            tree.add_edge(node, tactic, logprob, None, rejected=reason)
        else:
            t = self.clock()
            timeout = max(0.0, min(self.config.tactic_timeout, deadline - t))
            result = self.env.run_tac(node.state, tactic, timeout=timeout)
            res.time_lean += self.clock() - t  # includes restarts and path restores after a timeout
            tree.add_edge(node, tactic, logprob, result)
        self._step(tree)
