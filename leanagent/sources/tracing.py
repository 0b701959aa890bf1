"""Tracing a Lean project with lean-dojo and turning the result into a `RepoRecord`.

`convert_traced_repo` is the one place that reads lean-dojo's traced objects
(TracedRepo / TracedFile / TracedTheorem / TracedTactic). It keeps what
LeanDojo's own benchmark export keeps: the project's own theorems (not those
of its dependencies), and tactics whose state before is not "no goals" and
that are not a bare focusing dot. Each theorem's source is also run through
the sorry scanner, so term-mode `sorry` (which leaves no tactic behind) is
flagged too, and `def`/`instance`/`example` declarations with `sorry`, which
LeanDojo does not record as theorems, are added from the scanner.

lean-dojo is imported only when tracing: its import configures logging,
checks git and builds a GitHub client.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable

from leanagent.db.records import FileRecord, PremiseRecord, RepoRecord, StepRecord, TheoremRecord
from leanagent.text import module_of_path
from leanagent.lean.leandojo import run_trace
from leanagent.sources.leandojo_format import path_selected
from leanagent.sources.scan import scan_text, sorry_theorem

_PACKAGE_DIRS = (".lake/packages/", "lake-packages/")


# ---------------------------------------------------------------------------------------------
# lean-dojo objects -> records


def _is_dependency(path: str) -> bool:
    return path.startswith(_PACKAGE_DIRS)


def _file_text(lean_file: Any) -> str:
    text = "\n".join(lean_file.code)
    return text + "\n" if lean_file.endwith_newline else text


def convert_tactic(tac: Any) -> StepRecord:
    """One lean_dojo TracedTactic as a StepRecord with its annotated premises."""
    annotated, provenances = tac.get_annotated_tactic()
    premises = [PremiseRecord(full_name=p["full_name"], path=str(p["def_path"]),
                              start=tuple(p["def_pos"]) if p.get("def_pos") else None,
                              end=tuple(p["def_end_pos"]) if p.get("def_end_pos") else None)
                for p in provenances]
    return StepRecord(tactic=tac.tactic, state_before=tac.state_before, state_after=tac.state_after,
                      annotated_tactic=annotated, premises=premises)


def convert_theorem(thm: Any, url: str | None = None, commit: str | None = None) -> TheoremRecord:
    """One lean_dojo TracedTheorem as a TheoremRecord."""
    # The same filter as LeanDojo's benchmark export: a tactic run on no goals, or the
    # focusing dot `·`, teaches nothing.
    tactics = [t for t in thm.get_traced_tactics() if t.state_before != "no goals" and "·" not in t.tactic]
    start, end = tuple(thm.start), tuple(thm.end)
    source = thm.traced_file.lean_file[thm.start:thm.end]
    scanned = scan_text(source)
    try:
        statement = thm.get_theorem_statement()
    except (AssertionError, AttributeError, IndexError):  # unusual ASTs; the statement is optional
        statement = None
    record = TheoremRecord(file_path=str(thm.theorem.file_path), full_name=thm.theorem.full_name, start=start,
                           end=end, steps=[convert_tactic(t) for t in tactics], url=url, commit=commit,
                           statement=statement)
    if scanned:
        record.has_sorry, record.sorry_mode, record.proof_text = True, scanned[0].mode, scanned[0].proof_text
    return record


def convert_traced_repo(traced_repo: Any, name: str, *, include: Iterable[str] = (), exclude: Iterable[str] = (),
                        kind: str = "git", url: str | None = None, commit: str | None = None,
                        path: str | None = None, lean_version: str | None = None) -> RepoRecord:
    """A lean_dojo TracedRepo as a RepoRecord for `store_repo`."""
    include, exclude = list(include), list(exclude)
    own = traced_repo.repo
    url = url or own.url
    commit = commit or own.commit
    record = RepoRecord(name=name, kind=kind, url=url, path=path, commit=commit,
                        lean_version=lean_version or getattr(own, "lean_version", None), tracer="leandojo")
    for tf in sorted(traced_repo.traced_files, key=lambda f: str(f.path)):
        rel = Path(tf.path).as_posix()
        if _is_dependency(rel) or not path_selected(rel, include, exclude):
            continue  # a dependency's theorems belong to that dependency's own entry
        theorems = [convert_theorem(t, url, commit) for t in tf.get_traced_theorems()]
        theorems += _untraced_sorries(tf, rel, theorems, url, commit)
        record.theorems.extend(theorems)
        text = _file_text(tf.lean_file) if any(t.is_sorry for t in theorems) else None
        record.files.append(FileRecord(path=rel, module=module_of_path(rel), content=text))
    record.digest = trace_digest(url, commit, include, exclude)
    return record


def trace_digest(url: str | None, commit: str | None, include: Iterable[str], exclude: Iterable[str]) -> str:
    """A trace is a function of the source, the commit and the filters: that is the input's fingerprint,
    known before cloning or building anything."""
    return hashlib.sha256(repr(("lean-dojo", url, commit, list(include), list(exclude))).encode()).hexdigest()


def _untraced_sorries(tf: Any, rel: str, traced: list[TheoremRecord], url: str | None,
                      commit: str | None) -> list[TheoremRecord]:
    """Sorry declarations LeanDojo does not list as theorems (def, instance, example, abbrev)."""
    spans = [(t.start[0], t.end[0]) for t in traced]
    extra = []
    for d in scan_text(_file_text(tf.lean_file), rel):
        if not any(a <= d.line <= b for a, b in spans):
            extra.append(sorry_theorem(d, url, commit))
    return extra


# ---------------------------------------------------------------------------------------------
# Running lean-dojo


def trace_repo(repo_path: Path, commit: str, name: str, *, include: Iterable[str] = (),
               exclude: Iterable[str] = (), kind: str = "git", url: str | None = None,
               lean_version: str | None = None) -> RepoRecord:
    """Trace a local git work tree at `commit` with lean-dojo and convert the result.

    lean-dojo builds the project with `lake` and keeps the traced repo in its own cache
    (`CACHE_DIR`, default ~/.cache/lean_dojo), so tracing the same commit again is fast.
    """
    traced = run_trace(repo_path, commit, name, lean_version)
    return convert_traced_repo(traced, name, include=include, exclude=exclude, kind=kind, url=url or str(repo_path),
                               commit=commit, path=str(repo_path), lean_version=lean_version)
