"""The Lean REPL through lean-interact: one session per Lean project.

`ReplSession` is what the LeanInteract proof environment, the REPL tracer
(`leanagent.sources.repl_trace`) and the whole-file re-check share. It owns
one `lean_interact.LeanServer` (the REPL run as `lake env .../repl` in the
project folder) and speaks to it with lean-interact's own request types
(`Command`, `ProofStep`).

Ids of REPL environments and proof states mean something only inside the
process that made them. After a timeout (lean-interact kills the process) or
a crash the next request starts a fresh process and `generation` goes up;
every id a caller holds from an older generation must be rebuilt, never sent.

A file is elaborated in pieces that are kept per process: its header (the
imports; the expensive part, shared by every file with the same imports),
then each stretch of the file up to the next declaration asked for. Theorems
of one file, proved one after another, reuse all of it.

lean-interact is imported only here and only when a session starts.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leanagent.errors import LeanAgentError, ToolchainError

log = logging.getLogger("leanagent.repl")

#: Environment variable naming a built REPL checkout: the default of `ReplOptions.path` (for offline machines,
#: and for syncing, which takes no command-line options).
REPL_PATH_ENV = "LEANAGENT_REPL_PATH"
#: Lean releases that lean-interact's REPL supports for parallel elaboration (`Elab.async`).
PARALLEL_ELABORATION_FROM = "v4.19.0"
INSTALL_FIX = ("pip install lean-interact, and install elan (`curl https://elan.lean-lang.org/elan-init.sh -sSf | sh`) "
               "so that `lake` is on PATH")


class ReplError(LeanAgentError):
    """The REPL could not answer: it did not start, crashed or timed out."""


class ReplTimeout(ReplError):
    """A request ran over its time limit; lean-interact killed the process."""


class ReplCrash(ReplError):
    """The REPL process died (or answered with something that is not JSON)."""


@dataclass(frozen=True)
class ReplOptions:
    """How to start the Lean REPL with lean-interact."""

    path: str | None = field(default_factory=lambda: os.environ.get(REPL_PATH_ENV) or None)
    """A built Lean REPL checkout (leanprover-community/repl for the project's Lean version) to use as is
    (default: $LEANAGENT_REPL_PATH); None: lean-interact fetches and builds the REPL for that version once
    (needs the network the first time)."""
    lake: str = "lake"
    """The `lake` executable that starts the REPL in the project (`lake env <repl>`) and runs `lake env lean`."""
    build_project: bool = False
    """Run `lake build` in the project before starting (imports need the project's built .olean files)."""


@dataclass(frozen=True)
class Message:
    """One Lean message; lines are 1-based and columns 0-based, as Lean prints them."""

    severity: str  # error | warning | info | trace
    line: int
    column: int
    text: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.severity}: {self.text}"


@dataclass(frozen=True)
class SorryAt:
    """A `sorry` Lean found, with its goal and the REPL proof state at it."""

    line: int
    column: int
    goal: str
    proof_state: int | None


@dataclass
class CommandOutput:
    env: int
    messages: list[Message] = field(default_factory=list)
    sorries: list[SorryAt] = field(default_factory=list)
    # Filled only when the command asked for them (`CommandAsks`); see leanagent.lean.repl_answers.
    tactics: list[Any] = field(default_factory=list)       # TacticAt
    nodes: list[Any] = field(default_factory=list)         # TacticNode (the info tree's tactic nodes)
    declarations: list[Any] = field(default_factory=list)  # DeclarationAt

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "error"]


@dataclass(frozen=True)
class CommandAsks:
    """What a command asks the REPL for beyond messages and sorries (the REPL's command options)."""

    all_tactics: bool = False   # every tactic with its goals before and the constants it used
    declarations: bool = False  # every declaration with its range, kind and full name
    root_goals: bool = False    # each theorem's goal, reported as a sorry with a proof state
    infotree: str | None = None  # "original", "tactics", "substantive" or "full": the info tree

    def options(self) -> dict:
        out: dict = {}
        if self.all_tactics:
            out["all_tactics"] = True
        if self.declarations:
            out["declarations"] = True
        if self.root_goals:
            out["root_goals"] = True
        if self.infotree:
            out["infotree"] = self.infotree
        return out


@dataclass
class StepOutput:
    proof_state: int
    goals: list[str]
    status: str  # the REPL's proofStatus: Completed, Incomplete: ..., Error: ...
    messages: list[Message] = field(default_factory=list)
    sorries: list[SorryAt] = field(default_factory=list)

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "error"]


def header_end(text: str) -> int:
    """Offset just past the file's header: leading comments, `module`, `prelude` and the imports.

    The REPL accepts imports only in a command that starts a new session, so the
    header is elaborated on its own and everything after it in that environment.
    """
    from leanagent.lean.lexer import mask

    masked = mask(text)
    end, offset = 0, 0
    for line in masked.split("\n"):
        words = line.split()
        offset_next = offset + len(line) + 1
        if words:
            while words and words[0] in ("public", "meta", "private"):  # `public import`, `meta import`
                words = words[1:]
            if not words or words[0] not in ("import", "prelude", "module"):
                break
            end = min(offset_next, len(text))
        offset = offset_next
    return end


def _message(m: Any, line_offset: int = 0) -> Message:
    return Message(m.severity, m.start_pos.line + line_offset, m.start_pos.column, m.data)


def _sorry(s: Any, line_offset: int = 0) -> SorryAt:
    line = s.start_pos.line + line_offset if s.start_pos is not None else 0
    return SorryAt(line, s.start_pos.column if s.start_pos is not None else 0, s.goal, s.proof_state)


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not set(ln.strip()) <= {"-"}]
    return lines[0] if lines else type(exc).__name__


class ReplSession:
    """One REPL process for one Lean project, restarted on demand (see the module docstring)."""

    def __init__(self, project: str | Path, options: ReplOptions | None = None, *, memory_mb: int | None = None,
                 command_timeout: float = 600.0, max_restarts: int | None = 20):
        self.project = Path(project)
        self.options = options or ReplOptions()
        self.memory_mb = memory_mb
        self.command_timeout = command_timeout
        self.max_restarts = max_restarts
        self._config: Any = None
        self._server: Any = None
        self.generation = 0   # bumps when a process starts and when one is dropped: ids of another are stale
        self.launches = 0
        self.restarts = 0     # process starts after the first, over the session's life
        self._headers: dict[str, int] = {}            # header text -> env id (this generation)
        self._contexts: dict[str, list[tuple[int, int]]] = {}  # file key -> [(offset, env id)]

    # -- process -------------------------------------------------------------
    def _make_config(self) -> Any:
        try:
            from lean_interact import LeanREPLConfig, LocalProject
        except ImportError as exc:
            raise ToolchainError(f"lean-interact is not installed ({exc.name})", fix=INSTALL_FIX) from None
        from leanagent.lean.versions import lean_version_of, read_toolchain, version_key

        if not self.project.is_dir():
            raise ReplError(f"Lean project {self.project} does not exist",
                            fix="point the repository's `path:` at a Lake project, or sync the git entry again")
        version = lean_version_of(read_toolchain(self.project))
        if version is None:
            raise ReplError(f"{self.project} has no lean-toolchain naming a Lean 4 release",
                            fix="add a lean-toolchain file such as `leanprover/lean4:v4.15.0`")
        opts = self.options
        key = version_key(version)
        try:
            project = LocalProject(directory=str(self.project), auto_build=opts.build_project, lake_path=opts.lake)
            return LeanREPLConfig(project=project, local_repl_path=opts.path, build_repl=opts.path is None,
                                  lake_path=opts.lake,
                                  memory_hard_limit_mb=self.memory_mb,
                                  enable_parallel_elaboration=key is not None
                                  and key >= version_key(PARALLEL_ELABORATION_FROM))
        except Exception as exc:  # lean-interact raises ValueError, RuntimeError, git and subprocess errors alike
            raise ToolchainError(
                f"lean-interact cannot prepare the Lean REPL for {self.project} (Lean {version}): {_first_line(exc)}",
                fix=f"give a REPL built for Lean {version} with --repl-path (or ${REPL_PATH_ENV}), or upgrade "
                    "lean-interact (`pip install -U lean-interact`) so that it knows this Lean release") from None

    def _ensure(self) -> Any:
        if self._server is not None and self._server.is_alive():
            return self._server
        if self._server is not None:  # died between requests
            self._drop()
        if self.launches > 0:
            self.restarts += 1
            if self.max_restarts is not None and self.restarts > self.max_restarts:
                raise ReplError(f"the Lean REPL for {self.project} restarted more than {self.max_restarts} times",
                                fix="raise --lean-max-restarts, or give Lean more memory/time")
        if self._config is None:
            self._config = self._make_config()
        from lean_interact import LeanServer

        try:
            server = LeanServer(self._config)
        except (ChildProcessError, OSError) as exc:
            raise ReplError(f"the Lean REPL does not start in {self.project}: {_first_line(exc)}",
                            fix=INSTALL_FIX) from None
        self._server = server
        self.launches += 1
        self.generation += 1
        self._headers, self._contexts = {}, {}
        return server

    def _drop(self) -> None:
        """Forget the process (killing it when it still runs) and everything that lived in it."""
        if self._server is not None:
            self.generation += 1  # ids from the dead process are stale from now on, not only after a start
            try:
                self._server.kill()
            except Exception as exc:  # already gone: nothing to clean up
                log.debug("killing the REPL: %s", exc)
        self._server = None
        self._headers, self._contexts = {}, {}

    def close(self) -> None:
        self._drop()

    def recycle(self, limit_mb: float | None) -> bool:
        """End the process when it holds more than `limit_mb` of memory (the REPL keeps every environment
        and proof state it ever made); the next request starts a fresh one. True when it was ended."""
        if self._server is None or limit_mb is None:
            return False
        try:
            used = self._server.get_memory_usage()
        except Exception:  # the process is gone: nothing to measure
            return False
        if used <= limit_mb:
            return False
        log.info("restarting the REPL for %s: %.0f MB in use", self.project, used)
        self._drop()
        return True

    def _run(self, request: Any, timeout: float | None) -> Any:
        from lean_interact.interface import LeanError

        server = self._ensure()
        try:
            out = server.run(request, timeout=timeout)
        except TimeoutError:
            self._drop()
            raise ReplTimeout(f"Lean did not answer within {timeout}s") from None
        except (ConnectionAbortedError, ChildProcessError, BrokenPipeError, OSError, ValueError) as exc:
            # ValueError covers an answer that is not JSON (json.JSONDecodeError) or fails validation.
            self._drop()
            raise ReplCrash(f"the Lean REPL crashed: {_first_line(exc)}") from None
        if isinstance(out, LeanError):
            raise ReplError(out.message.removeprefix("Lean error:").strip() or "the REPL refused the request")
        return out

    # -- requests ------------------------------------------------------------
    def command(self, text: str, env: int | None = None, timeout: float | None = None,
                line_offset: int = 0, asks: CommandAsks | None = None) -> CommandOutput:
        """Elaborate `text` (in environment `env`, or a new session that may start with imports).
        `line_offset` is added to every line Lean reports (for a piece cut out of a file); `asks`
        adds tactics, declarations, root goals or the info tree to the answer."""
        from lean_interact import Command

        from leanagent.lean import repl_answers

        out = self._run(Command(cmd=text, env=env, **(asks.options() if asks else {})), timeout or self.command_timeout)
        result = CommandOutput(out.env, [_message(m, line_offset) for m in out.messages],
                               [_sorry(s, line_offset) for s in out.sorries])
        if asks is not None:
            result.tactics = repl_answers.tactics(out, line_offset)
            result.nodes = repl_answers.tactic_nodes(out, line_offset)
            result.declarations = repl_answers.declarations(out, line_offset)
        return result

    def step(self, proof_state: int, tactic: str, timeout: float | None = None) -> StepOutput:
        """Run one tactic on a proof state of this generation."""
        from lean_interact import ProofStep

        out = self._run(ProofStep(proof_state=proof_state, tactic=tactic), timeout)
        return StepOutput(out.proof_state, list(out.goals), out.proof_status,
                          [_message(m) for m in out.messages], [_sorry(s) for s in out.sorries])

    # -- files ---------------------------------------------------------------
    def header_env(self, header: str) -> int:
        """The environment after a file header (imports), elaborated once per process."""
        if header not in self._headers:
            out = self.command(header if header.strip() else "-- no imports\n", None)
            if out.errors:
                raise ReplError(f"the file header does not elaborate: {out.errors[0]}",
                                fix="build the project first: `lake exe cache get` (a project on Mathlib), then `lake build` "
                                    "(or --repl-build-project)")
            self._headers[header] = out.env
        return self._headers[header]

    def context_env(self, text: str, offset: int) -> int:
        """The environment after `text[:offset]` (a file up to a declaration), reusing the pieces
        already elaborated for the same file text."""
        key = hashlib.sha256(text.encode("utf-8")).hexdigest()
        h = header_end(text)
        if offset < h:
            raise ReplError("the declaration starts inside the file header")
        pieces = self._contexts.get(key)
        if pieces is None:
            pieces = self._contexts[key] = [(h, self.header_env(text[:h]))]
        at, env = max(p for p in pieces if p[0] <= offset)
        if text[at:offset].strip():
            out = self.command(text[at:offset], env, line_offset=text.count("\n", 0, at))
            for m in out.errors:  # the prefix may have errors of its own; the declaration may still open
                log.info("error before the declaration: %s", m)
            env = out.env
            pieces.append((offset, env))
        return env

    def check_text(self, text: str, timeout: float | None = None, asks: CommandAsks | None = None) -> CommandOutput:
        """Elaborate a whole file (header, then the rest in its environment); lines are the file's."""
        h = header_end(text)
        env = self.header_env(text[:h])
        body = text[h:]
        if not body.strip():
            return CommandOutput(env)
        return self.command(body, env, timeout, line_offset=text.count("\n", 0, h), asks=asks)
