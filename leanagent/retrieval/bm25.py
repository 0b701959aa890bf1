"""BM25 baseline over the same premise texts, behind the `Retriever` interface (bm25s)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from leanagent.data import PremiseItem
from leanagent.retrieval.access import Accessibility
from leanagent.retrieval.base import Hit, Query

#: Words of two or more letters/digits/underscores: `Nat.add_comm` -> `nat`, `add_comm`.
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(list(texts), lower=True, token_pattern=TOKEN_PATTERN, stopwords=None,
                          return_ids=False, show_progress=False)


class Bm25Retriever:
    """Okapi BM25 (bm25s, Lucene variant) with the same accessibility filter as the dense retriever."""

    def __init__(self, corpus: Sequence[PremiseItem], access: Accessibility | None = None):
        import bm25s

        self.ids = np.array([p.id for p in corpus], dtype=np.int64)  # (N,)
        self.access = access or Accessibility(corpus)
        self.model = bm25s.BM25()
        self.model.index(tokenize([p.text for p in corpus]), show_progress=False)
        self.vocab = set(self.model.vocab_dict)

    def _scores(self, tokens: list[str]) -> np.ndarray:
        known = [t for t in tokens if t in self.vocab]
        if not known:
            return np.zeros(len(self.ids), dtype="float32")
        return np.asarray(self.model.get_scores(known), dtype="float32")  # (N,)

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        out = []
        for q, tokens in zip(queries, tokenize([q.state for q in queries])):
            scores = self._scores(tokens)  # (N,)
            mask = self.access.mask(q.file_path, q.theorem_start)
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            top = np.argsort(-scores, kind="stable")[:k]
            out.append([Hit(int(self.ids[r]), float(scores[r])) for r in top if np.isfinite(scores[r])])
        return out
