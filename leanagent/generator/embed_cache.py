"""kNN state embeddings cached per text, so adding a repository embeds only its own states.

The kNN proposer (and the shared proposer folder that workers open) needs one
embedding per recorded state. Keyed by the whole list of texts, a cache is
useless as soon as one repository is added: at 50 repositories every stage or
nightly run would re-embed everything seen so far. Here each text is keyed by
its own digest (blake2b-128 of the encoder's name and the text). A call embeds
only the texts no chunk holds yet, each distinct text once, and writes them as
one new chunk:

    <cache_dir>/<encoder digest>/chunk-<digest of its keys>.npz   keys (K, 16) uint8, emb (K, d) float32

Chunks are written atomically (temporary file + rename) and named by their
content, so workers that race write the same file or harmless overlapping
ones; a chunk that cannot be read, or whose width differs, is ignored (its
texts are embedded again). Nothing is ever rewritten, so the cost of a call is
reading the chunks plus embedding what is new.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

log = logging.getLogger("leanagent.generator")

KEY_BYTES = 16


def text_keys(name: str, texts: Sequence[str]) -> np.ndarray:
    """(N, 16) uint8: the digest of (encoder name, text) of each text (pure)."""
    salt = name.encode()[:16]  # blake2b's salt is at most 16 bytes; the folder separates longer names
    out = np.empty((len(texts), KEY_BYTES), dtype=np.uint8)
    for i, t in enumerate(texts):
        out[i] = np.frombuffer(hashlib.blake2b(t.encode(), digest_size=KEY_BYTES, salt=salt).digest(), np.uint8)
    return out


def store_folder(cache_dir: Path, name: str) -> Path:
    return Path(cache_dir) / hashlib.blake2b(name.encode(), digest_size=8).hexdigest()


def _load_chunks(folder: Path) -> tuple[dict[bytes, int], np.ndarray | None]:
    """({key: row}, (R, d) rows) over every readable chunk of one width (the first found)."""
    index: dict[bytes, int] = {}
    parts: list[np.ndarray] = []
    width, rows = None, 0
    for path in sorted(folder.glob("chunk-*.npz")):
        try:
            with np.load(path) as z:
                keys, emb = z["keys"], z["emb"]
        except Exception as exc:  # noqa: BLE001 - a broken chunk only costs its re-embedding
            log.warning("ignoring unreadable embedding chunk %s: %s", path, exc)
            continue
        if emb.ndim != 2 or keys.shape != (emb.shape[0], KEY_BYTES) or (width is not None and emb.shape[1] != width):
            log.warning("ignoring embedding chunk %s of another shape", path)
            continue
        width = emb.shape[1]
        for j, k in enumerate(keys):
            index.setdefault(k.tobytes(), rows + j)
        parts.append(emb)
        rows += emb.shape[0]
    return index, (np.concatenate(parts) if parts else None)


def cached_embed(embed: Callable[[list[str]], np.ndarray], name: str, texts: Sequence[str],
                 cache_dir: Path | None) -> np.ndarray:
    """(N, d) float32 `embed(texts)`, through the per-text cache in `cache_dir` (None: no cache).

    `name` identifies the encoder and its settings (e.g. `minilm:256`): another name is another store.
    """
    texts = list(texts)
    if cache_dir is None:
        return np.asarray(embed(texts), dtype="float32")
    folder = store_folder(cache_dir, name)
    keys = text_keys(name, texts)  # (N, 16)
    index, stored = _load_chunks(folder) if folder.is_dir() else ({}, None)
    wanted = [k.tobytes() for k in keys]
    missing: dict[bytes, int] = {}  # key -> position of its first text: each distinct text embedded once
    for i, k in enumerate(wanted):
        if k not in index and k not in missing:
            missing[k] = i
    if missing:
        new = np.asarray(embed([texts[i] for i in missing.values()]), dtype="float32")  # (M, d)
        if stored is not None and new.shape[1] != stored.shape[1]:
            # The stored rows are of another width (the encoder changed under the same name): start over
            # with every distinct text of this call, so no output mixes the two.
            index, stored, missing = {}, None, {}
            for i, k in enumerate(wanted):
                missing.setdefault(k, i)
            new = np.asarray(embed([texts[i] for i in missing.values()]), dtype="float32")
        base = 0 if stored is None else stored.shape[0]
        for j, k in enumerate(missing):
            index[k] = base + j
        stored = new if stored is None else np.concatenate([stored, new])
        _write_chunk(folder, keys[list(missing.values())], new)
    rows = np.fromiter((index[k] for k in wanted), dtype=np.int64, count=len(wanted))
    return stored[rows] if len(rows) else np.zeros((0, 0 if stored is None else stored.shape[1]), "float32")


def _write_chunk(folder: Path, keys: np.ndarray, emb: np.ndarray) -> None:
    digest = hashlib.blake2b(keys.tobytes(), digest_size=12).hexdigest()
    path = folder / f"chunk-{digest}.npz"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{path.name}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=keys, emb=emb)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home only costs speed
        log.warning("cannot cache kNN embeddings in %s: %s", folder, exc)
