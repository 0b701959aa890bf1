"""kNN premise prior (from the LOOK study): premises used by the nearest recorded proof states.

Non-parametric: the k recorded states most similar to the query vote for the
premises they used, weighted by similarity. Leave-one-out: a recorded state
never votes for itself (same step key), so the prior can be measured on the
states it was built from.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np


class KnnPrior:
    def __init__(self, state_embeddings: np.ndarray, premise_rows: Sequence[Sequence[int]],
                 keys: Sequence[int | None], neighbours: int = 10):
        import faiss

        emb = np.ascontiguousarray(state_embeddings, dtype="float32")  # (M, d) unit rows
        self.index = faiss.IndexFlatIP(emb.shape[1])
        self.index.add(emb)
        self.rows = [list(r) for r in premise_rows]
        self.keys = list(keys)
        self.neighbours = neighbours

    def votes(self, queries: np.ndarray, keys: Sequence[int | None]) -> list[dict[int, float]]:
        """Per query: {corpus row: vote in [0, 1]} (similarity-weighted share of neighbours using it)."""
        if self.index.ntotal == 0:
            return [{} for _ in range(len(queries))]
        k = min(self.index.ntotal, self.neighbours + 1)  # one spare, for the query's own state
        sims, idx = self.index.search(np.ascontiguousarray(queries, dtype="float32"), k)  # (Q, k)
        out = []
        for qi in range(len(queries)):
            votes: dict[int, float] = defaultdict(float)
            total, used = 0.0, 0
            for s, j in zip(sims[qi], idx[qi]):
                if j < 0 or used >= self.neighbours:
                    continue
                if keys[qi] is not None and self.keys[j] == keys[qi]:
                    continue  # leave-one-out
                w = max(float(s), 0.0)
                total += w
                used += 1
                for r in set(self.rows[j]):
                    votes[r] += w
            out.append({r: v / total for r, v in votes.items()} if total > 0 else {})
        return out


def mix_scores(dense: dict[int, float], votes: dict[int, float], weight: float) -> dict[int, float]:
    """score = dense cosine + weight * vote, over the union of candidates (pure)."""
    return {r: dense[r] + weight * votes.get(r, 0.0) for r in dense}
