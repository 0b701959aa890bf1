"""The LeanInteract backend: real Lean through the Lean REPL (lean-interact), for Lean v4.8 and later.

LeanDojo's tactic interaction fails from Lean 4.12 (LeanDojo issue 211), so repositories on a newer
Lean are proved here. A theorem is opened in its file's context: the file is elaborated up to the
declaration (imports, namespaces, `open`s, `variable`s, earlier declarations: the REPL keeps the
command state between commands), then the statement is elaborated with `:= by sorry` and the REPL's
proof state at that `sorry` is the root. Tactics run with `ProofStep`.

Every answer maps onto one `TacResult`:
- goals left: a new state (goals joined by blank lines, as LeanDojo prints them);
- no goals and proofStatus `Completed`: proved;
- a `sorry` in the answer or proofStatus `Incomplete: contains sorry`: given up;
- an error message, a REPL error, or a proofStatus `Error: ...` (kernel check failed): a Lean error;
- a timeout: lean-interact kills the REPL; the next request starts a fresh one.

As in the LeanDojo backend, after a timeout or a crash the theorem is opened again in the new process
and a state is rebuilt on demand by re-running its tactic path; handles carry the process generation,
and a handle of an older process is never sent. Each worker holds one REPL process (one project at a
time); the file's elaborated prefix and header are reused across the theorems of that file.

Step-by-step acceptance is not proof (Pantograph issue 1; PyPantograph issue 106): every proof
found here is re-checked as a whole file by `leanagent.prover.recheck` before it counts.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Callable

from leanagent.errors import LeanAgentError, ProverError, ToolchainError
from leanagent.prover.env import PathRestoringEnv, ProofState, TacOutcome, TacResult
from leanagent.data import TheoremRef
from leanagent.prover.leandojo_env import LeanLimits
from leanagent.lean.repl import CommandOutput, ReplCrash, ReplError, ReplOptions, ReplSession, ReplTimeout

log = logging.getLogger("leanagent.prover")

#: Share of the memory limit a REPL process may hold before a new theorem starts in a fresh process.
RECYCLE_AT = 0.8
#: The proof statuses of the REPL (its `getProofStatus`).
COMPLETED = "Completed"
CONTAINS_SORRY = "Incomplete: contains sorry"


def check_toolchain(options: ReplOptions | None = None) -> None:
    """Fail early, in the driver, when the REPL cannot be started at all."""
    from leanagent.lean.leandojo import find_toolchain

    try:
        import lean_interact  # noqa: F401
    except ImportError:
        raise ToolchainError("lean-interact is not installed",
                             fix="pip install lean-interact; or pass --env replay") from None
    lake = (options or ReplOptions()).lake
    if lake == "lake":
        try:
            find_toolchain()
        except ToolchainError as exc:
            raise ToolchainError(exc.message, fix=f"{exc.fix}; or pass --env replay to check tactics against "
                                                  "recorded traces instead of Lean") from None
    elif shutil.which(lake) is None:
        raise ToolchainError(f"--repl-lake {lake} is not an executable", fix="give the path of `lake`")


def db_source(db_url: str, ref: TheoremRef) -> Any:
    """The `TheoremSource` of a database theorem (a short-lived connection: workers hold none)."""
    from leanagent.db.engine import open_db
    from leanagent.db.proof_checks import theorem_sources

    if ref.id is None:
        raise ProverError(f"theorem {ref.full_name} has no database id")
    db = open_db(db_url, create=False)
    try:
        src = theorem_sources(db, [ref.id]).get(ref.id)
    finally:
        db.dispose()
    if src is None:
        raise ProverError(f"theorem {ref.full_name} (id {ref.id}) is not in the database")
    return src


def find_declaration(text: str, ref: TheoremRef):
    """The declaration of `ref` in its file as it is now, found by name (`leanagent.lean.declarations.
    locate`: the recorded line only tells apart two of one name), so that the theorem searched is the
    one the re-check and the patch place the proof in."""
    from leanagent.lean.declarations import DeclarationNotFound, locate

    try:
        return locate(text, ref.full_name, ref.start[0], ref.file_path)
    except DeclarationNotFound as exc:
        raise ProverError(exc.message, fix=exc.fix) from None


class LeanInteractEnv(PathRestoringEnv):
    name = "leaninteract"

    def __init__(self, limits: LeanLimits | None = None, options: ReplOptions | None = None,
                 sources: Callable[[TheoremRef], Any] | None = None, db_url: str | None = None):
        self.limits = limits or LeanLimits()
        self.options = options or ReplOptions()
        self._sources = sources
        self._db_url = db_url
        self._sessions: dict[Path, ReplSession] = {}
        self._session: ReplSession | None = None
        self._ref: TheoremRef | None = None
        self._text: str | None = None
        self._decl: Any = None
        self._generation = -1
        self._cache: dict[tuple[str, ...], int] = {}  # path -> proof state id in the current process
        self.restarts = 0

    # -- sources and sessions ------------------------------------------------
    def source(self, ref: TheoremRef) -> Any:
        """The theorem's `TheoremSource` (project folder, file text, position)."""
        if self._sources is not None:
            return self._sources(ref)
        if self._db_url is None:
            raise ProverError(f"no source location for {ref.full_name}")
        return db_source(self._db_url, ref)

    def session(self, project: str | Path) -> ReplSession:
        """This worker's REPL for `project`; one process at a time (the previous project's is closed)."""
        key = Path(project).resolve()
        if key not in self._sessions:
            for other in self._sessions.values():
                other.close()
            self._sessions = {key: ReplSession(
                key, self.options, memory_mb=self.limits.memory_gb * 1024, command_timeout=self.limits.init_timeout,
                max_restarts=None)}
        return self._sessions[key]

    # -- opening a theorem ---------------------------------------------------
    def start(self, theorem: TheoremRef) -> ProofState:
        src = self.source(theorem)
        if not src.repo_path or not Path(src.repo_path).is_dir():
            raise ProverError(f"{theorem.repo} has no local project folder; LeanInteract runs Lean in it",
                              fix="use a `path` or git entry in repos.yaml (and sync it), or --env replay")
        try:
            text = src.text()
        except (LeanAgentError, OSError, UnicodeDecodeError) as exc:  # an unsafe path, an unreadable file
            raise ProverError(f"cannot read {theorem.file_path}: {getattr(exc, 'message', exc)}") from None
        if text is None:
            raise ProverError(f"{theorem.file_path} is neither in {src.repo_path} nor stored")
        decl = find_declaration(text, theorem)
        if not decl.assigns:
            raise ProverError(f"{theorem.full_name} has no `:=` body that a tactic proof could replace")
        self._session = self.session(src.repo_path)
        self._session.recycle(RECYCLE_AT * self.limits.memory_gb * 1024)
        self._ref, self._text, self._decl = theorem, text, decl
        self.restarts = 0
        goal, _ = self._open()
        return ProofState(goal, (), handle=(self._generation, self._cache[()]))

    def _open(self) -> tuple[str, int]:
        """Elaborate the file up to the declaration and the statement with `:= by sorry`; the root."""
        s, text, d = self._session, self._text, self._decl
        try:
            env = s.context_env(text, d.start)
            stmt = text[d.start:d.body] + ":= by\n  sorry"
            out = s.command(stmt, env, self.limits.init_timeout, line_offset=text.count("\n", 0, d.start))
        except LeanAgentError as exc:  # the REPL failed, or cannot be prepared (ToolchainError)
            raise ProverError(f"LeanInteract cannot open {self._ref.full_name}: {exc.message}",
                              fix=exc.fix) from None
        root = _root_sorry(out)
        if out.errors or root is None:
            why = out.errors[0] if out.errors else "Lean reported no goal for the statement"
            raise ProverError(f"LeanInteract cannot open {self._ref.full_name}: {why}")
        self._generation = s.generation
        self._cache = {(): root.proof_state}
        return root.goal, root.proof_state

    def _restart(self, why: str) -> None:
        self.restarts += 1
        log.info("restarting the REPL for %s after %s (restart %d)", self._ref.full_name, why, self.restarts)
        if self.restarts > self.limits.max_restarts:
            raise ProverError(f"Lean restarted more than {self.limits.max_restarts} times on {self._ref.full_name}")
        self._open()  # the dead process is replaced on this first request

    def close(self) -> None:
        for s in self._sessions.values():
            s.close()
        self._sessions, self._session, self._cache = {}, None, {}

    # -- tactics -------------------------------------------------------------
    def _ensure_live(self) -> None:
        if self._session is None:
            raise ProverError("run_tac before start()")
        if self._generation != self._session.generation:  # the process died since (e.g. in a re-check)
            self._restart("a lost REPL process")

    def _raw(self, proof_state: int, tactic: str, timeout: float | None) -> TacResult:
        """One tactic in the live process. Reopens the theorem after a timeout or a crash."""
        # No timeout means the theorem's opening limit; a zero left by the search's deadline still waits
        # a moment (lean-interact treats None as "wait forever").
        limit = self.limits.init_timeout if timeout is None else max(timeout, 0.1)
        try:
            out = self._session.step(proof_state, tactic, limit)
        except ReplTimeout:
            self._restart("a tactic timeout")
            return TacResult(TacOutcome.TIMEOUT, message=f"tactic timed out after {timeout}s")
        except ReplCrash as exc:
            self._restart(f"a crash ({exc.message})")
            return TacResult.error(exc.message)
        except ReplError as exc:  # the REPL's own error answer: the tactic failed
            return TacResult.error(exc.message)
        if out.errors:
            return TacResult.error("\n".join(m.text for m in out.errors))
        if out.sorries or out.status.startswith(CONTAINS_SORRY):
            return TacResult(TacOutcome.GIVEN_UP)
        if not out.goals:
            if out.status == COMPLETED:
                return TacResult(TacOutcome.PROVED)
            return TacResult.error(f"Lean: {out.status}")  # kernel check failed, metavariables left
        return TacResult.new_state(ProofState("\n\n".join(out.goals), (),
                                              handle=(self._generation, out.proof_state)))

    # -- whole files ---------------------------------------------------------
    def check_file(self, project: str | Path, text: str) -> CommandOutput:
        """Elaborate a whole file in `project` (the re-check); lines are the file's."""
        return self.session(project).check_text(text, self.limits.init_timeout)



def _root_sorry(out: CommandOutput):
    """The `sorry` this backend appended: the last one Lean reports."""
    with_state = [s for s in out.sorries if s.proof_state is not None]
    return max(with_state, key=lambda s: (s.line, s.column)) if with_state else None
