"""The figures every proved count is printed beside (issue 24), measured on the same theorems in the
same run, in replay:

- `frequency`: the frequency proposer (the most common recorded tactics, leave-one-out) under the same
  search budget and the same sources: what a proposer that looks at no state proves;
- `one_step`: theorems whose own recorded proof is a single tactic (how easy the set is);
- `oracle`: the replay ceiling for proposers that read other theorems' records (kNN, frequency,
  templates without new premises): theorems whose first state reaches `no goals` when, at every state,
  any tactic recorded by *another* theorem may be tried, however a proposer would rank it. Replay
  accepts such a tactic where the theorem's own record has it (Lean's answer for the theorem) or where
  another theorem recorded it at that very state and it is legal here. A generator that writes a tactic
  no other theorem recorded can exceed it.

Nothing here writes to the database: the baselines are counts, not proofs.
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

from leanagent.prover.env import NO_GOALS
from leanagent.data import TheoremRef

#: States the oracle visits per theorem before giving up (recorded state graphs are small).
ORACLE_STATES = 2000


def tactic_owners(index) -> dict[str, tuple[int, int]]:
    """{normalised tactic: (number of theorems recording it, one of them)} over a replay index."""
    owners: dict[str, set[int]] = {}
    for by_tactic in index.moves.values():
        for tactic, moves in by_tactic.items():
            owners.setdefault(tactic, set()).update(m.theorem_id for m in moves)
    return {t: (len(ids), min(ids)) for t, ids in owners.items()}


def oracle_proves(index, ref: TheoremRef, owners: dict | None = None, limit: int = ORACLE_STATES) -> bool:
    """Can `ref` be proved in replay by tactics that other theorems recorded (breadth first)?"""
    start = index.first_state.get(ref.id)
    if start is None:
        return False
    owners = owners if owners is not None else tactic_owners(index)
    later = index.later_declarations(ref)
    seen, todo = {start}, deque([start])
    while todo and len(seen) <= limit:
        for tactic, moves in index.moves.get(todo.popleft(), {}).items():
            n, some = owners.get(tactic, (0, None))
            if n == 0 or (n == 1 and some == ref.id):
                continue  # no other theorem recorded this tactic: no such proposer would try it
            after = next((m.after for m in moves if m.theorem_id == ref.id or index.legal(m, ref, later)), None)
            if after is None:
                continue
            if after.strip() == NO_GOALS:
                return True
            if after not in seen:
                seen.add(after)
                todo.append(after)
    return False


def replay_baselines(db, rows: Sequence, scope, search, policy) -> dict:
    """{"frequency", "one_step", "oracle", "of"} over the selected theorem rows (`TheoremRow`s)."""
    from leanagent.db.training_data import proposer_steps
    from leanagent.generator.frequency import FrequencyProposer
    from leanagent.prover.replay import ReplayEnv, ReplayIndex
    from leanagent.prover.search import BestFirstSearch

    index = ReplayIndex.from_db(db)
    frequency = FrequencyProposer(proposer_steps(db, scope))
    prover = BestFirstSearch(frequency, ReplayEnv(index), policy, search)
    refs = [TheoremRef.of(r) for r in rows]
    owners = tactic_owners(index)
    return {"of": len(refs),
            "frequency": sum(prover.search(ref).outcome == "proved" for ref in refs),
            "one_step": sum(r.num_steps == 1 for r in rows),
            "oracle": sum(oracle_proves(index, ref, owners) for ref in refs)}


def beside(proved: int, attempted: int, baselines: dict | None) -> str:
    """`proved/attempted` with its baselines, as every report prints it (pure)."""
    text = f"{proved}/{attempted}"
    if not baselines:
        return text
    return (f"{text} (in the same run, replay: frequency {baselines['frequency']}/{baselines['of']}, "
            f"own one-step proofs {baselines['one_step']}/{baselines['of']}, "
            f"oracle ceiling {baselines['oracle']}/{baselines['of']})")
