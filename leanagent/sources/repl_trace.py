"""Tracing a Lean project through the Lean REPL into the same records as a LeanDojo trace.

For Lean releases LeanDojo cannot trace (4.12 and later, `leanagent.lean.versions`) the REPL
elaborates each of the repository's own `.lean` files once (its header, shared by files with the
same imports, then the body in one command asking for `allTactics`, `declarations` and the info
tree), and its answers become a `RepoRecord`, as `tracing.convert_traced_repo` makes from lean-dojo:

- files, with their imports (the import graph; every file but a `prelude` imports `Init`);
- theorems: `theorem`/`lemma` declarations (LeanDojo's theorems), with the full name, the start at
  the keyword and the end of the declaration (LeanDojo's 1-based columns), the statement
  (`theorem NAME SIGNATURE`, as LeanDojo's corpus writes it) and whether it uses `sorry` (the
  scanner, as for a LeanDojo trace; `def`/`instance`/`example` with `sorry` are added from it);
- tactic steps in LeanDojo's order, by LeanDojo's rule for nested tactics (`repl_steps`);
- premise annotations resolved to declarations with their file and position (`repl_premises`);
- the premise corpus: every declaration of the repository, and every imported declaration a step
  names (not the dependencies' whole libraries, which LeanDojo lists).

Bad input: a file whose body has errors keeps its error as a row (`FileRecord.error`) and its
theorems without an error inside; a file the REPL died or timed out on is an error row and the
next file starts a fresh REPL; imports that are not built stop the trace with one line and the
fix (`lake exe cache get`, `lake build`). A file is traced from its text alone, so re-tracing only
changed files is possible (`retrace`, and `TraceState` resumes after a kill).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from leanagent.db.records import FileRecord, PremiseRecord, RepoRecord, StepRecord, TheoremRecord
from leanagent.lean.declarations import declarations as walk_declarations
from leanagent.lean.repl import CommandAsks, ReplCrash, ReplError, ReplOptions, ReplSession, ReplTimeout, header_end
from leanagent.sources import repl_premises as rp
from leanagent.sources.repl_steps import FileText, clean, file_steps, leandojo_order
from leanagent.sources.repl_trace_cache import TraceCache, file_keys
from leanagent.sources.scan import lean_files, scan_text, sorry_theorem
from leanagent.text import module_of_path

log = logging.getLogger("leanagent.sources")

TRACER = "repl"
RECYCLE_MB = 8192.0  # a REPL holding more memory than this is restarted before the next file
ASKS = CommandAsks(all_tactics=True, declarations=True, infotree="original")
BUILD_FIX = ("build the project's dependencies first: `lake exe cache get` (for a project on Mathlib), then "
             "`lake build` in the project folder")
_UNBUILT = ("object file", "unknown module prefix", "does not exist", "unknown package")


class DependenciesNotBuilt(ReplError):
    """A file's imports have no .olean files: nothing of the project can be elaborated."""


@dataclass
class TraceCounts:
    files: int = 0
    failed: int = 0            # error rows
    theorems: int = 0
    dropped: int = 0           # theorems with an error inside
    steps: int = 0
    no_info: int = 0           # tactics without an info-tree node (no states: not recorded)
    premises: int = 0          # premise annotations
    unresolved: int = 0        # premises resolved by the #check fallback only
    requests: int = 0          # REPL commands sent
    cached: int = 0            # files read back from the trace cache (unchanged since they were traced)

    def line(self) -> str:
        text = (f"{self.files} files, {self.theorems} theorems, {self.steps} steps, {self.premises} premise "
                f"annotations")
        if self.failed:
            text += f", {self.failed} files with errors (kept as error rows)"
        if self.cached:
            text += f" ({self.cached} files unchanged since they were traced, not elaborated again)"
        if self.unresolved:
            text += (f", {self.unresolved} premises without a declaration site (the premise program did not run; "
                     "their types come from #check)")
        return text


@dataclass
class FileTrace:
    file: FileRecord
    theorems: list[TheoremRecord] = field(default_factory=list)
    corpus: list[PremiseRecord] = field(default_factory=list)


def _imports(text: str, own: dict[str, str], root: Path) -> list[str]:
    header = text[:header_end(text)]
    words = [ln.split() for ln in header.splitlines()]
    modules = [w[-1] for w in words if w and "import" in w[:3]]
    paths = [rp.module_path(m, root, own) for m in modules]
    if not any(w and w[0] == "prelude" for w in words):
        paths.insert(0, f"{rp.CORE_DIR}/Init.lean")
    return paths


def _offset_pos(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def _own_declarations(text: str, ft: FileText, rel: str, decls: list) -> dict[str, rp.Declared]:
    """The file's declarations (REPL answer) with the keyword and name positions from the source."""
    walked = walk_declarations(text)
    out: dict[str, rp.Declared] = {}
    lines = ft
    for d in decls:
        a, b = lines.offset(d.start), lines.offset(d.end)
        mine = next((w for w in walked if a <= w.keyword < b), None)
        kw = _offset_pos(text, mine.keyword) if mine else d.start
        name_at = text.find(mine.name, mine.keyword) if mine and mine.name else -1
        sel = ((_offset_pos(text, name_at), _offset_pos(text, name_at + len(mine.name))) if name_at >= 0 else None)
        signature = " ".join(d.signature.split())
        keyword = text[mine.keyword:].split(None, 1)[0] if mine else d.kind
        # The corpus's code as LeanDojo writes it: the keyword, the full name and the signature.
        out[d.full_name] = rp.Declared(
            d.full_name, rel, tuple((p[0], p[1] + 1) for p in sel) if sel else None,
            ((kw[0], kw[1] + 1), (d.end[0], d.end[1] + 1)), d.kind, signature,
            " ".join(f"{keyword} {d.full_name} {signature}".split()))
    return out


def _resolve(session: ReplSession, env: int, names: list[str], root: Path, own: dict[str, str],
             counts: TraceCounts) -> dict[str, rp.Declared]:
    """Where each imported name is declared: the premise program, else `#check` (see repl_premises)."""
    if not names:
        return {}
    counts.requests += 1
    out = session.command(rp.program(names), env)
    if not out.errors:
        return rp.read_program_answer(out.messages, root, own)
    log.info("the premise program does not run here (%s): premises get their types from #check", out.errors[0])
    counts.requests += 1
    found = rp.read_check_answer(session.command(rp.check_program(names), env).messages, names)
    counts.unresolved += len(found)
    return found


def _theorem(rel: str, decl, own: rp.Declared, steps: list, lean_sorry: bool | None, scanned: list, url,
             commit) -> TheoremRecord:
    """The theorem's record; `lean_sorry`: Lean met a `sorry` in it (None: Lean could not tell, an error);
    `scanned`: the scanner's sorry declarations of the file."""
    start, end = own.range
    statement = " ".join(f"theorem {decl.full_name} {own.type}".split())  # `type` is the signature here
    record = TheoremRecord(file_path=rel, full_name=decl.full_name, start=start, end=end, steps=steps, url=url,
                           commit=commit, statement=statement)
    mine = [d for d in scanned if start[0] <= d.line <= end[0]]
    # Lean says whether a sorry was elaborated (`first | trivial | sorry` never is); the scanner says
    # where and in which mode, and decides alone where an error kept Lean from telling.
    if mine and lean_sorry is not False:
        record.has_sorry, record.sorry_mode, record.proof_text = True, mine[0].mode, mine[0].proof_text
    else:
        record.has_sorry = bool(lean_sorry)
    return record


def _step_records(steps: list, declared: dict[str, rp.Declared], counts: TraceCounts) -> list[StepRecord]:
    out = []
    for s in steps:
        annotated, names = rp.annotate(s.tactic, tuple(n for n in s.used_constants if n in declared))
        premises = [declared[n].premise() for n in names]
        counts.premises += len(premises)
        out.append(StepRecord(tactic=s.tactic, state_before=s.state_before, state_after=s.state_after,
                              annotated_tactic=annotated, premises=premises))
    return out


def trace_file(session: ReplSession, root: Path, rel: str, text: str, own: dict[str, str],
               resolved: dict[str, rp.Declared], counts: TraceCounts, url=None, commit=None) -> FileTrace:
    """One file elaborated once; its records. Raises ReplError (an error row) or DependenciesNotBuilt."""
    counts.requests += 1
    try:
        out = session.check_text(text, asks=ASKS)
    except ReplError as exc:
        if any(k in exc.message for k in _UNBUILT):
            raise DependenciesNotBuilt(f"{rel}: {exc.message.splitlines()[0]}", fix=BUILD_FIX) from None
        raise
    ft = FileText(text)
    steps, no_info = file_steps(ft, out.tactics, out.nodes)
    counts.no_info += no_info
    mine = _own_declarations(text, ft, rel, out.declarations)
    names = {n for s in steps for n in rp.annotate(s.tactic, s.used_constants)[1]}
    need = sorted(names - set(mine) - set(resolved))
    try:
        resolved.update(_resolve(session, out.env, need, root, own, counts))
    except (ReplCrash, ReplTimeout) as exc:  # the states are in hand: keep the steps, without these premises
        log.warning("%s: premises not resolved: %s", rel, exc.one_line())
    declared = {**resolved, **mine}
    errors = out.errors
    result = FileTrace(FileRecord(path=rel, module=module_of_path(rel), imports=_imports(text, own, root)))
    if errors:
        result.file.error = str(errors[0])
    scanned = scan_text(text, rel)
    for d in out.declarations:
        own_d = mine[d.full_name]
        result.corpus.append(own_d.corpus_entry())
        if d.kind != "theorem":
            continue
        broken = any(d.start <= (m.line, m.column) <= d.end for m in errors)
        if broken and not any(d.start[0] <= x.line <= d.end[0] for x in scanned):
            counts.dropped += 1  # a theorem with an error inside: nothing of it can be trusted
            continue
        inside = [s for s in steps if d.start <= s.start and s.end <= d.end] if not broken else []
        lean_sorry = None if broken else any(d.start <= (x.line, x.column) <= d.end for x in out.sorries)
        records = _step_records(clean(leandojo_order(inside)), declared, counts)
        result.theorems.append(_theorem(rel, d, own_d, records, lean_sorry, scanned, url, commit))
    spans = [(t.start[0], t.end[0]) for t in result.theorems]
    result.theorems += [sorry_theorem(s, url, commit) for s in scanned
                        if s.kind != "theorem" and s.kind != "lemma" and not any(a <= s.line <= b for a, b in spans)]
    if any(t.is_sorry for t in result.theorems):
        result.file.content = text
    result.corpus += [resolved[n].corpus_entry() for n in sorted(names & set(resolved))]
    return result


def trace_digest(name: str, include: list[str], exclude: list[str], lean_version: str | None,
                 files: Iterable[tuple[str, str]]) -> str:
    """The input's fingerprint: the files' text, the filters and the Lean version."""
    h = hashlib.sha256(repr((TRACER, name, include, exclude, lean_version)).encode())
    for rel, text in files:
        h.update(rel.encode())
        h.update(hashlib.sha256(text.encode()).digest())
    return h.hexdigest()


def _read_files(root: Path, include: list[str], exclude: list[str]) -> list[tuple[str, str]]:
    # The Lake build script is not part of the library (LeanDojo does not trace it either).
    return [(rel, path.read_text(encoding="utf-8")) for path, rel in lean_files(root, include, exclude)
            if rel != "lakefile.lean"]


def input_digest(root: str | Path, name: str, include: Iterable[str], exclude: Iterable[str],
                 lean_version: str | None) -> str:
    """`trace_digest` of the files as they are now: known before any REPL starts."""
    include, exclude = list(include), list(exclude)
    return trace_digest(name, include, exclude, lean_version, _read_files(Path(root), include, exclude))


def repl_trace(root: str | Path, name: str, include: Iterable[str] = (), exclude: Iterable[str] = (), *,
               options: ReplOptions | None = None, url: str | None = None, commit: str | None = None,
               lean_version: str | None = None, kind: str = "path", session: ReplSession | None = None,
               cache_dir: str | Path | None = None, workers: int = 1) -> tuple[RepoRecord, TraceCounts]:
    """A `RepoRecord` of the project under `root` traced through the REPL, and what it counted. With
    `cache_dir`, files traced before with the same text and imports are read back, not elaborated
    (`repl_trace_cache`); `workers` > 1 traces files on that many REPL processes at once."""
    root = Path(root)
    include, exclude = list(include), list(exclude)
    files = _read_files(root, include, exclude)
    own_modules = {module_of_path(rel): rel for rel, _ in files}
    record = RepoRecord(name=name, kind=kind, url=url or str(root), path=str(root.resolve()), commit=commit,
                        lean_version=lean_version, tracer=TRACER,
                        digest=trace_digest(name, include, exclude, lean_version, files))
    counts = TraceCounts(files=len(files))
    cache = TraceCache(cache_dir) if cache_dir is not None else None
    keys = file_keys(files, {rel: _imports(text, own_modules, root) for rel, text in files}, lean_version)
    work = _Work(root, options, keys, own_modules, cache, url, commit)
    corpus: dict[tuple[str, str], PremiseRecord] = {}
    for traced in work.run(files, counts, session, workers):
        counts.failed += traced.file.error is not None
        record.files.append(traced.file)
        record.theorems.extend(traced.theorems)
        corpus.update({p.key: p for p in traced.corpus})
    record.premises = list(corpus.values())
    counts.theorems = len(record.theorems)
    counts.steps = sum(len(t.steps) for t in record.theorems)
    counts.cached = cache.hits if cache else 0
    return record, counts


@dataclass
class _Work:
    """What tracing the files of one repository shares, on one REPL or a pool of them."""

    root: Path
    options: ReplOptions | None
    keys: dict[str, str]
    own_modules: dict[str, str]
    cache: TraceCache | None
    url: str | None
    commit: str | None
    resolved: dict = field(default_factory=dict)  # premises resolved so far (any worker's; same answers)

    def one(self, session: ReplSession, rel: str, text: str, counts: TraceCounts) -> FileTrace:
        traced = _traced_file(session, self.cache, self.keys[rel], self.root, rel, text, self.own_modules,
                              self.resolved, counts, self.url, self.commit)
        # The REPL keeps every environment it made: past this much memory it is restarted between files
        # (losing only the shared headers, elaborated again on demand).
        session.recycle(RECYCLE_MB)
        return traced

    def run(self, files: list, counts: TraceCounts, session: ReplSession | None, workers: int) -> list[FileTrace]:
        """The files' traces in file order: on `session` (or one started here), or on `workers` REPLs,
        each thread holding its own (files elaborate independently: each from its own header)."""
        if workers <= 1:
            mine = session or ReplSession(self.root, self.options)  # starts Lean only at its first request
            try:
                return [self.one(mine, rel, text, counts) for rel, text in files]
            finally:
                if session is None:
                    mine.close()
        local, lock, sessions, parts = threading.local(), threading.Lock(), [], []

        def job(item: tuple[str, str]) -> FileTrace:
            if not hasattr(local, "session"):
                local.session, local.counts = ReplSession(self.root, self.options), TraceCounts()
                with lock:
                    sessions.append(local.session)
                    parts.append(local.counts)
            return self.one(local.session, item[0], item[1], local.counts)

        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                return list(pool.map(job, files))
        finally:
            for s in sessions:
                s.close()
            for c in parts:  # each worker counted on its own: no lost updates
                for name in ("dropped", "no_info", "premises", "unresolved", "requests"):
                    setattr(counts, name, getattr(counts, name) + getattr(c, name))


def _traced_file(session, cache, key: str, root: Path, rel: str, text: str, own_modules: dict, resolved: dict,
                 counts: TraceCounts, url, commit) -> FileTrace:
    """One file: from the cache, or traced (and then cached); a REPL failure makes an error row."""
    hit = cache.load(key) if cache else None
    if hit is not None:
        return FileTrace(*hit)
    try:
        traced = trace_file(session, root, rel, text, own_modules, resolved, counts, url, commit)
    except DependenciesNotBuilt:
        raise
    except ReplError as exc:  # died or timed out: an error row; the next file gets a fresh REPL
        traced = FileTrace(FileRecord(path=rel, module=module_of_path(rel), error=exc.one_line()))
    if cache:
        cache.store(key, traced.file, traced.theorems, traced.corpus)
    return traced
