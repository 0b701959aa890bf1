"""Bringing one repos.yaml entry into the database: `sync_entry`.

- `traced`: read the LeanDojo-format dataset, store it.
- `url` + `commit`: clone/fetch into the cache, check the Lean version, trace with lean-dojo, store.
- `path`: trace with lean-dojo when a toolchain is installed (and the folder is a git work tree);
  otherwise scan the sources for `sorry` theorems and store those only, saying so.
- The tracer of a `path` or git entry (`tracer:` in repos.yaml, `--tracer` on the command line over
  every entry): `leandojo`, `repl` (the Lean REPL tracer, `repl_trace`: the same records as a
  LeanDojo trace) or `auto`, the prover backends' version rule (`choose_backend`): LeanDojo where
  it can run the Lean version (up to 4.11), the REPL tracer from v4.8.0-rc1 on otherwise. When the
  REPL cannot run at all (no lean-interact, no REPL build) `auto` falls back to the scanner alone,
  saying why; unbuilt dependencies stop the sync with the fix.

Everything ends in `leanagent.db.ingest.store_repo`. An entry already stored at the same
commit from the same input is skipped before any clone, build or parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from leanagent.config import GitEntry, PathEntry, RepoEntry, ReposConfig, TracedEntry
from leanagent.db.engine import Database
from leanagent.errors import DatasetError, SourceError, ToolchainError

Stage = Callable[[str, str], None]  # (repository name, what is happening now)
#: The stages `sync_entry` reports, in order (a progress bar can count them).
READ, CLONE, TRACE, TRACE_REPL, SCAN, STORE = ("reading dataset", "clone/fetch", "tracing with lean-dojo",
                                               "tracing with the Lean REPL", "scanning for sorry", "storing")
STAGES = (READ, CLONE, TRACE, TRACE_REPL, SCAN, STORE)


@dataclass
class SyncResult:
    name: str
    kind: str
    action: str  # created | updated | unchanged | disabled
    message: str = ""
    ingest: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"repo": self.name, "kind": self.kind, "action": self.action, "message": self.message, **{
            k: v for k, v in self.ingest.items() if k not in ("repo", "action")}}


def cache_dir(config: ReposConfig | None, home: Path) -> Path:
    """Where git entries are cloned: the yaml's `cache:`, else `<home>/repos`."""
    return config.cache if config is not None and config.cache else Path(home) / "repos"


def _is_hash(commit: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{40}", commit))


TRACERS = ("auto", "leandojo", "repl")


def sync_entry(db: Database, entry: RepoEntry, *, cache: Path, stage: Stage | None = None,
               tracer: str | None = None, workers: int = 1) -> SyncResult:
    """Store one entry's data (see the module docstring). `tracer` (auto | leandojo | repl) overrides the
    entry's `tracer:`; None or `auto` keeps it. `workers`: REPL processes tracing files at once.
    Raises LeanAgentError subclasses only."""
    from leanagent.db.ingest import holds, store_repo

    name = entry.repo_name
    say = stage or (lambda n, s: None)
    if not entry.enabled:
        return SyncResult(name, entry.kind, "disabled", "enabled: false in repos.yaml")
    if isinstance(entry, TracedEntry):
        from leanagent.sources.source_text import read_traced

        say(name, READ)
        record = read_traced(entry.traced, name=name, include=entry.include, exclude=entry.exclude,
                             is_known=holds(db), split=entry.split, source=entry.source)
        if record.parsed and not record.theorems and (entry.include or entry.exclude):
            raise DatasetError(f"{name}: no theorem of {entry.traced} matches the include/exclude globs",
                               fix="check the globs against the records' file_path, e.g. 'Mathlib/Data/**'")
        say(name, STORE)
        result = store_repo(db, record)
        return SyncResult(name, "traced", result.action, ingest=result.as_dict())
    if tracer is not None and tracer not in TRACERS:
        from leanagent.errors import ConfigError

        raise ConfigError(f"--tracer {tracer}: not a tracer", fix="give --tracer auto, leandojo or repl")
    if tracer not in (None, "auto") and isinstance(entry, (GitEntry, PathEntry)):
        entry = entry.model_copy(update={"tracer": tracer})
    if isinstance(entry, GitEntry):
        return _sync_git(db, entry, cache, say, workers)
    if isinstance(entry, PathEntry):
        return _sync_path(db, entry, say, cache, workers)
    raise SourceError(f"{name}: unknown entry kind {type(entry).__name__}")  # pragma: no cover


def _sync_git(db: Database, entry: GitEntry, cache: Path, say: Stage, workers: int = 1) -> SyncResult:
    from leanagent.db.ingest import holds, store_repo
    from leanagent.sources.git import checkout
    from leanagent.lean.leandojo import check_supported, find_toolchain
    from leanagent.sources.tracing import trace_digest, trace_repo

    name, known = entry.repo_name, holds(db)
    if _is_hash(entry.commit) and known(name, trace_digest(entry.url, entry.commit, entry.include, entry.exclude)):
        return SyncResult(name, "git", "unchanged", f"already traced at {entry.commit[:12]}")
    find_toolchain()  # before any network or disk work: without Lean nothing below can finish
    say(name, CLONE)
    co = checkout(entry.url, entry.commit, cache)
    if known(name, trace_digest(entry.url, co.commit, entry.include, entry.exclude)):
        return SyncResult(name, "git", "unchanged", f"already traced at {co.commit[:12]}")
    if _use_repl(entry.tracer, co.lean_version):
        say(name, TRACE_REPL)
        record, message = _repl_or_scan(co.path, name, entry, url=entry.url, commit=co.commit,
                                        lean_version=co.lean_version, kind="git", cache=cache, workers=workers)
        if record is None:
            return SyncResult(name, "git", "unchanged", message)
        say(name, STORE)
        result = store_repo(db, record)
        return SyncResult(name, "git", result.action, message, ingest=result.as_dict())
    check_supported(co.lean_version, f"{name} ({entry.url} at {co.commit[:12]})")
    say(name, TRACE)
    record = trace_repo(co.path, co.commit, name, include=entry.include, exclude=entry.exclude, kind="git",
                        url=entry.url, lean_version=co.lean_version)
    say(name, STORE)
    result = store_repo(db, record)
    return SyncResult(name, "git", result.action, ingest=result.as_dict())


def _sync_path(db: Database, entry: PathEntry, say: Stage, cache: Path | None = None,
               workers: int = 1) -> SyncResult:
    from leanagent.db.ingest import holds, store_repo
    from leanagent.lean.versions import lean_version_of, read_toolchain
    from leanagent.sources.git import head_commit
    from leanagent.sources.scan import scan_records
    from leanagent.lean.leandojo import check_supported, find_toolchain
    from leanagent.sources.tracing import trace_digest, trace_repo

    name, root = entry.repo_name, entry.path
    _check_project(name, root)
    version = lean_version_of(read_toolchain(root))
    commit = head_commit(root)
    try:
        find_toolchain()
        toolchain_note = None
    except ToolchainError as exc:
        toolchain_note = f"no Lean toolchain ({exc.fix})"
    if toolchain_note is None and _use_repl(entry.tracer, version):
        say(name, TRACE_REPL)
        record, message = _repl_or_scan(root, name, entry, commit=commit, lean_version=version, known=holds(db),
                                        cache=cache, workers=workers)
        if record is None:
            return SyncResult(name, "path", "unchanged", message)
    elif toolchain_note is None and commit is not None:
        if holds(db)(name, trace_digest(str(root), commit, entry.include, entry.exclude)):
            return SyncResult(name, "path", "unchanged", f"already traced at {commit[:12]}")
        check_supported(version, f"{name} ({root})")
        say(name, TRACE)
        record = trace_repo(root, commit, name, include=entry.include, exclude=entry.exclude, kind="path",
                            url=str(root), lean_version=version)
        message = ""
    else:
        why = toolchain_note or "not a git work tree, and lean-dojo traces commits"
        say(name, SCAN)
        record = scan_records(root, name, entry.include, entry.exclude, commit=commit, lean_version=version)
        message = (f"scan only: stored {len(record.theorems)} sorry theorems without tactic data; {why}")
    say(name, STORE)
    result = store_repo(db, record)
    return SyncResult(name, "path", result.action, message, ingest=result.as_dict())


def _use_repl(tracer: str, version: str | None) -> bool:
    """Trace with the Lean REPL? `repl` always (a version it cannot run fails when it starts), `leandojo`
    never, `auto` where the prover backends' rule picks LeanInteract (see the module docstring)."""
    from leanagent.lean.versions import choose_backend

    if tracer != "auto":
        return tracer == "repl"
    return choose_backend(version).env == "leaninteract"


def _repl_or_scan(root: Path, name: str, entry, *, url: str | None = None, commit: str | None = None,
                  lean_version: str | None = None, kind: str = "path", known=None, cache: Path | None = None,
                  workers: int = 1):
    """(record, message): the REPL trace, or the scanner's sorry theorems when the REPL cannot run (no
    lean-interact, no REPL build) and the entry did not ask for the REPL by name. (None, message) when
    the database already holds this exact input."""
    from leanagent.errors import LeanAgentError
    from leanagent.sources.repl_trace import DependenciesNotBuilt, input_digest, repl_trace
    from leanagent.sources.scan import scan_records

    include, exclude = entry.include, entry.exclude
    if known is not None and known(name, input_digest(root, name, include, exclude, lean_version)):
        return None, f"already traced (same files){f' at {commit[:12]}' if commit else ''}"
    try:
        # Files traced before with the same text and imports are read back (only edits are re-traced, and
        # a killed sync resumes at the file it was on).
        record, n = repl_trace(root, name, include, exclude, url=url, commit=commit, lean_version=lean_version,
                               kind=kind, cache_dir=cache / "repl-trace" / name if cache else None, workers=workers)
    except DependenciesNotBuilt:
        raise
    except LeanAgentError as exc:
        if entry.tracer == "repl":
            raise
        record = scan_records(root, name, include, exclude, url=url, commit=commit, lean_version=lean_version)
        record.kind = kind
        return record, (f"scan only: stored {len(record.theorems)} sorry theorems; Lean {lean_version} is past "
                        f"LeanDojo and the Lean REPL did not run: {exc.one_line()}")
    return record, f"traced with the Lean REPL (Lean {lean_version}): {n.line()}"


def _check_project(name: str, root: Path) -> None:
    if not root.is_dir():
        raise SourceError(f"{name}: {root} is not a folder", fix="check the `path:` of this entry in repos.yaml")
    if not any((root / f).is_file() for f in ("lakefile.lean", "lakefile.toml")):
        raise SourceError(f"{name}: {root} has no lakefile.lean or lakefile.toml",
                          fix="point `path:` at the root of a Lake project")


def preflight(config: ReposConfig) -> None:
    """Fail before anything is created (a database, a run) when an enabled entry cannot be synced:
    a missing dataset or project folder, or git entries without a Lean toolchain to trace them."""
    from leanagent.config import GitEntry, PathEntry, TracedEntry
    from leanagent.settings import SAMPLE_DEFAULT, SAMPLE_ENV
    from leanagent.sources.leandojo_format import check_dataset_dir
    from leanagent.lean.leandojo import find_toolchain

    entries = config.enabled()
    for entry in entries:
        if isinstance(entry, TracedEntry):
            if not Path(entry.traced).exists() and Path(entry.traced).name == Path(SAMPLE_DEFAULT).name:
                raise DatasetError(f"{entry.repo_name}: the shared sample is not at {entry.traced}",
                                   fix=f"set {SAMPLE_ENV} to the folder of mathlib-traced-sample, or put it there")
            check_dataset_dir(Path(entry.traced))
        elif isinstance(entry, PathEntry):
            _check_project(entry.repo_name, Path(entry.path))
    if any(isinstance(e, GitEntry) for e in entries):
        try:
            find_toolchain()
        except ToolchainError as exc:
            raise ToolchainError(f"{exc.message}: the git entries of the repos file must be traced with Lean",
                                 fix=exc.fix) from None


def sync_all(db: Database, config: ReposConfig, *, home: Path, stage: Stage | None = None,
             on_result: Callable[[SyncResult], None] | None = None, tracer: str | None = None,
             workers: int = 1) -> list[SyncResult]:
    """`sync_entry` over every entry in file order (`tracer` overrides every entry's)."""
    cache = cache_dir(config, home)
    results = []
    for entry in config.repos:
        result = sync_entry(db, entry, cache=cache, stage=stage, tracer=tracer, workers=workers)
        results.append(result)
        if on_result:
            on_result(result)
    return results
