"""kNN tactic proposer (the leave-one-out idea of the LOOK study): no training needed.

The tactics recorded at the k recorded states nearest to the query state are
proposed, each scored by the similarity-weighted share of neighbours that used
it: a distribution over tactics, so log-probabilities on the model's scale.
States are embedded with the retriever's encoder and searched in a FAISS
inner-product index (unit vectors: inner product = cosine). For a target
theorem, none of its own recorded steps is a neighbour (leave-one-out by
theorem, `leanagent.data.visible`), and template slots are filled only with
premises accessible from it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

import numpy as np

from leanagent.data import RecordedStep, TheoremRef, require_targets, visible
from leanagent.generator.base import Candidate
from leanagent.generator.proposer_store import StepTable
from leanagent.generator.templates import fill, template_of
from leanagent.retrieval.knn import neighbours as walk_neighbours
from leanagent.text import normalize_tactic, usable_tactic

#: Similarities are turned into weights with exp(sim / temperature): near-duplicates dominate.
DEFAULT_TEMPERATURE = 0.05


class KnnProposer:
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

        keep = [i for i, s in enumerate(steps) if usable_tactic(s.tactic)]
        kept = [steps[i] for i in keep]
        if state_embeddings is not None:
            emb = np.ascontiguousarray(np.asarray(state_embeddings, dtype="float32")[keep])  # (M, d)
        else:
            emb = np.ascontiguousarray(embed([s.state for s in kept]), dtype="float32")  # (M, d)
        index = faiss.IndexFlatIP(emb.shape[1] if emb.ndim == 2 and emb.shape[0] else 1)
        if len(kept):
            index.add(emb)
        table = StepTable.of(kept)
        self._setup(embed, table, index, table.spare(), neighbours, temperature, name, retriever, premise_names,
                    fill_premises, fill_share)

    @classmethod
    def shared(cls, embed, table: StepTable, index, spare: int, **kwargs) -> "KnnProposer":
        """Over a shared folder's steps and state index (`leanagent.generator.proposer_store`): row j of `index`
        is step j of `table` (usable steps only); `spare` is `table.spare()`, precomputed."""
        self = cls.__new__(cls)
        defaults = dict(neighbours=16, temperature=DEFAULT_TEMPERATURE, name="knn", retriever=None,
                        premise_names=None, fill_premises=10, fill_share=0.5)
        kw = {**defaults, **kwargs}
        self._setup(embed, table, index, spare, kw["neighbours"], kw["temperature"], kw["name"], kw["retriever"],
                    kw["premise_names"], kw["fill_premises"], kw["fill_share"])
        return self

    def _setup(self, embed, table: StepTable, index, spare: int, neighbours, temperature, name, retriever,
               premise_names, fill_premises, fill_share) -> None:
        self.embed = embed
        self.steps = table  # column-wise: theorem ids, tactics, annotated tactics (maybe memory-mapped)
        self.neighbours = neighbours
        self.temperature = temperature
        self.name = name
        self.retriever = retriever
        self.premise_names = premise_names if premise_names is not None else {}
        self.fill_premises = fill_premises
        self.fill_share = fill_share if retriever is not None else 0.0
        self.index = index
        # A target's own steps are skipped: ask FAISS for that many more rows than `neighbours`.
        self.spare = spare

    def generate(self, states: Sequence[str], num: int, targets: Sequence[TheoremRef | None] | None = None
                 ) -> list[list[Candidate]]:
        if not states:
            return []
        if self.index.ntotal == 0:
            return [[] for _ in states]
        targets = require_targets(targets, len(states))
        q = np.ascontiguousarray(self.embed(list(states)), dtype="float32")  # (Q, d)
        k = min(self.index.ntotal, self.neighbours + self.spare)
        sims, idx = self.index.search(q, k)  # (Q, k) each
        premises = self._retrieve(states, targets)  # per query: accessible premise full names, best first
        out = []
        for qi in range(len(states)):
            weights: dict[str, float] = defaultdict(float)
            shown: dict[str, str] = {}
            target = targets[qi]
            skip = (lambda j, t=target: not visible(self.steps.theorem(j), t))  # raises without a target
            for j, s in walk_neighbours(sims[qi], idx[qi], self.neighbours, skip):
                tactic = self.steps.tactics[j]
                # exp((s - 1) / T) <= 1: a stable weight in (0, 1] for cosine s <= 1.
                w = math.exp((s - 1.0) / self.temperature)
                tmpl = template_of(self.steps.annotated[j])  # a regex over one short string: not cached
                filled = fill(*tmpl, premises[qi]) if tmpl and premises[qi] else []
                share = self.fill_share if filled else 0.0
                for tac, part in [(tactic, 1.0 - share)] + [(t, share * p) for t, p in filled]:
                    norm = normalize_tactic(tac)
                    weights[norm] += w * part
                    shown.setdefault(norm, tac)
            total = sum(weights.values())
            ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:num]
            out.append([(shown[t], math.log(w / total)) for t, w in ranked])
        return out

    def _retrieve(self, states: Sequence[str], targets: Sequence[TheoremRef | None]) -> list[list[str]]:
        if self.retriever is None or self.fill_share <= 0:
            return [[] for _ in states]
        from leanagent.retrieval.base import Query

        hits = self.retriever.retrieve([Query.at(s, t) for s, t in zip(states, targets)], self.fill_premises)
        return [[self.premise_names[h.premise_id] for h in hs if h.premise_id in self.premise_names] for hs in hits]
