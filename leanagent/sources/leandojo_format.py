"""Reading a LeanDojo-format traced dataset into a `RepoRecord`.

A dataset directory holds `metadata.json`, any subset of
`{random,novel_premises}/{train,val,test}.json` and an optional
`corpus.jsonl`. Both split folders hold the same theorems partitioned two ways,
so `random/` is read when present and `novel_premises/` otherwise. Without a
corpus, premises come from the `annotated_tactic` marks.

Every problem raises `DatasetError` naming the file and, where known, the
record index and key.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterable

from leanagent.db.records import (
    FileRecord,
    PremiseRecord,
    RepoRecord,
    StepRecord,
    TheoremRecord,
)
from leanagent.errors import DatasetError, LeanAgentError
from leanagent.lean.proof_text import safe_relpath
from leanagent.text import module_of_path

_COMMIT = re.compile(r"[0-9a-f]{40}")


def commit_id(value: Any, where: str) -> str | None:
    """A commit as a dataset gives it: None, or a full 40-hex id. Anything else (a branch name, an
    option such as `--output=x` that git would obey) is refused: it reaches `git rev-list` later."""
    if value is None:
        return None
    if not isinstance(value, str) or not _COMMIT.fullmatch(value):
        raise DatasetError(f"{where}: `commit` must be a 40-hex commit id, got {str(value)[:60]!r}",
                           fix="write the full commit hash the dataset was traced at")
    return value


def dataset_path(value: str, where: str) -> str:
    """A theorem's `file_path`, relative to its repository (no `..`, not absolute): it is joined to
    the `source:` folder and the checkout, and must never reach outside them."""
    try:
        return safe_relpath(value)
    except LeanAgentError:
        raise DatasetError(f"{where}: unsafe `file_path` {value!r}",
                           fix="file paths must be relative to the repository and must not contain `..`") from None

SPLIT_DIRS = ("random", "novel_premises")
SPLIT_FILES = ("train.json", "val.json", "test.json")
_FIX = "point at a folder made by LeanDojo's benchmark export (metadata.json plus random/*.json)"


def path_selected(path: str, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> bool:
    """Glob filter over file paths. `*` and `**` both cross `/` (fnmatch semantics)."""
    include, exclude = list(include), list(exclude)
    if include and not any(fnmatch.fnmatchcase(path, g) for g in include):
        return False
    return not any(fnmatch.fnmatchcase(path, g) for g in exclude)


def dataset_files(root: Path) -> list[Path]:
    """The split files that will be read, in a fixed order."""
    for d in SPLIT_DIRS:
        found = [root / d / f for f in SPLIT_FILES if (root / d / f).is_file()]
        if found:
            return found
    return []


def check_dataset_dir(root: Path) -> list[Path]:
    if not root.exists():
        raise DatasetError(f"{root}: no such file or directory", fix="check the path")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a directory", fix=_FIX)
    files = dataset_files(root)
    if not (root / "metadata.json").is_file() and not files:
        raise DatasetError(f"{root}: not a LeanDojo dataset (no metadata.json and no random/*.json)", fix=_FIX)
    if not files:
        raise DatasetError(f"{root}: no split files (random/{{train,val,test}}.json or novel_premises/...)",
                           fix=_FIX)
    return files


def _hash_file(h, f: Path) -> None:
    if f.is_file():
        h.update(f.name.encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)


def _load_json(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                           fix="the file may be truncated; export or download it again") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text", fix=_FIX) from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None


def _pos(value: Any, where: str) -> tuple[int, int]:
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return int(value[0]), int(value[1])
    raise DatasetError(f"{where}: expected a [line, column] pair, got {json.dumps(value)[:60]}")


def _premise_from_annotation(p: Any, where: str) -> PremiseRecord:
    if not isinstance(p, dict) or not isinstance(p.get("full_name"), str) or not isinstance(p.get("def_path"), str):
        raise DatasetError(f"{where}: a premise needs string `full_name` and `def_path`")
    start = _pos(p["def_pos"], f"{where}.def_pos") if "def_pos" in p else None
    end = _pos(p["def_end_pos"], f"{where}.def_end_pos") if "def_end_pos" in p else None
    return PremiseRecord(full_name=p["full_name"], path=p["def_path"], start=start, end=end)


def _step(t: Any, where: str) -> StepRecord:
    if not isinstance(t, dict):
        raise DatasetError(f"{where}: a traced tactic must be an object")
    for key in ("tactic", "state_before", "state_after"):
        if not isinstance(t.get(key), str):
            raise DatasetError(f"{where}: `{key}` missing or not a string")
    annotated, premises = None, []
    ann = t.get("annotated_tactic")
    if ann is not None:
        if not (isinstance(ann, list) and len(ann) == 2 and isinstance(ann[0], str) and isinstance(ann[1], list)):
            raise DatasetError(f"{where}.annotated_tactic: expected [text, [premises]]")
        annotated = ann[0]
        premises = [_premise_from_annotation(p, f"{where}.annotated_tactic[1][{i}]") for i, p in enumerate(ann[1])]
    return StepRecord(tactic=t["tactic"], state_before=t["state_before"], state_after=t["state_after"],
                      annotated_tactic=annotated, premises=premises)


def parse_theorem(rec: Any, where: str) -> TheoremRecord:
    if not isinstance(rec, dict):
        raise DatasetError(f"{where}: a theorem record must be an object")
    if not isinstance(rec.get("full_name"), str) or not rec["full_name"]:
        raise DatasetError(f"{where}: record without `full_name`")
    if not isinstance(rec.get("file_path"), str):
        raise DatasetError(f"{where} ({rec['full_name']}): record without `file_path`")
    tactics = rec.get("traced_tactics", [])
    if not isinstance(tactics, list):
        raise DatasetError(f"{where} ({rec['full_name']}): `traced_tactics` must be a list, "
                           f"got {type(tactics).__name__}")
    return TheoremRecord(
        file_path=dataset_path(rec["file_path"], f"{where} ({rec['full_name']})"), full_name=rec["full_name"],
        start=_pos(rec.get("start"), f"{where}.start"), end=_pos(rec.get("end"), f"{where}.end"),
        steps=[_step(t, f"{where}.traced_tactics[{i}]") for i, t in enumerate(tactics)],
        url=rec.get("url") if isinstance(rec.get("url"), str) else None,
        commit=commit_id(rec.get("commit"), f"{where} ({rec['full_name']})"),
    )


def _read_corpus(path: Path) -> tuple[list[FileRecord], list[PremiseRecord]]:
    files, premises = [], []
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{lineno}: invalid JSON: {exc.msg}",
                                   fix="the file may be truncated; export it again") from None
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise DatasetError(f"{path}:{lineno}: a corpus line needs a string `path`")
            imports = entry.get("imports")
            files.append(FileRecord(path=entry["path"], module=module_of_path(entry["path"]),
                                    imports=list(imports) if isinstance(imports, list) else None))
            for i, p in enumerate(entry.get("premises") or []):
                where = f"{path}:{lineno} premises[{i}]"
                if not isinstance(p, dict) or not isinstance(p.get("full_name"), str):
                    raise DatasetError(f"{where}: premise without `full_name`")
                premises.append(PremiseRecord(
                    full_name=p["full_name"], path=entry["path"],
                    start=_pos(p["start"], f"{where}.start") if "start" in p else None,
                    end=_pos(p["end"], f"{where}.end") if "end" in p else None,
                    kind=p.get("kind"), code=p.get("code")))
    return files, premises


def read_dataset(path: str | Path, name: str | None = None, include: Iterable[str] = (),
                 exclude: Iterable[str] = (), *,
                 is_known: Callable[[str, str], bool] | None = None, split: str = "hash") -> RepoRecord:
    """Read a LeanDojo dataset directory.

    `split` is the repository's split policy (`leanagent.db.splits.SPLIT_POLICIES`); each theorem
    also remembers which split file it came from, for the `dataset` policy.

    When `is_known(name, digest)` says the database already holds this exact
    input, the record comes back without theorems and with `parsed=False`.
    """
    from leanagent.db.splits import SPLIT_POLICIES

    if split not in SPLIT_POLICIES:
        raise DatasetError(f"unknown split policy {split!r}", fix=f"use one of {', '.join(SPLIT_POLICIES)}")
    root = Path(path)
    files = check_dataset_dir(root)
    include, exclude = list(include), list(exclude)
    meta: dict = {}
    if (root / "metadata.json").is_file():
        meta = _load_json(root / "metadata.json")
        if not isinstance(meta, dict):
            raise DatasetError(f"{root / 'metadata.json'}: expected a JSON object")
    from_repo = meta.get("from_repo") if isinstance(meta.get("from_repo"), dict) else {}
    url, commit = from_repo.get("url"), commit_id(from_repo.get("commit"), f"{root / 'metadata.json'}: from_repo")
    repo_name = name or (url.rstrip("/").rsplit("/", 1)[-1] if url else root.resolve().name)
    record = RepoRecord(name=repo_name, kind="traced", url=url, path=str(root.resolve()), commit=commit,
                        split_policy=split,
                        lean_version=meta.get("lean_version") if isinstance(meta.get("lean_version"), str) else None,
                        tracer="dataset")
    # The digest covers what this repository keeps (metadata, corpus, the selected records), so
    # an edit elsewhere in a shared dataset leaves the other repositories cut from it unchanged.
    # The split policy joins the digest only when it is not the default, so older digests stay valid.
    h = hashlib.sha256(repr((repo_name, include, exclude) + ((split,) if split != "hash" else ())).encode())
    _hash_file(h, root / "metadata.json")
    _hash_file(h, root / "corpus.jsonl")
    seen: set = set()
    for f in files:
        data = _load_json(f)
        if not isinstance(data, list):
            raise DatasetError(f"{f}: expected a JSON list of theorems, got {type(data).__name__}", fix=_FIX)
        for i, rec in enumerate(data):
            if isinstance(rec, dict) and isinstance(rec.get("file_path"), str) \
                    and not path_selected(rec["file_path"], include, exclude):
                continue
            thm = parse_theorem(rec, f"{f} record {i}")
            if thm.key in seen:  # the same theorem listed twice: keep the first
                continue
            seen.add(thm.key)
            thm.dataset_split = f.stem  # train | val | test
            h.update(repr(rec).encode())
            record.theorems.append(thm)
    record.digest = h.hexdigest()
    if is_known is not None and is_known(repo_name, record.digest):
        record.parsed, record.theorems = False, []
        return record
    if (root / "corpus.jsonl").is_file():
        record.files, record.premises = _read_corpus(root / "corpus.jsonl")
        _attach_statements(record)
    return record


def _attach_statements(record: RepoRecord) -> None:
    """A theorem's statement is its own corpus entry's code, when the corpus has it."""
    code = {(p.full_name, p.path): p.code for p in record.premises if p.code}
    for thm in record.theorems:
        thm.statement = code.get((thm.full_name, thm.file_path))
