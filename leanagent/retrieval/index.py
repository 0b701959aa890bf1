"""The FAISS premise index: exact inner product by default, HNSW or IVF above a size.

Vectors are unit length, so inner product = cosine. The index is saved with
`faiss.write_index` plus `index.json` naming the model digest and the premise
set digest; `load_or_build` rebuilds only when either changed.

Accessibility filtering: FAISS returns the top k' candidates of all premises
in one batched call; rows that a query may not use are dropped, and queries
left with fewer than k hits are searched again with a larger k'. For the exact
index the result equals the exact top-k accessible premises.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from leanagent.errors import ModelError
from leanagent.retrieval.options import IndexOptions  # noqa: F401  (re-exported)

INDEX_FILE = "premises.faiss"
META_FILE = "index.json"

#: allow(query number, candidate rows (k',)) -> bool mask (k',), or None when all are allowed.
AllowFn = Callable[[int, np.ndarray], "np.ndarray | None"]




def premise_digest(ids: Sequence[int], texts: Sequence[str]) -> str:
    """Fingerprint of a premise set (ids and texts, in row order)."""
    h = hashlib.blake2b(digest_size=16)
    for i, t in zip(ids, texts):
        h.update(f"{i}\x00{t}\x01".encode())
    return h.hexdigest()


#: Database block of FAISS's BLAS scan for exact search. The library default (1024 rows) makes
#: many small matrix products; 16384 rows measured ~3.5x faster for 1,000 queries x 200,000 premises
#: on a 2-core CPU (bench/bench_index_speed.py) while the score block stays small (Q x 16384 floats).
BLAS_DATABASE_BLOCK = 16384


def _faiss():
    import faiss

    if faiss.cvar.distance_compute_blas_database_bs < BLAS_DATABASE_BLOCK:
        faiss.cvar.distance_compute_blas_database_bs = BLAS_DATABASE_BLOCK
    return faiss


class PremiseIndex:
    """Row i of the index is premise `ids[i]`."""

    def __init__(self, index, ids: np.ndarray, meta: dict | None = None):
        self.index = index
        self.ids = np.asarray(ids, dtype=np.int64)  # (N,)
        self.meta = meta or {}

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def build(cls, embeddings: np.ndarray, ids: Sequence[int], options: IndexOptions | None = None,
              meta: dict | None = None) -> "PremiseIndex":
        faiss = _faiss()
        options = options or IndexOptions()
        emb = np.ascontiguousarray(embeddings, dtype="float32")  # (N, d), unit rows
        n, d = emb.shape
        if n <= options.approx_above:
            index, kind = faiss.IndexFlatIP(d), "flat"
        elif options.approx_kind == "hnsw":
            index, kind = faiss.IndexHNSWFlat(d, options.hnsw_m, faiss.METRIC_INNER_PRODUCT), "hnsw"
            index.hnsw.efSearch = options.hnsw_ef_search
        elif options.approx_kind == "ivf":
            nlist = max(1, int(4 * np.sqrt(n)))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(emb)
            index.nprobe = options.ivf_nprobe
            kind = "ivf"
        else:
            from leanagent.errors import ConfigError

            raise ConfigError(f"unknown approximate index kind {options.approx_kind!r}", fix="use hnsw or ivf")
        index.add(emb)
        meta = {**(meta or {}), "kind": kind, "size": n, "dim": d, "options": asdict(options)}
        return cls(index, np.asarray(ids), meta)

    def _raw_search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        faiss = _faiss()
        if isinstance(self.index, faiss.IndexHNSWFlat):
            self.index.hnsw.efSearch = max(self.index.hnsw.efSearch, k)
        return self.index.search(q, k)  # (Q, k) scores, (Q, k) rows; -1 rows when fewer exist

    def search(self, queries: np.ndarray, k: int, allow: AllowFn | None = None,
               oversample: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k accessible rows per query: (scores (Q, k), rows (Q, k)), -1 / -inf padding."""
        q = np.ascontiguousarray(queries, dtype="float32")  # (Q, d)
        n_q, n = len(q), self.size
        scores = np.full((n_q, k), -np.inf, dtype="float32")
        rows = np.full((n_q, k), -1, dtype=np.int64)
        if n == 0 or n_q == 0 or k <= 0:
            return scores, rows
        factor = oversample or self.meta.get("options", {}).get("oversample", 4)
        want = min(n, k if allow is None else k * factor)
        pending = np.arange(n_q)
        while len(pending):
            d, r = self._raw_search(q[pending], want)  # (P, want)
            again = []
            for j, qi in enumerate(pending):
                keep = r[j] >= 0
                cand, cs = r[j][keep], d[j][keep]
                if allow is not None:
                    mask = allow(int(qi), cand)
                    if mask is not None:
                        cand, cs = cand[mask], cs[mask]
                if len(cand) < k and want < n:
                    again.append(qi)  # not enough accessible candidates yet: widen the search
                    continue
                m = min(k, len(cand))
                rows[qi, :m], scores[qi, :m] = cand[:m], cs[:m]
            pending = np.array(again, dtype=np.int64)
            want = min(n, want * 4)
        return scores, rows

    def premise_ids(self, rows: np.ndarray) -> np.ndarray:
        """Map rows (any shape, -1 padding kept) to premise ids."""
        out = np.where(rows >= 0, self.ids[np.clip(rows, 0, None)], -1)
        return out

    def save(self, folder: Path) -> None:
        faiss = _faiss()
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / INDEX_FILE))
        (folder / META_FILE).write_text(json.dumps({**self.meta, "ids": self.ids.tolist()}, sort_keys=True))

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> "PremiseIndex":
        """A saved index; with `mmap`, the vectors of a flat (or HNSW) index stay in the file, memory-mapped
        (faiss IO_FLAG_MMAP_IFC): processes opening the same folder share them. Such an index is for
        searching only."""
        faiss = _faiss()
        meta_path, index_path = folder / META_FILE, folder / INDEX_FILE
        if not meta_path.is_file() or not index_path.is_file():
            raise ModelError(f"no premise index in {folder}", fix="train the retriever or rebuild the index")
        meta = json.loads(meta_path.read_text())
        ids = np.asarray(meta.pop("ids"), dtype=np.int64)
        return cls(faiss.read_index(str(index_path), faiss.IO_FLAG_MMAP_IFC if mmap else 0), ids, meta)


def stored_meta(folder: Path) -> dict | None:
    path = folder / META_FILE
    if not path.is_file():
        return None
    meta = json.loads(path.read_text())
    meta.pop("ids", None)
    return meta


def load_or_build(folder: Path, model_digest: str, ids: Sequence[int], texts: Sequence[str],
                  embed: Callable[[Sequence[str]], np.ndarray], options: IndexOptions | None = None,
                  model_name: str | None = None, reuse: Path | None = None) -> tuple[PremiseIndex, bool]:
    """The saved index when it holds this model and premise set, else a new one (saved). (index, rebuilt).

    `reuse`: another index folder (the previous checkpoint's) that may hold the same model and premises: a
    stage that trained on nothing (an evaluation-only repository) keeps its weights, and copying their index
    saves embedding the whole corpus again."""
    import shutil

    digest = premise_digest(ids, texts)

    def holds(where: Path | None) -> bool:
        meta = stored_meta(where) if where is not None else None
        return bool(meta) and meta.get("model_digest") == model_digest and meta.get("premise_digest") == digest

    if not holds(folder) and holds(reuse) and Path(reuse) != Path(folder):
        folder.mkdir(parents=True, exist_ok=True)
        for name in (INDEX_FILE, META_FILE):
            shutil.copyfile(Path(reuse) / name, folder / name)
    if holds(folder):
        return PremiseIndex.load(folder, mmap=True), False  # searched only: shared pages
    emb = embed(texts)  # (N, d)
    index = PremiseIndex.build(emb, ids, options, meta={"model": model_name, "model_digest": model_digest,
                                                       "premise_digest": digest})
    index.save(folder)
    return index, True
