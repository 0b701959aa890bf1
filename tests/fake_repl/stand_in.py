"""Setting up the stand-in REPL and `lake` of this folder for a test (see `repl` and `lake` here).

lean-interact runs unchanged: `LeanREPLConfig` is given the stand-in REPL folder as its local REPL
(`.lake/build/bin/repl` inside it) and the stand-in `lake`, and `LeanServer` starts
`lake env .../repl` in the project folder and speaks the REPL's JSON protocol with it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

from leanagent.lean.repl import REPL_PATH_ENV, ReplOptions

HERE = Path(__file__).resolve().parent
VERSION = "v4.15.0"  # newer than LeanDojo's tactic interaction (4.12+): the LeanInteract backend's case


def install(tmp_path: Path, monkeypatch, script: dict, version: str = VERSION) -> SimpleNamespace:
    """A stand-in REPL folder and the environment variables the stand-ins read; returns the options."""
    repl_dir = tmp_path / "repl"
    (repl_dir / ".lake" / "build" / "bin").mkdir(parents=True, exist_ok=True)
    (repl_dir / "lean-toolchain").write_text(f"leanprover/lean4:{version}\n")
    exe = repl_dir / ".lake" / "build" / "bin" / "repl"
    if not exe.exists():
        exe.symlink_to(HERE / "repl")
    script_file = tmp_path / "repl-script.json"
    script_file.write_text(json.dumps(script, ensure_ascii=False))
    log = tmp_path / "repl.log"
    monkeypatch.setenv("FAKE_REPL_SCRIPT", str(script_file))
    monkeypatch.setenv("FAKE_REPL_LOG", str(log))
    # The whole-file re-check runs `lake env lean FILE`: the stand-in lake must come first on PATH.
    monkeypatch.setenv("PATH", f"{HERE}{os.pathsep}{os.environ['PATH']}")
    # Syncing takes no command-line options: it finds the REPL through this variable.
    monkeypatch.setenv(REPL_PATH_ENV, str(repl_dir))
    options = ReplOptions(path=str(repl_dir), lake=str(HERE / "lake"))
    return SimpleNamespace(options=options, log=log, script=script_file)


def project(root: Path, files: dict[str, str], version: str = VERSION) -> Path:
    """A folder shaped like a Lake project with `files` (relative path -> text)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "lean-toolchain").write_text(f"leanprover/lean4:{version}\n")
    (root / "lakefile.lean").write_text("import Lake\nopen Lake DSL\npackage toy\n@[default_target] lean_lib Toy\n")
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def launches(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def requests(log: Path) -> list[dict]:
    path = Path(str(log) + ".requests")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
