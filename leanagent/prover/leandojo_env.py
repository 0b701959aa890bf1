"""The LeanDojo backend: real Lean through `lean_dojo.Dojo`, as users run it.

One `Dojo` session per theorem. LeanDojo issue 218: after one tactic times
out, the REPL keeps computing it and every later answer is out of step. So
after a timeout or a crash this backend kills the session, starts a fresh one,
and rebuilds a state on demand by re-running its tactic path from the root
(`ProofState.path`). Handles carry the session generation they belong to;
a handle from an older session is never sent to Lean.

Memory and CPU limits reach Lean through LeanDojo's own knobs: the
`TACTIC_MEMORY_LIMIT` / `TACTIC_CPU_LIMIT` settings, which `Dojo` turns into
`lake env lean --threads=N --memory=MB`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable

from leanagent.errors import ProverError, ToolchainError
from leanagent.prover.env import PathRestoringEnv, ProofState, TacOutcome, TacResult
from leanagent.data import TheoremRef

log = logging.getLogger("leanagent.prover")


@dataclass(frozen=True)
class LeanLimits:
    """Resources for one Lean process."""

    memory_gb: int = 16
    """Memory limit per Lean process, in GiB (LeanDojo's TACTIC_MEMORY_LIMIT)."""
    cpus: int = 1
    """Threads per Lean process (LeanDojo's TACTIC_CPU_LIMIT)."""
    init_timeout: int = 600
    """Seconds to open a theorem (elaborating the file up to it)."""
    max_restarts: int = 20
    """Session restarts per theorem before the backend gives up with ProverError."""


def apply_limits(limits: LeanLimits) -> None:
    """Make LeanDojo launch Lean with these limits (its constants are read at launch time)."""
    from lean_dojo.interaction import dojo as dojo_module

    if limits.memory_gb < 1 or limits.cpus < 1:
        raise ProverError(f"invalid Lean limits {limits}", fix="use memory_gb >= 1 and cpus >= 1")
    os.environ["TACTIC_MEMORY_LIMIT"] = f"{limits.memory_gb}g"
    os.environ["TACTIC_CPU_LIMIT"] = str(limits.cpus)
    dojo_module.TACTIC_MEMORY_LIMIT = f"{limits.memory_gb}g"
    dojo_module.TACTIC_CPU_LIMIT = limits.cpus


def check_toolchain() -> None:
    """Fail early, in the driver, when LeanDojo could not launch Lean at all (one toolchain check for all)."""
    from leanagent.lean.leandojo import find_toolchain

    try:
        find_toolchain()
    except ToolchainError as exc:
        raise ToolchainError(exc.message, fix=f"{exc.fix}; or pass --env replay to check tactics against "
                                              "recorded traces instead of Lean") from None


def lean_theorem(ref: TheoremRef) -> Any:
    """The `lean_dojo.Theorem` for a database theorem (LeanGitRepo may contact GitHub)."""
    from lean_dojo import LeanGitRepo, Theorem

    if not ref.url or not ref.commit:
        raise ProverError(f"theorem {ref.full_name} has no repository url/commit; LeanDojo needs both",
                          fix="import traced data that records `url` and `commit`, or use --env replay")
    try:
        return Theorem(LeanGitRepo(ref.url, ref.commit), ref.file_path, ref.full_name)
    except Exception as exc:  # lean_dojo raises ValueError/AssertionError/GitHub errors alike
        raise ProverError(f"LeanDojo cannot open repository {ref.url}@{ref.commit}: {exc}") from exc


class LeanDojoEnv(PathRestoringEnv):
    name = "leandojo"

    def __init__(self, limits: LeanLimits | None = None,
                 theorem_factory: Callable[[TheoremRef], Any] = lean_theorem):
        self.limits = limits or LeanLimits()
        self.theorem_factory = theorem_factory
        self._thm: Any = None
        self._dojo: Any = None
        self._generation = 0
        self._cache: dict[tuple[str, ...], Any] = {}  # path -> TacticState in the current session
        self.restarts = 0
        self.launches = 0

    # -- session -------------------------------------------------------------
    def _open(self) -> Any:
        from lean_dojo import Dojo, DojoInitError

        apply_limits(self.limits)
        dojo = Dojo(self._thm, timeout=self.limits.init_timeout)
        try:
            dojo, init = dojo.__enter__()
        except DojoInitError as exc:
            raise ProverError(f"LeanDojo cannot start {self._thm.full_name}: {exc}") from exc
        except FileNotFoundError as exc:
            raise ToolchainError(f"cannot run Lean: {exc}", fix="install elan and the repository's toolchain") from exc
        self.launches += 1
        self._dojo = dojo
        self._generation += 1
        self._cache = {(): init}
        return init

    def _kill(self) -> None:
        if self._dojo is not None:
            try:
                self._dojo.__exit__(None, None, None)
            except Exception as exc:  # the process may be gone already; nothing to clean then
                log.debug("closing Dojo: %s", exc)
            self._dojo = None

    def _restart(self, why: str) -> None:
        self.restarts += 1
        log.info("restarting Lean for %s after %s (restart %d)", self._thm.full_name, why, self.restarts)
        self._kill()
        if self.restarts > self.limits.max_restarts:
            raise ProverError(f"Lean restarted more than {self.limits.max_restarts} times on {self._thm.full_name}")
        self._open()

    def start(self, theorem: TheoremRef) -> ProofState:
        self.close()
        self.restarts = 0
        self._thm = self.theorem_factory(theorem)
        init = self._open()
        return ProofState(init.pp, (), handle=(self._generation, init))

    def close(self) -> None:
        self._kill()
        self._cache = {}

    # -- tactics -------------------------------------------------------------
    def _ensure_live(self) -> None:
        if self._dojo is None:
            raise ProverError("run_tac before start()")

    def _raw(self, handle: Any, tactic: str, timeout: float | None) -> TacResult:
        """One tactic in the live session. Restarts the session after a timeout or a crash."""
        import lean_dojo

        if timeout is not None and timeout > 0:
            self._dojo.proc.timeout = timeout  # pexpect's default for every expect() of this tactic
        try:
            out = self._dojo.run_tac(handle, tactic)
        except lean_dojo.DojoTacticTimeoutError:
            self._restart("a tactic timeout")
            return TacResult(TacOutcome.TIMEOUT, message=f"tactic timed out after {timeout}s")
        except lean_dojo.DojoCrashError as exc:
            # Dojo reports an EOF before it looks at the exit status; look at it here.
            oom = exc.is_out_of_memory or _killed_for_memory(self._dojo.proc)
            self._restart(f"a crash ({exc})")
            return TacResult.error("Lean ran out of memory" if oom else f"Lean crashed: {exc}")
        finally:
            if self._dojo is not None:
                self._dojo.proc.timeout = self.limits.init_timeout
        if isinstance(out, lean_dojo.ProofFinished):
            return TacResult(TacOutcome.PROVED)
        if isinstance(out, lean_dojo.ProofGivenUp):
            return TacResult(TacOutcome.GIVEN_UP)
        if isinstance(out, lean_dojo.LeanError):
            return TacResult.error(out.error)
        return TacResult.new_state(ProofState(out.pp, (), handle=(self._generation, out)))



def _killed_for_memory(proc: Any) -> bool:
    """Exit code 137 (what LeanDojo calls OOM) or SIGKILL, as the kernel OOM killer sends."""
    try:
        proc.isalive()  # reaps the child, filling exitstatus/signalstatus
    except Exception:
        return False
    return proc.exitstatus == 137 or proc.signalstatus == 9
