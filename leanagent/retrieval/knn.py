"""kNN over recorded proof states: the neighbour walk shared by every kNN in leanagent, and the
premise prior (from the LOOK study).

`neighbours` is the one voting loop: it walks a FAISS result row best first,
skips what the caller may not see (the target theorem's own states:
leave-one-out by theorem) and stops after `limit` neighbours. The tactic
proposer (`leanagent.generator.knn`) and the premise prior below both use it.

Prior: the k recorded states most similar to the query vote for the premises
they used, weighted by similarity. A recorded state of the query's own theorem
never votes, so the prior can be measured on the states it was built from.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Callable, Iterator, Sequence

import numpy as np


def neighbours(sims: np.ndarray, idx: np.ndarray, limit: int,
               skip: Callable[[int], bool] | None = None) -> Iterator[tuple[int, float]]:
    """(row, similarity) of the first `limit` usable neighbours in one FAISS result row (best first).

    `sims`, `idx`: (k,) from `index.search`; -1 rows (fewer results than k) and rows for which
    `skip(row)` is true are passed over. Ask FAISS for `limit + spare_for(...)` rows so that the
    skipped ones still leave `limit`.
    """
    used = 0
    for s, j in zip(sims, idx):
        if used >= limit:
            return
        if j < 0 or (skip is not None and skip(int(j))):
            continue
        used += 1
        yield int(j), float(s)


def spare_for(groups: Sequence[int | None]) -> int:
    """Rows a query may have to skip: the most rows any one group (theorem) has (pure)."""
    counts = Counter(g for g in groups if g is not None)
    return max(counts.values(), default=0)


class KnnPrior:
    def __init__(self, state_embeddings: np.ndarray, premise_rows: Sequence[Sequence[int]],
                 theorems: Sequence[int | None], neighbours: int = 10):
        """`theorems[i]`: the theorem identity of recorded state i (its states never vote for a query of it)."""
        import faiss

        emb = np.ascontiguousarray(state_embeddings, dtype="float32")  # (M, d) unit rows
        self.index = faiss.IndexFlatIP(emb.shape[1])
        self.index.add(emb)
        self.rows = [list(r) for r in premise_rows]
        self.theorems = list(theorems)
        self.spare = spare_for(self.theorems)
        self.neighbours = neighbours

    def votes(self, queries: np.ndarray, targets: Sequence) -> list[dict[int, float]]:
        """Per query: {corpus row: vote in [0, 1]} (similarity-weighted share of neighbours using it).
        `targets[i]`: the `leanagent.data.TheoremRef` of query i; what it may not see never votes."""
        from leanagent.data import visible

        if self.index.ntotal == 0:
            return [{} for _ in range(len(queries))]
        k = min(self.index.ntotal, self.neighbours + self.spare)
        sims, idx = self.index.search(np.ascontiguousarray(queries, dtype="float32"), k)  # (Q, k)
        out = []
        for qi in range(len(queries)):
            votes: dict[int, float] = defaultdict(float)
            total = 0.0
            skip = (lambda j, t=targets[qi]: not visible(self.theorems[j], t))  # raises without a target
            for j, s in neighbours(sims[qi], idx[qi], self.neighbours, skip):
                w = max(s, 0.0)
                total += w
                for r in set(self.rows[j]):
                    votes[r] += w
            out.append({r: v / total for r, v in votes.items()} if total > 0 else {})
        return out


def mix_scores(dense: dict[int, float], votes: dict[int, float], weight: float) -> dict[int, float]:
    """score = dense cosine + weight * vote, over the union of candidates (pure)."""
    return {r: dense[r] + weight * votes.get(r, 0.0) for r in dense}
