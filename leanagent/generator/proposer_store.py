"""Proposer data built once by the driver into a folder, opened read-only by every proving worker.

Without it, each Ray proving worker would load every recorded step from the
database as Python objects, embed or read back every state, and build its own
FAISS index and BM25 index: memory grows with the number of workers times the
size of the record. Here the driver writes, once per content digest:

    meta.json            format, digest, counts, the kNN encoder and the dense checkpoint
    steps/               the steps the kNN and frequency proposers may use (sorry and blank
                         tactics already dropped): theorem ids (.npy), tactics and annotated
                         tactics as string tables (one UTF-8 blob + offsets)
    states.faiss         the kNN state index (flat inner product), row i = step i
    premises/            premise ids, full names and texts (string tables), and the
                         accessibility arrays (`Accessibility.save`)
    bm25/                the BM25 score matrix (bm25s) when the retrieval is bm25

A worker memory-maps all of it read-only (`np.load(mmap_mode="r")`,
`faiss.read_index(..., IO_FLAG_MMAP_IFC)`, `bm25s` with `mmap=True`), so the
pages are shared between workers through the page cache and no recorded step
becomes a Python object. `leanagent.generator.build.build_proposer` builds the
same proposers from this folder as from in-memory data, with identical output.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from leanagent.data import ImportGraph, PremiseItem, RecordedStep

#: Bumped when the layout changes: a folder of another format is rebuilt.
SHARED_FORMAT = 1
META_FILE = "meta.json"
STATES_FILE = "states.faiss"


class StringTable(Sequence):
    """N strings (or None) as one UTF-8 byte blob plus N+1 offsets: no Python object per string."""

    def __init__(self, offsets: np.ndarray, blob: np.ndarray, none: np.ndarray | None = None):
        self.offsets, self.blob, self.none = offsets, blob, none  # (N+1,) int64, (B,) uint8, (N,) bool

    @classmethod
    def of(cls, strings: Iterable[str | None]) -> "StringTable":
        parts, offsets, none = [], [0], []
        for s in strings:
            b = (s or "").encode()
            parts.append(b)
            offsets.append(offsets[-1] + len(b))
            none.append(s is None)
        blob = np.frombuffer(b"".join(parts), dtype=np.uint8)
        return cls(np.asarray(offsets, dtype=np.int64), blob, np.asarray(none, dtype=bool) if any(none) else None)

    def save(self, folder: Path, name: str) -> None:
        np.save(folder / f"{name}.offsets.npy", self.offsets)
        np.save(folder / f"{name}.blob.npy", self.blob)
        if self.none is not None:
            np.save(folder / f"{name}.none.npy", self.none)

    @classmethod
    def load(cls, folder: Path, name: str, mmap: bool = True) -> "StringTable":
        mode = "r" if mmap else None
        none = folder / f"{name}.none.npy"
        return cls(np.load(folder / f"{name}.offsets.npy", mmap_mode=mode),
                   np.load(folder / f"{name}.blob.npy", mmap_mode=mode),
                   np.load(none, mmap_mode=mode) if none.is_file() else None)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):  # one string, decoded on demand
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if self.none is not None and self.none[i]:
            return None
        return bytes(self.blob[self.offsets[i]:self.offsets[i + 1]]).decode()


@dataclass
class StepTable:
    """The proposers' view of recorded steps, column-wise (theorem id -1: unknown)."""

    theorem_ids: np.ndarray       # (M,) int64
    tactics: Sequence[str]
    annotated: Sequence[str | None]

    @classmethod
    def of(cls, steps: Sequence[RecordedStep]) -> "StepTable":
        return cls(np.array([-1 if s.theorem_id is None else s.theorem_id for s in steps], dtype=np.int64),
                   [s.tactic for s in steps], [s.annotated for s in steps])

    def __len__(self) -> int:
        return len(self.theorem_ids)

    def theorem(self, j: int) -> int | None:
        t = int(self.theorem_ids[j])
        return None if t < 0 else t

    def records(self) -> Iterator[RecordedStep]:
        """Transient RecordedSteps (no state text) for the frequency proposer's counts."""
        for j in range(len(self)):
            yield RecordedStep(j, self.theorem(j), "", self.tactics[j], self.annotated[j])

    def spare(self) -> int:
        """The most steps any one theorem has (`leanagent.retrieval.knn.spare_for`), vectorised."""
        known = self.theorem_ids[self.theorem_ids >= 0]
        return int(np.unique(known, return_counts=True)[1].max()) if len(known) else 0

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "theorem_ids.npy", np.asarray(self.theorem_ids, dtype=np.int64))
        StringTable.of(self.tactics).save(folder, "tactic")
        StringTable.of(self.annotated).save(folder, "annotated")

    @classmethod
    def load(cls, folder: Path) -> "StepTable":
        return cls(np.load(folder / "theorem_ids.npy", mmap_mode="r"), StringTable.load(folder, "tactic"),
                   StringTable.load(folder, "annotated"))


class PremiseTable(Mapping):
    """{premise id: (full name, text)} over string tables; ids sorted (the corpus is ordered by id)."""

    def __init__(self, ids: np.ndarray, names: StringTable, texts: StringTable, only_names: bool = False):
        self.ids, self.names, self.texts, self.only_names = ids, names, texts, only_names

    def _row(self, pid) -> int:
        r = int(np.searchsorted(self.ids, pid))
        if r >= len(self.ids) or self.ids[r] != pid:
            raise KeyError(pid)
        return r

    def __getitem__(self, pid):
        r = self._row(pid)
        return self.names[r] if self.only_names else (self.names[r], self.texts[r])

    def __contains__(self, pid) -> bool:
        try:
            self._row(pid)
        except (KeyError, TypeError):
            return False
        return True

    def __iter__(self):
        return (int(i) for i in self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def full_names(self) -> "PremiseTable":
        """{premise id: full name}, the kNN template filler's view."""
        return PremiseTable(self.ids, self.names, self.texts, only_names=True)


def data_digest(proposer: str, encoder: str | None, retrieval: str, dense_folder: str | None,
                steps: Sequence[RecordedStep], corpus: Sequence[PremiseItem], graph: ImportGraph | None) -> str:
    """Fingerprint of everything a shared folder holds (pure)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([SHARED_FORMAT, proposer, encoder, retrieval, dense_folder]).encode())
    for s in steps:
        h.update(f"{s.step_id}\x00{s.theorem_id}\x00{s.state}\x00{s.tactic}\x00{s.annotated}\x01".encode())
    h.update(b"\x02")
    for p in corpus:
        h.update(f"{p.id}\x00{p.full_name}\x00{p.path}\x00{p.text}\x00{p.start}\x01".encode())
    h.update(json.dumps(graph.imports if graph else {}, sort_keys=True).encode())
    return h.hexdigest()


def write_shared(root: Path, digest: str, *, steps: Sequence[RecordedStep], state_embeddings,
                 corpus: Sequence[PremiseItem], graph: ImportGraph | None, bm25: bool, meta: dict) -> Path:
    """Write a shared folder `root/digest` (atomically: a temporary sibling renamed) unless it exists.

    `steps`: the usable steps (`leanagent.text.usable_tactic`); `state_embeddings`: (len(steps), d) float32 unit rows, or
    None when no kNN is needed.
    """
    import faiss

    from leanagent.retrieval.access import Accessibility
    from leanagent.retrieval.bm25 import Bm25Retriever

    folder = Path(root) / digest
    if (folder / META_FILE).is_file():
        return folder
    tmp = folder.with_name(f".tmp-{digest}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        table = StepTable.of(steps)
        table.save(tmp / "steps")
        if state_embeddings is not None:
            emb = np.ascontiguousarray(state_embeddings, dtype="float32")  # (M, d)
            index = faiss.IndexFlatIP(emb.shape[1] if emb.ndim == 2 and emb.shape[0] else 1)
            if len(emb):
                index.add(emb)
            faiss.write_index(index, str(tmp / STATES_FILE))
        prem = tmp / "premises"
        prem.mkdir()
        np.save(prem / "ids.npy", np.array([p.id for p in corpus], dtype=np.int64))
        StringTable.of(p.full_name for p in corpus).save(prem, "name")
        StringTable.of(p.text for p in corpus).save(prem, "text")
        access = Accessibility(corpus, graph)
        access.save(prem / "access")
        if bm25 and corpus:
            Bm25Retriever(corpus, access).save(tmp / "bm25")
        info = {**meta, "format": SHARED_FORMAT, "digest": digest, "steps": len(steps), "premises": len(corpus),
                "spare": table.spare() if steps else 0}
        (tmp / META_FILE).write_text(json.dumps(info, indent=2, sort_keys=True))
        try:
            os.replace(tmp, folder)
        except OSError:  # another driver finished the same folder first
            if not (folder / META_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


class SharedData:
    """An opened shared folder: everything memory-mapped, read-only."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / META_FILE).read_text())
        self.steps = StepTable.load(self.folder / "steps")
        prem = self.folder / "premises"
        self.premise_ids = np.load(prem / "ids.npy", mmap_mode="r")
        self.premises = PremiseTable(self.premise_ids, StringTable.load(prem, "name"), StringTable.load(prem, "text"))
        self._access = None

    @property
    def spare(self) -> int:
        return int(self.meta["spare"])

    def state_index(self):
        """The kNN state index, memory-mapped (faiss IO_FLAG_MMAP_IFC: the vectors stay in the file)."""
        import faiss

        return faiss.read_index(str(self.folder / STATES_FILE), faiss.IO_FLAG_MMAP_IFC)

    def access(self):
        from leanagent.retrieval.access import Accessibility

        if self._access is None:
            self._access = Accessibility.load(self.folder / "premises" / "access")
        return self._access

    def corpus(self) -> list[PremiseItem]:
        """The premise corpus as objects again (only the dense retriever needs them)."""
        acc = self.access()
        out = []
        for r, pid in enumerate(self.premise_ids):
            pos = int(acc.row_pos[r])  # 0: unknown (lines start at 1)
            out.append(PremiseItem(int(pid), self.premises.names[r], acc.file_names[int(acc.row_file[r])],
                                   self.premises.texts[r], (pos >> 20, pos & ((1 << 20) - 1)) if pos else None))
        return out

    def retriever(self, kind: str, device=None):
        """(Retriever, {premise id: (full name, text)}) as `leanagent.retrieval.build.make_retriever` gives."""
        from leanagent.retrieval.build import make_retriever

        if kind == "none" or len(self.premise_ids) == 0:
            return make_retriever(kind, [], None)
        if kind == "bm25":
            from leanagent.retrieval.bm25 import Bm25Retriever

            return Bm25Retriever.load(self.folder / "bm25", self.access()), self.premises
        retriever, _ = make_retriever(kind, self.corpus(), self.access().graph, self.meta.get("dense_folder"),
                                      device=device)
        return retriever, self.premises
