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
  lock (`pg_try_advisory_lock`) on a connection of its own, held for the run
  (`leanagent.db.advisory_lock`).
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


PG_RUN_KEY = 1  # the advisory lock key of the lifelong run lock (learn and nightly; leanagent.db.advisory_lock)


class PgRunLock:
    """The PostgreSQL advisory lock, held on a dedicated connection (see the module docstring)."""

    def __init__(self, url, command: str | None = None, key: int = PG_RUN_KEY):
        self.url = url  # a sqlalchemy URL (with the password; shown without it)
        self.command = command
        self.key = key
        self.took_over: dict | None = None  # never known here: a dead session leaves no record
        self._held = None

    def _shown(self) -> str:
        from leanagent.db.advisory_lock import shown_url

        return shown_url(self.url)

    def acquire(self) -> "PgRunLock":
        from leanagent.db.advisory_lock import try_advisory_lock

        # application_name (63 bytes at most) is how another machine learns who holds the lock.
        name = f"leanagent {self.command or 'run'} {os.getpid()}@{socket.gethostname()}"[:63]
        held, holder = try_advisory_lock(self.url, self.key, name)
        if held is None:
            raise LockHeldError(f"another run holds the run lock of {self._shown()} ({_describe(_holder(holder))})",
                                fix=_WAIT)
        self._held = held
        return self

    def release(self) -> None:
        if self._held is not None:
            self._held.release()
            self._held = None

    def __enter__(self) -> "PgRunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _holder(session) -> dict:
    """{command, pid, host, started} of the session holding the lock (a `leanagent.db.advisory_lock.LockHolder`,
    or None when the server shows none), as far as its application_name (set in `PgRunLock.acquire`) tells."""
    if session is None:  # released in between, or not visible to this role
        return {}
    parts = (session.application_name or "").split(" ")
    started = session.backend_start
    holder = {"host": session.client_hostname or session.client_addr,
              "started": started.isoformat(timespec="seconds") if started else None}
    if len(parts) == 3 and parts[0] == "leanagent" and "@" in parts[2]:
        pid, _, host = parts[2].partition("@")
        holder.update(command=parts[1], pid=pid, host=host)
    return holder


def run_lock(db, home: str | Path, command: str) -> RunLock | PgRunLock:
    """The run lock of `db` for `command` (learn | nightly): one lock per database, shared by both commands.

    SQLite: the file `<database file>.lock` (or `<home>/run.lock` for an in-memory database).
    PostgreSQL: an advisory lock, which works across machines.
    """
    url = db.engine.url
    if db.backend == "postgresql":
        return PgRunLock(url, command)
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).resolve()  # one lock file however the database is named (relative, symlink)
        return RunLock(path.with_name(path.name + ".lock"), command)
    return RunLock(Path(home) / "run.lock", command)
