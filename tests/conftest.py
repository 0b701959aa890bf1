"""Shared fixtures: a fresh database, and the example dataset imported into one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nat-list"
#: A PostgreSQL server for the `postgres`-marked variants (.ci/run starts one).
PG_ENV = "LEANAGENT_TEST_PG_URL"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    # No test may touch the developer's own database or checkpoints.
    monkeypatch.delenv("LEANAGENT_DB", raising=False)
    monkeypatch.setenv("LEANAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LEANAGENT_DB_TIMEOUT", "0.2")


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture
def db(db_url):
    from leanagent.db.engine import open_db

    database = open_db(db_url)
    yield database
    database.dispose()


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE


@pytest.fixture
def example_db(db):
    """The example Nat/List dataset imported as the repository `nat-list`."""
    from leanagent.db.ingest import store_repo
    from leanagent.sources.leandojo_format import read_dataset

    store_repo(db, read_dataset(EXAMPLE))
    return db


@pytest.fixture
def sample_path() -> Path:
    from leanagent.settings import sample_path as find

    path = find()
    if not (path / "random" / "val.json").is_file():
        pytest.skip(f"the shared real sample is not at {path} (set LEANAGENT_SAMPLE)")
    return path


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database per test, on the server named by LEANAGENT_TEST_PG_URL."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server: set {PG_ENV} (as .ci/run does)")
    import uuid

    from sqlalchemy import create_engine, text

    name = f"leanagent_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request, tmp_path):
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'any.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def run_cli(capsys):
    """Run `leanagent ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from leanagent.cli import main

    def run(*args: str):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
