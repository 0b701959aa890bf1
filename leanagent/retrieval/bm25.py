"""BM25 baseline over the same premise texts, behind the `Retriever` interface (bm25s)."""

from __future__ import annotations

from pathlib import Path
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


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k highest finite scores, best first, ties by lower row (pure).

    Exactly `np.argsort(-scores, kind="stable")[:k]` with the -inf rows dropped, without sorting
    all N scores: `argpartition` finds the k-th best value, then only the rows above it and the
    first rows equal to it are sorted.
    """
    n = len(scores)
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if k >= n:
        top = np.argsort(-scores, kind="stable")
    else:
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]  # the k-th best score
        above = np.flatnonzero(scores > kth)
        ties = np.flatnonzero(scores == kth)[:k - len(above)]  # lowest rows first, as a stable sort
        cand = np.concatenate([above, ties])
        top = cand[np.lexsort((cand, -scores[cand]))]  # by score descending, then row
    return top[np.isfinite(scores[top])]


#: Files of a saved BM25 retriever besides bm25s's own: the premise ids of the rows.
IDS_FILE = "ids.npy"


class Bm25Retriever:
    """Okapi BM25 (bm25s, Lucene variant) with the same accessibility filter as the dense retriever."""

    def __init__(self, corpus: Sequence[PremiseItem], access: Accessibility | None = None, *, _model=None,
                 _ids: np.ndarray | None = None):
        import bm25s

        self.ids = np.array([p.id for p in corpus], dtype=np.int64) if _ids is None else _ids  # (N,)
        self.access = access or Accessibility(corpus)
        if _model is None:
            _model = bm25s.BM25()
            _model.index(tokenize([p.text for p in corpus]), show_progress=False)
        self.model = _model
        self.vocab = set(self.model.vocab_dict)

    def save(self, folder: Path) -> None:
        """bm25s's sparse score matrix and vocabulary, and the row ids (not the accessibility)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(str(folder), show_progress=False)
        np.save(folder / IDS_FILE, self.ids)

    @classmethod
    def load(cls, folder: Path, access: Accessibility) -> "Bm25Retriever":
        """A saved retriever, its score matrix memory-mapped read-only (shared by every process)."""
        import bm25s

        model = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        return cls((), access, _model=model, _ids=np.load(folder / IDS_FILE, mmap_mode="r"))

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
            out.append([Hit(int(self.ids[r]), float(scores[r])) for r in top_k(scores, k)])
        return out
