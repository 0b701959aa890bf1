"""kNN tactic proposer (the leave-one-out idea of the LOOK study): no training needed.

The tactics recorded at the k recorded states nearest to the query state are
proposed, each scored by the similarity-weighted share of neighbours that used
it: a distribution over tactics, so log-probabilities on the model's scale.
States are embedded with the retriever's encoder and searched in a FAISS
inner-product index (unit vectors: inner product = cosine). In evaluation a
state never retrieves itself: a query carrying a step key skips the neighbour
with the same key.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from leanagent.db.records import mentions_sorry
from leanagent.generator.base import Candidate
from leanagent.generator.templates import fill, template_of
from leanagent.prover.env import normalize_tactic

#: Similarities are turned into weights with exp(sim / temperature): near-duplicates dominate.
DEFAULT_TEMPERATURE = 0.05


@dataclass(frozen=True)
class RecordedStep:
    key: int        # tactic step id (for leave-one-out)
    state: str
    tactic: str
    annotated: str | None = None  # LeanDojo's annotated tactic (premise marks), for templates


class KnnProposer:
    takes_keys = True  # generate(..., keys=step ids) skips each query's own recorded step
    def __init__(self, embed, steps: Sequence[RecordedStep], neighbours: int = 16,
                 temperature: float = DEFAULT_TEMPERATURE, name: str = "knn",
                 state_embeddings: np.ndarray | None = None, retriever=None,
                 premise_names: dict[int, str] | None = None, fill_premises: int = 10, fill_share: float = 0.5):
        """`embed(texts) -> (N, d)` float32 unit rows (e.g. the retriever encoder's `embed`).

        `state_embeddings` (len(steps), d), when given, are the embeddings of `steps` (a cache).
        With a `retriever` (and `premise_names`: premise id -> full name), a neighbour whose
        tactic names premises also proposes its template filled with the `fill_premises`
        premises retrieved for the query; those get `fill_share` of the neighbour's weight.
        """
        import faiss

        self.embed = embed
        keep = [i for i, s in enumerate(steps) if s.tactic.strip() and not mentions_sorry(s.tactic)]
        self.steps = [steps[i] for i in keep]
        self.neighbours = neighbours
        self.temperature = temperature
        self.name = name
        self.retriever = retriever
        self.premise_names = premise_names or {}
        self.fill_premises = fill_premises
        self.fill_share = fill_share if retriever is not None else 0.0
        self.templates = [template_of(s.annotated) for s in self.steps]
        if state_embeddings is not None:
            emb = np.ascontiguousarray(np.asarray(state_embeddings, dtype="float32")[keep])  # (M, d)
        else:
            emb = np.ascontiguousarray(embed([s.state for s in self.steps]), dtype="float32")  # (M, d)
        self.index = faiss.IndexFlatIP(emb.shape[1] if emb.ndim == 2 and emb.shape[0] else 1)
        if len(self.steps):
            self.index.add(emb)

    def generate(self, states: Sequence[str], num: int, keys: Sequence[int | None] | None = None
                 ) -> list[list[Candidate]]:
        if not states:
            return []
        if self.index.ntotal == 0:
            return [[] for _ in states]
        keys = list(keys) if keys is not None else [None] * len(states)
        q = np.ascontiguousarray(self.embed(list(states)), dtype="float32")  # (Q, d)
        k = min(self.index.ntotal, self.neighbours + 1)  # one spare for the query's own step
        sims, idx = self.index.search(q, k)  # (Q, k) each
        premises = self._retrieve(states)  # per query: premise full names, best first
        out = []
        for qi in range(len(states)):
            weights: dict[str, float] = defaultdict(float)
            shown: dict[str, str] = {}
            used = 0
            for s, j in zip(sims[qi], idx[qi]):
                if j < 0 or used >= self.neighbours:
                    continue
                step = self.steps[j]
                if keys[qi] is not None and step.key == keys[qi]:
                    continue  # leave-one-out
                used += 1
                # exp((s - 1) / T) <= 1: a stable weight in (0, 1] for cosine s <= 1.
                w = math.exp((float(s) - 1.0) / self.temperature)
                tmpl = self.templates[j]
                filled = fill(*tmpl, premises[qi]) if tmpl and premises[qi] else []
                share = self.fill_share if filled else 0.0
                for tac, part in [(step.tactic, 1.0 - share)] + [(t, share * p) for t, p in filled]:
                    norm = normalize_tactic(tac)
                    weights[norm] += w * part
                    shown.setdefault(norm, tac)
            total = sum(weights.values())
            ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:num]
            out.append([(shown[t], math.log(w / total)) for t, w in ranked])
        return out

    def _retrieve(self, states: Sequence[str]) -> list[list[str]]:
        if self.retriever is None or self.fill_share <= 0:
            return [[] for _ in states]
        from leanagent.retrieval.base import Query

        hits = self.retriever.retrieve([Query(s) for s in states], self.fill_premises)
        return [[self.premise_names[h.premise_id] for h in hs if h.premise_id in self.premise_names] for hs in hits]
