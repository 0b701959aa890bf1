"""The run lock: one lifelong run (`learn` or `nightly`) writes a database at a time.

Both commands sync repositories, train into their run folders and resume the
latest unfinished run, so two at once on one database would run the same
steps twice or re-trace a repository under the other's feet. The lock is per
database, shared by both commands (`run_lock`); `prove` takes none, since its
writes are safe side by side (leanagent/db/proofs.py).

- SQLite: an advisory `flock` on a file next to the database file. The kernel
  drops it when its process dies, however it dies, so a lock left by a killed
  run is never a real obstacle; the file still names the dead holder, which
  is how a stale lock is recognised and reported when it is taken over.
- PostgreSQL (several machines may share the database): a session advisory
  lock (`pg_try_advisory_lock`) on a connection of its own, held for the run.
  The server drops it when that session ends; TCP keepalives set on the
  session make it notice a holder whose machine vanished within about two
  minutes. The holder is named from `pg_stat_activity` (the session's
  application_name carries command, pid and host); no record of a dead
  holder survives its session, so a take-over is not reported there.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

import psutil

from leanagent.errors import LockHeldError

_WAIT = "wait for it to finish; the lock is released automatically when that process ends"


class RunLock:
    """The file lock (SQLite, or any single machine)."""

    def __init__(self, path: str | Path, command: str | None = None):
        self.path = Path(path)
        self.command = command  # learn | nightly: named in the holder record
        self._fd: int | None = None
        self.took_over: dict | None = None  # the stale holder we replaced, if any

    def _holder(self) -> dict | None:
        try:
            return json.loads(self.path.read_text() or "null")
        except (OSError, ValueError):
            return None

    def acquire(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self._holder() or {}
            raise LockHeldError(f"another run holds {self.path} ({_describe(holder)})", fix=_WAIT) from None
        previous = self._holder()
        if previous and previous.get("pid") and not _alive(previous):
            self.took_over = previous
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"command": self.command, "pid": os.getpid(), "host": socket.gethostname(),
                                 "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                 "create_time": psutil.Process().create_time()}).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _alive(holder: dict) -> bool:
    """Is the process that wrote this lock file still running (same pid, same start time)?"""
    if holder.get("host") != socket.gethostname():
        return True  # cannot tell for another machine; the flock already said it is free
    try:
        proc = psutil.Process(int(holder["pid"]))
        return abs(proc.create_time() - float(holder.get("create_time", 0))) < 1.0
    except (psutil.Error, ValueError, KeyError):
        return False


def _describe(holder: dict) -> str:
    """`learn: pid 12 on host since 2024-05-01T02:00:00+0000` (`?` for what is not known)."""
    what = f"{holder['command']}: " if holder.get("command") else ""
    return f"{what}pid {holder.get('pid') or '?'} on {holder.get('host') or '?'} since {holder.get('started') or '?'}"


#: pg_try_advisory_lock(SPACE, key): SPACE keeps leanagent's keys apart from other programs' advisory locks
#: on the same database ("LEAN" as an int4); advisory locks are per database already.
PG_LOCK_SPACE = 0x4C45414E
PG_RUN_KEY = 1  # the lifelong run lock (learn and nightly)


class PgRunLock:
    """The PostgreSQL advisory lock, held on a dedicated connection (see the module docstring)."""

    def __init__(self, url, command: str | None = None, key: int = PG_RUN_KEY):
        self.url = url  # a sqlalchemy URL (with the password; shown without it)
        self.command = command
        self.key = key
        self.took_over: dict | None = None  # never known here: a dead session leaves no record
        self._engine = None
        self._conn = None

    def _shown(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def acquire(self) -> "PgRunLock":
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError
        from sqlalchemy.pool import NullPool

        from leanagent.db.engine import describe_error

        # application_name (63 bytes at most) is how another machine learns who holds the lock.
        name = f"leanagent {self.command or 'run'} {os.getpid()}@{socket.gethostname()}"[:63]
        # Its own engine and no pool: the session must live exactly as long as the lock, and AUTOCOMMIT keeps
        # it from idling in an open transaction for the hours a run takes.
        engine = create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                               connect_args={"application_name": name})
        try:
            conn = engine.connect()
            try:
                # Server-side keepalives: a holder whose machine died (no FIN ever comes) is dropped, and its
                # lock with it, after about 60 + 6 * 10 seconds instead of the kernel's two hours.
                for setting, value in (("tcp_keepalives_idle", 60), ("tcp_keepalives_interval", 10),
                                       ("tcp_keepalives_count", 6)):
                    conn.execute(text(f"SET {setting} = {value}"))
                got = conn.execute(text("SELECT pg_try_advisory_lock(:space, :key)"),
                                   {"space": PG_LOCK_SPACE, "key": self.key}).scalar()
                holder = None if got else self._holder(conn)
            except BaseException:
                conn.close()
                raise
        except SQLAlchemyError as exc:
            engine.dispose()
            raise describe_error(exc, self._shown()) from exc
        if not got:
            conn.close()
            engine.dispose()
            raise LockHeldError(f"another run holds the run lock of {self._shown()} ({_describe(holder or {})})",
                                fix=_WAIT)
        self._engine, self._conn = engine, conn
        return self

    def _holder(self, conn) -> dict:
        """{command, pid, host, started} of the session holding the lock, as far as the server shows it."""
        from sqlalchemy import text

        row = conn.execute(text(
            "SELECT a.application_name, a.client_hostname, host(a.client_addr), a.backend_start "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
            "AND l.classid = CAST(:space AS oid) AND l.objid = CAST(:key AS oid) "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"space": PG_LOCK_SPACE, "key": self.key}).first()
        if row is None:  # released in between, or not visible to this role
            return {}
        app, client_host, client_addr, started = row
        parts = (app or "").split(" ")
        holder = {"host": client_host or client_addr, "started": started.isoformat(timespec="seconds")
                  if started else None}
        if len(parts) == 3 and parts[0] == "leanagent" and "@" in parts[2]:
            pid, _, host = parts[2].partition("@")
            holder.update(command=parts[1], pid=pid, host=host)
        return holder

    def release(self) -> None:
        if self._conn is None:
            return
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:space, :key)"),
                               {"space": PG_LOCK_SPACE, "key": self.key})
        except SQLAlchemyError:
            pass  # the session is gone, and the lock with it
        finally:
            self._conn.close()
            self._engine.dispose()
            self._conn = self._engine = None

    def __enter__(self) -> "PgRunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def run_lock(db, home: str | Path, command: str) -> RunLock | PgRunLock:
    """The run lock of `db` for `command` (learn | nightly): one lock per database, shared by both commands.

    SQLite: the file `<database file>.lock` (or `<home>/run.lock` for an in-memory database).
    PostgreSQL: an advisory lock, which works across machines.
    """
    url = db.engine.url
    if url.get_backend_name() == "postgresql":
        return PgRunLock(url, command)
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).resolve()  # one lock file however the database is named (relative, symlink)
        return RunLock(path.with_name(path.name + ".lock"), command)
    return RunLock(Path(home) / "run.lock", command)
