"""The dense retriever: dual encoder + FAISS index + accessibility filter (+ optional kNN prior)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from leanagent.data import ImportGraph, PremiseItem
from leanagent.retrieval.access import Accessibility
from leanagent.retrieval.base import Hit, Query
from leanagent.retrieval.index import IndexOptions, PremiseIndex, load_or_build
from leanagent.retrieval.knn import KnnPrior, mix_scores
from leanagent.retrieval.model import DualEncoder, RetrieverOptions

#: The premise index lives in this subfolder of a retriever checkpoint.
INDEX_DIR = "index"

#: With the prior on, the dense search proposes this many times k candidates before mixing.
PRIOR_CANDIDATES = 10


class DenseRetriever:
    def __init__(self, model: DualEncoder, corpus: Sequence[PremiseItem], index: PremiseIndex,
                 access: Accessibility | None = None, prior: KnnPrior | None = None, prior_weight: float = 0.0):
        self.model = model
        self.ids = np.array([p.id for p in corpus], dtype=np.int64)  # (N,) row -> premise id
        self.row_of = {int(pid): r for r, pid in enumerate(self.ids)}
        # Index rows may come from a saved index; map them to corpus rows by premise id.
        self._index_to_row = np.array([self.row_of.get(int(i), -1) for i in index.ids], dtype=np.int64)
        self.index = index
        self.access = access or Accessibility(corpus)
        self.prior = prior
        self.prior_weight = prior_weight
        self._premise_emb: np.ndarray | None = None

    def _allow(self, queries: Sequence[Query]):
        def allow(qi: int, index_rows: np.ndarray):
            q = queries[qi]
            return self.access.allowed(q.file_path, q.theorem_start, self._index_to_row[index_rows])
        return allow

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        q = self.model.embed_states([x.state for x in queries])  # (Q, d)
        use_prior = self.prior is not None and self.prior_weight != 0.0
        want = k * PRIOR_CANDIDATES if use_prior else k
        scores, rows = self.index.search(q, want, self._allow(queries))  # (Q, want) each
        if not use_prior:
            return [[Hit(int(self.index.ids[r]), float(s)) for s, r in zip(sr, rr) if r >= 0]
                    for sr, rr in zip(scores, rows)]
        votes = self.prior.votes(q, [x.target for x in queries])
        emb = self.premise_embeddings()  # (N, d)
        out = []
        for qi, query in enumerate(queries):
            dense = {int(self._index_to_row[r]): float(s) for s, r in zip(scores[qi], rows[qi]) if r >= 0}
            extra = np.array([r for r in votes[qi] if r not in dense], dtype=np.int64)
            if len(extra):
                ok = self.access.allowed(query.file_path, query.theorem_start, extra)
                extra = extra if ok is None else extra[ok]
                for r, s in zip(extra, emb[extra] @ q[qi]):  # (E,) dense scores of the prior's proposals
                    dense[int(r)] = float(s)
            mixed = mix_scores(dense, votes[qi], self.prior_weight)
            best = sorted(mixed.items(), key=lambda kv: -kv[1])[:k]
            out.append([Hit(int(self.ids[r]), s) for r, s in best])
        return out

    def premise_embeddings(self) -> np.ndarray:
        """(N, d) premise embeddings in corpus row order (computed once, for the prior's proposals)."""
        if self._premise_emb is None:
            try:  # the index already holds them (flat and HNSW indexes can give their vectors back)
                stored = self.index.index.reconstruct_n(0, self.index.size)  # (N, d) in index row order
            except RuntimeError:
                stored = None
            if stored is not None and (self._index_to_row >= 0).all() and self.index.size == len(self.ids):
                emb = np.empty_like(stored)
                emb[self._index_to_row] = stored
                self._premise_emb = emb
            else:
                self._premise_emb = self.model.embed_premises(self.model.texts)
        return self._premise_emb


def open_dense(folder: Path, corpus: Sequence[PremiseItem], graph: ImportGraph | None = None,
               index_options: IndexOptions | None = None, model: DualEncoder | None = None,
               device=None, reuse: Path | None = None) -> DenseRetriever:
    """A ready retriever from a checkpoint folder; the index is rebuilt only if model or premises changed
    (`reuse`: another checkpoint whose index is copied when it holds the same weights and premises).

    The encoder runs on `device` (the device policy, `leanagent.device`): a `model` passed in (one being
    trained) is moved there as it is, one loaded here is also cast for inference (bf16 on a bf16 GPU),
    after its weights' digest is taken, so the index's stamp does not depend on the precision.
    """
    from leanagent.device import placement

    where = placement(device)
    access = Accessibility(corpus, graph)
    if model is None:
        model = DualEncoder.create(corpus, RetrieverOptions(), access, from_folder=folder)
        digest = model.digest()
        where.put(model, inference=True)
    else:
        digest = where.put(model).digest()
    index, _ = load_or_build(Path(folder) / INDEX_DIR, digest, [p.id for p in corpus],
                             [p.text for p in corpus], model.embed_premises, index_options,
                             model_name=model.options.encoder, reuse=Path(reuse) / INDEX_DIR if reuse else None)
    return DenseRetriever(model, corpus, index, access)
