"""Lean versions, and which Lean backend can run a repository on one: one rule for every command.

- LeanDojo (`leandojo`): its tactic interaction works from Lean v4.3.0-rc2 (the oldest release
  lean-dojo supports) through v4.11; from v4.12 its REPL fails (LeanDojo issue 211, open, not to be
  fixed soon).
- LeanInteract (`leaninteract`): the Lean REPL, for every Lean release from v4.8.0-rc1 on. There is
  no upper bound: lean-interact picks the REPL revision for each toolchain
  (`{repl_rev}_lean-toolchain-{version}`) and has none either. A release it cannot fetch or build a
  REPL for fails when the session starts, in one line that names the version and the fix
  (`leanagent.lean.repl`).

Where both work LeanDojo is used (LeanAgent's own setup); otherwise LeanInteract. `--env` overrides
the choice. Syncing and proving both use the rule: a repository that LeanDojo cannot run is traced
through the REPL instead (`leanagent.sources.repl_trace`, `--tracer`). The prover's side is
`leanagent.prover.backend`.

The toolchain facts live here too: the `lean-toolchain` file and the release it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from leanagent.errors import SourceError

#: The file that names a project's Lean toolchain, e.g. `leanprover/lean4:v4.9.0`.
TOOLCHAIN_FILE = "lean-toolchain"
_TOOLCHAIN = re.compile(r"^leanprover/lean4:(?P<version>\S+)$")

#: The boundaries, named once. A `..._BEFORE` version is the first one *not* supported.
LEANDOJO_FROM = "v4.3.0-rc2"
LEANDOJO_BEFORE = "v4.12.0-rc1"      # LeanDojo issue 211: tactic interaction breaks from 4.12
LEANINTERACT_FROM = "v4.8.0-rc1"

_RELEASE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-rc(\d+))?$")


def lean_version_of(toolchain: str | None) -> str | None:
    """`leanprover/lean4:v4.9.0` (or `4.9.0`) -> `v4.9.0`; None when it names no Lean 4 release."""
    if not toolchain:
        return None
    m = _TOOLCHAIN.match(toolchain.strip())
    if not m:
        return None
    v = m["version"]
    return "v" + v if v[:1].isdigit() else v


def read_toolchain(path: Path) -> str | None:
    f = Path(path) / TOOLCHAIN_FILE
    try:
        return f.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SourceError(f"{f}: cannot read: {exc.strerror}") from None



def version_key(version: str | None) -> tuple[int, int, int, int] | None:
    """A sortable key of a Lean release name (`v4.12.0`, `4.9.0-rc1`, `leanprover/lean4:v4.9.0`):
    (major, minor, patch, rc) with a release after all its release candidates. None for a nightly,
    a custom toolchain or nothing."""
    if not version:
        return None
    v = lean_version_of(version) if ":" in version else version.strip()
    m = _RELEASE.match(v or "")
    if not m:
        return None
    rc = int(m[4]) if m[4] is not None else 10**6  # v4.9.0 comes after v4.9.0-rc3
    return int(m[1]), int(m[2]), int(m[3] or 0), rc


def _within(version: str | None, first: str, before: str | None) -> bool:
    """Is `version` a release in [first, before)? `before` None: no upper bound."""
    key = version_key(version)
    return key is not None and version_key(first) <= key and (before is None or key < version_key(before))


def leandojo_supports(version: str | None) -> bool:
    return _within(version, LEANDOJO_FROM, LEANDOJO_BEFORE)


def leaninteract_supports(version: str | None) -> bool:
    return _within(version, LEANINTERACT_FROM, None)


@dataclass(frozen=True)
class BackendChoice:
    env: str | None  # leandojo | leaninteract | None (no backend can run this version)
    reason: str


def choose_backend(lean_version: str | None) -> BackendChoice:
    """The backend for a repository on `lean_version` (`v4.9.0`, `leanprover/lean4:v4.15.0`, None)."""
    if lean_version is None:
        # Data traced by LeanDojo without a recorded toolchain: LeanDojo traced it, so LeanDojo can run it.
        return BackendChoice("leandojo", "no Lean version recorded (LeanDojo-traced data)")
    if version_key(lean_version) is None:
        return BackendChoice(None, f"Lean version {lean_version} is not a release; pass --env leandojo or "
                                   "--env leaninteract to choose")
    if leandojo_supports(lean_version):
        return BackendChoice("leandojo", f"Lean {lean_version} is in LeanDojo's range "
                                         f"({LEANDOJO_FROM} up to {LEANDOJO_BEFORE})")
    if leaninteract_supports(lean_version):
        return BackendChoice("leaninteract", f"Lean {lean_version} is outside LeanDojo's range (tactic "
                                             f"interaction fails from {LEANDOJO_BEFORE}, LeanDojo issue 211); "
                                             f"LeanInteract supports {LEANINTERACT_FROM} and later")
    return BackendChoice(None, f"Lean {lean_version} is supported by neither LeanDojo ({LEANDOJO_FROM} up to "
                               f"{LEANDOJO_BEFORE}) nor LeanInteract ({LEANINTERACT_FROM} and later)")
