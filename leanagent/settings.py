"""Defaults that several packages share: one place for each of them."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that overrides the database URL (like `--db`).
DB_ENV = "LEANAGENT_DB"
#: Environment variable that overrides the home folder for checkpoints and runs (like `--home`).
HOME_ENV = "LEANAGENT_HOME"
#: Environment variable pointing at the shared real sample.
SAMPLE_ENV = "LEANAGENT_SAMPLE"
#: Where the shared real sample lives relative to the project root.
SAMPLE_DEFAULT = "../shared/data/mathlib-traced-sample"

DEFAULT_DB_RELPATH = Path("db") / "leanagent.sqlite"
DEFAULT_HOME = Path("checkpoints")


def default_db_url(cwd: Path | None = None) -> str:
    """`sqlite:///db/leanagent.sqlite` under the working directory, unless LEANAGENT_DB is set."""
    env = os.environ.get(DB_ENV)
    if env:
        return env
    base = Path(cwd) if cwd else Path.cwd()
    return f"sqlite:///{(base / DEFAULT_DB_RELPATH).as_posix()}"


def default_home() -> Path:
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)


def sample_path() -> Path:
    """The shared real sample: $LEANAGENT_SAMPLE, else ../shared/... from the project root."""
    env = os.environ.get(SAMPLE_ENV)
    if env:
        return Path(env)
    root = Path(__file__).resolve().parent.parent
    return (root / SAMPLE_DEFAULT).resolve()
