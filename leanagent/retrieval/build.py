"""Building the premise retriever that the generator and the kNN templates use, from plain data."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from leanagent.data import ImportGraph, PremiseItem
from leanagent.errors import ConfigError, ModelError

RETRIEVALS = ("bm25", "dense", "none")


def make_retriever(kind: str, corpus: Sequence[PremiseItem], graph: ImportGraph | None = None,
                   dense_folder: str | Path | None = None, device=None):
    """(Retriever, {premise id: (full name, text)}) for `bm25` or `dense`; (None, {}) for `none`.

    Both filter by accessibility from the query's theorem (its file and position),
    exactly as the retrieval evaluation does.
    """
    if kind not in RETRIEVALS:
        raise ConfigError(f"unknown retrieval {kind!r}", fix=f"use one of {', '.join(RETRIEVALS)}")
    if kind == "none" or not corpus:
        return None, {}
    texts = {p.id: (p.full_name, p.text) for p in corpus}
    if kind == "dense":
        if dense_folder is None:
            raise ModelError("no trained retriever for --retrieval dense",
                             fix="run `leanagent train retriever`, or use --retrieval bm25")
        from leanagent.retrieval.dense import open_dense

        return open_dense(Path(dense_folder), corpus, graph, device=device), texts
    from leanagent.retrieval.access import Accessibility
    from leanagent.retrieval.bm25 import Bm25Retriever

    return Bm25Retriever(corpus, Accessibility(corpus, graph)), texts
