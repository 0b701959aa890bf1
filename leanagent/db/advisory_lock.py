"""PostgreSQL session advisory locks, each held on a connection of its own (the run lock of
`leanagent.lifelong.lock` on PostgreSQL).

`try_advisory_lock` opens a dedicated session (its own engine, no pool, AUTOCOMMIT: the session must live
exactly as long as the lock, and must not idle in an open transaction for the hours a run takes), sets
server-side TCP keepalives on it and tries `pg_try_advisory_lock`. The server drops the lock when that
session ends, however its process ends. When another session holds the lock, the answer is the holder
as `pg_stat_activity` shows it (its application_name is how another machine learns who holds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from leanagent.db.engine import describe_error

#: pg_try_advisory_lock(SPACE, key): SPACE keeps leanagent's keys apart from other programs' advisory locks
#: on the same database ("LEAN" as an int4); advisory locks are per database already.
PG_LOCK_SPACE = 0x4C45414E

# Server-side keepalives: a holder whose machine died (no FIN ever comes) is dropped, and its lock with it,
# after about 60 + 6 * 10 seconds instead of the kernel's two hours.
_KEEPALIVES = (("tcp_keepalives_idle", 60), ("tcp_keepalives_interval", 10), ("tcp_keepalives_count", 6))


def shown_url(url) -> str:
    """A database URL (a sqlalchemy URL, as `Database.engine.url`) as text, without its password."""
    return url.render_as_string(hide_password=True)


@dataclass(frozen=True)
class LockHolder:
    """The session holding an advisory lock, as far as the server shows it (None: not shown)."""

    application_name: str | None
    client_hostname: str | None
    client_addr: str | None
    backend_start: datetime | None


class HeldAdvisoryLock:
    """An advisory lock held by this process, on its own session; `release` ends both."""

    def __init__(self, engine, conn, key: int):
        self._engine, self._conn, self.key = engine, conn, key

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:space, :key)"),
                               {"space": PG_LOCK_SPACE, "key": self.key})
        except SQLAlchemyError:
            pass  # the session is gone, and the lock with it
        finally:
            self._conn.close()
            self._engine.dispose()
            self._conn = self._engine = None


def try_advisory_lock(url, key: int, application_name: str) -> tuple[HeldAdvisoryLock | None, LockHolder | None]:
    """(the lock, None) when this process got lock `key` on the database at `url` (a sqlalchemy URL), else
    (None, its holder; None when the holder is not visible). A failure to connect raises DatabaseError.
    `application_name`: how this session is named to others (63 bytes at most)."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                           connect_args={"application_name": application_name})
    try:
        conn = engine.connect()
        try:
            for setting, value in _KEEPALIVES:
                conn.execute(text(f"SET {setting} = {value}"))
            got = conn.execute(text("SELECT pg_try_advisory_lock(:space, :key)"),
                               {"space": PG_LOCK_SPACE, "key": key}).scalar()
            holder = None if got else _holder(conn, key)
        except BaseException:
            conn.close()
            raise
    except SQLAlchemyError as exc:
        engine.dispose()
        raise describe_error(exc, shown_url(url)) from exc
    if not got:
        conn.close()
        engine.dispose()
        return None, holder
    return HeldAdvisoryLock(engine, conn, key), None


def _holder(conn, key: int) -> LockHolder | None:
    """The session holding lock `key`; None when it was released in between, or is not visible to this role."""
    row = conn.execute(text(
        "SELECT a.application_name, a.client_hostname, host(a.client_addr), a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
        "AND l.classid = CAST(:space AS oid) AND l.objid = CAST(:key AS oid) "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
        {"space": PG_LOCK_SPACE, "key": key}).first()
    return None if row is None else LockHolder(*row)
