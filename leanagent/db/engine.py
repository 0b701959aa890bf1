"""Opening the database: URL checks, engines, sessions, schema version, migrations.

SQLite is the embedded default; PostgreSQL works through the same code. The
schema is owned by Alembic: a new database is created by running every
migration, and an older one is upgraded only on `leanagent db migrate`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from leanagent.errors import DatabaseError

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
#: Seconds to wait for a lock held by another writer before giving up.
LOCK_TIMEOUT_ENV = "LEANAGENT_DB_TIMEOUT"
_MIGRATIONS = Path(__file__).parent / "migrations"


def _lock_timeout() -> float:
    try:
        return float(os.environ.get(LOCK_TIMEOUT_ENV, "10"))
    except ValueError:
        return 10.0


def parse_url(url: str) -> URL:
    """Check a database URL and name the fix when it is wrong."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(f"cannot parse database URL {url!r}",
                            fix="use sqlite:///path/to/file.sqlite or postgresql://user@host/dbname") from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseError(f"unknown database scheme {parsed.drivername!r} in --db {url!r}",
                            fix="use sqlite:///path/to/file.sqlite or postgresql://user@host/dbname")
    return parsed


def describe_error(exc: BaseException, url: str) -> DatabaseError:
    """Turn a driver error into one clear line."""
    msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
    low = msg.lower()
    if "locked" in low or "busy" in low:
        return DatabaseError(f"database {url} is locked by another process ({msg})",
                             fix="wait for the other leanagent command to finish, then run this again")
    if "unable to open" in low or "readonly" in low or "read-only" in low or "not a database" in low \
            or "disk i/o" in low or "file is not" in low:
        return DatabaseError(f"cannot use database {url}: {msg}",
                             fix="check that the file is a leanagent SQLite database and is readable and writable")
    if "could not connect" in low or "connection refused" in low or "does not exist" in low:
        return DatabaseError(f"cannot connect to database {url}: {msg}",
                             fix="start the PostgreSQL server and create the database, or use --db sqlite:///...")
    return DatabaseError(f"database error on {url}: {msg}")


def _alembic_config(engine_url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine_url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


@dataclass
class Database:
    """An open database: the engine plus a session factory."""

    url: str
    engine: Engine
    sessions: sessionmaker

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed at the end, rolled back on any error (or Ctrl-C)."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException as exc:
            session.rollback()
            if isinstance(exc, SQLAlchemyError) and not isinstance(exc, DatabaseError):
                raise describe_error(exc, self.url) from exc
            raise
        finally:
            session.close()

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """One transaction that writes on what it has read (check, then insert), with other writers about.

        On SQLite it takes the database's write lock before the first read (BEGIN IMMEDIATE; other writers
        queue on the busy timeout), so nothing written by another process can slip in between; pysqlite
        would otherwise begin the transaction only at the first write, after the check. On PostgreSQL the
        caller locks the rows its check is about (`SELECT ... FOR UPDATE`), so unrelated writers still run
        side by side.
        """
        with self.session() as s:
            if self.backend == "sqlite":
                s.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield s

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    def current_revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    return None
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError as exc:
            raise describe_error(exc, self.url) from exc

    def migrate(self, revision: str = "head") -> tuple[str | None, str]:
        """Upgrade the schema to `revision`. Returns (before, after)."""
        from alembic import command

        before = self.current_revision()
        cfg = _alembic_config(self.url)
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except SQLAlchemyError as exc:
            raise describe_error(exc, self.url) from exc
        return before, self.current_revision() or ""

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # SQLite ignores ON DELETE CASCADE unless foreign keys are switched on per connection.
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_db(url: str, *, create: bool = True, upgrade: bool = False, check: bool = True) -> Database:
    """Open the database at `url`.

    A new (empty) database gets the full schema when `create` is true. An older
    schema raises `DatabaseError` asking for `leanagent db migrate`, unless
    `upgrade` is true, in which case it is upgraded here. `check=False` skips
    the schema check (for `db migrate`, which reports what it did itself).
    """
    parsed = parse_url(url)
    kwargs: dict = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        db_file = parsed.database
        if db_file and db_file != ":memory:":
            path = Path(db_file)
            if not path.exists():
                if not create:
                    raise DatabaseError(f"no database at {path}",
                                        fix="run `leanagent import` first, or pass --db with the right path")
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DatabaseError(f"cannot create the folder for database {path}: {exc.strerror}") from None
            elif path.is_dir():
                raise DatabaseError(f"database path {path} is a directory",
                                    fix="pass a file path, e.g. --db sqlite:///db/leanagent.sqlite")
        kwargs["connect_args"] = {"timeout": _lock_timeout()}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise DatabaseError(f"unknown database scheme {parsed.drivername!r} in --db {url!r}",
                            fix="use sqlite:///path/to/file.sqlite or postgresql://user@host/dbname") from None
    except ModuleNotFoundError as exc:
        raise DatabaseError(f"the driver for {parsed.drivername} is not installed ({exc.name})",
                            fix="pip install 'leanagent[postgres]'") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    db = Database(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    if check:
        _check_schema(db, create=create, upgrade=upgrade)
    return db


def _check_schema(db: Database, *, create: bool, upgrade: bool) -> None:
    current = db.current_revision()
    head = head_revision()
    if current == head:
        return
    if current is None:
        try:
            with db.engine.connect() as conn:
                has_tables = bool(inspect(conn).get_table_names())
        except (OperationalError, SQLAlchemyError) as exc:
            raise describe_error(exc, db.url) from exc
        if has_tables:
            raise DatabaseError(f"database {db.url} has tables but no leanagent schema version",
                                fix="point --db at a new file or an empty database")
        if create or upgrade:
            db.migrate()
            return
    if upgrade:
        db.migrate()
        return
    raise DatabaseError(f"database {db.url} has schema {current}, this leanagent needs {head}",
                        fix="run `leanagent db migrate` to upgrade it")
