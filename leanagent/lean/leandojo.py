"""lean-dojo, wrapped: the toolchain it needs, the Lean releases it supports, and one trace run.

Everything that starts lean-dojo's machinery lives here, below `sources` (which turns a trace into
records, `leanagent.sources.tracing`) and `prover` (whose LeanDojo backend opens `Dojo` sessions,
`leanagent.prover.leandojo_env`). lean-dojo is imported only inside these functions: its import
configures logging and reads environment variables.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from leanagent.errors import SourceError, ToolchainError

ELAN_FIX = ("install elan with `curl https://elan.lean-lang.org/elan-init.sh -sSf | sh` "
            "(or see https://github.com/leanprover/elan), then open a new shell so `lean` and `lake` are on PATH")


def find_toolchain() -> dict[str, str]:
    """Paths of `lean` and `lake` (via PATH or ~/.elan/bin). ToolchainError when they are missing."""
    elan_bin = Path(os.environ.get("ELAN_HOME", Path.home() / ".elan")) / "bin"
    found = {}
    for tool in ("lean", "lake"):
        path = shutil.which(tool) or shutil.which(tool, path=str(elan_bin))
        if path:
            found[tool] = path
    missing = [t for t in ("lean", "lake") if t not in found]
    if missing:
        raise ToolchainError(f"no Lean toolchain found: {' and '.join(f'`{t}`' for t in missing)} not on PATH",
                             fix=ELAN_FIX)
    return found


def is_supported(lean_version: str | None) -> bool:
    """Whether the installed lean-dojo can trace this Lean version (its own rule: v4.3.0-rc2 or later)."""
    if not lean_version:
        return False
    from lean_dojo.data_extraction.lean import is_supported_version

    try:
        return bool(is_supported_version(lean_version))
    except (ValueError, AssertionError, IndexError):  # nightly-YYYY-MM-DD and other non-release names
        return False


def check_supported(lean_version: str | None, where: str) -> None:
    if not is_supported(lean_version):
        import lean_dojo

        shown = lean_version or "no lean-toolchain"
        raise SourceError(f"{where}: Lean version {shown} is not supported by lean-dojo {lean_dojo.__version__} "
                          "(it needs a Lean 4 release v4.3.0-rc2 or later)",
                          fix="pin a commit whose lean-toolchain names a supported Lean release, "
                              "or set `enabled: false` on this entry")


def run_trace(repo_path: Path, commit: str, name: str, lean_version: str | None) -> Any:
    """lean-dojo's `TracedRepo` of the local git work tree `repo_path` at `commit` (it runs `lake build`
    and keeps the result in its own cache, `CACHE_DIR`, default ~/.cache/lean_dojo)."""
    find_toolchain()
    check_supported(lean_version, name)
    try:
        from lean_dojo import LeanGitRepo, trace
    except ImportError as exc:  # pragma: no cover - lean-dojo is a dependency
        raise ToolchainError(f"lean-dojo cannot be imported: {exc}", fix="pip install lean-dojo") from None
    try:
        repo = LeanGitRepo(str(Path(repo_path).resolve()), commit)
        traced = trace(repo)
    except Exception as exc:  # lean-dojo raises bare Exceptions/AssertionErrors from builds and git
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise SourceError(f"lean-dojo could not trace {name} at {commit[:12]}: {first}",
                          fix="run with VERBOSE=1 to see lean-dojo's log; check that `lake build` works "
                              "in the checkout") from None
    return traced
