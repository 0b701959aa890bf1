"""Per-file results of the REPL tracer kept on disk: re-tracing only what changed, resuming after a kill.

A file's records depend on its own text and on the repository files it imports (their declarations
are its premises and its environment), so a file's key is the hash of its path, its text, the Lean
version and the keys of the repository files it imports, transitively: editing a file re-traces it
and every file that imports it, and nothing else. Each traced file is written as soon as it is done
(one JSON file per key, written whole and then renamed), so a trace killed in the middle starts
again at the first file it had not finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict
from pathlib import Path

from leanagent.db.records import FileRecord, PremiseRecord, StepRecord, TheoremRecord

#: Bump when what a traced file holds changes: older entries are then simply not found.
FORMAT = 1


def file_keys(files: list[tuple[str, str]], imports: dict[str, list[str]], lean_version: str | None) -> dict[str, str]:
    """{path: key} (see the module docstring); `imports` maps a path to the repository paths it imports."""
    keys: dict[str, str] = {}
    texts = dict(files)

    def key(rel: str, seen: tuple = ()) -> str:
        if rel not in keys:
            h = hashlib.sha256(repr((FORMAT, rel, lean_version)).encode())
            h.update(texts[rel].encode())
            for dep in sorted(imports.get(rel, [])):
                if dep in texts and dep not in seen:  # Lean has no import cycles; a broken file may claim one
                    h.update(key(dep, seen + (rel,)).encode())
            keys[rel] = h.hexdigest()
        return keys[rel]

    for rel, _ in files:
        key(rel)
    return keys


def _pos(v) -> tuple | None:
    return tuple(v) if v is not None else None


def _premise(d: dict) -> PremiseRecord:
    return PremiseRecord(**{**d, "start": _pos(d.get("start")), "end": _pos(d.get("end"))})


def _theorem(d: dict) -> TheoremRecord:
    steps = [StepRecord(**{**s, "premises": [_premise(p) for p in s["premises"]]}) for s in d["steps"]]
    return TheoremRecord(**{**d, "start": tuple(d["start"]), "end": tuple(d["end"]), "steps": steps})


class TraceCache:
    """Traced files by key, in one folder (per repository)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.hits = 0
        self._lock = threading.Lock()  # workers of a REPL pool load at once

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str):
        """(FileRecord, theorems, corpus) of a file traced before, or None."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # not traced yet, or cut short by a kill before the rename
            return None
        with self._lock:
            self.hits += 1
        return (FileRecord(**data["file"]), [_theorem(t) for t in data["theorems"]],
                [_premise(p) for p in data["corpus"]])

    def store(self, key: str, file: FileRecord, theorems: list[TheoremRecord], corpus: list[PremiseRecord]) -> None:
        if file.error is not None:
            return  # an error row is traced again next time (the REPL may have died, the file may be fixed)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._path(key).with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"file": asdict(file), "theorems": [asdict(t) for t in theorems],
                                   "corpus": [asdict(p) for p in corpus]}, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self._path(key))  # whole or not at all: a kill leaves no half-written entry
