"""The database's run lock (lifelong/lock.py): a file lock on SQLite, an advisory lock on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leanagent.db.engine import open_db
from leanagent.errors import LockHeldError
from leanagent.lifelong.lock import PgRunLock, RunLock, run_lock

ROOT = Path(__file__).resolve().parents[2]
HOLD = ("import sys, time; from leanagent.db.engine import open_db; from leanagent.lifelong.lock import run_lock; "
        "l = run_lock(open_db(sys.argv[1]), sys.argv[2], 'nightly').acquire(); print('held', flush=True); "
        "time.sleep(60)")


def _holder(url: str, home: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, url, str(home)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_sqlite_lock_is_a_file_next_to_the_database_shared_by_learn_and_nightly(db, tmp_path):
    lock = run_lock(db, tmp_path / "home", "learn")
    assert isinstance(lock, RunLock) and lock.path == (tmp_path / "test.sqlite.lock").resolve()
    with lock:
        with pytest.raises(LockHeldError) as exc:
            run_lock(db, tmp_path / "elsewhere", "nightly").acquire()  # another home: the same database
        assert f"learn: pid {os.getpid()}" in exc.value.message
    with run_lock(db, tmp_path / "home", "nightly") as again:
        assert again.took_over is None


def test_in_memory_sqlite_locks_in_home(tmp_path):
    db = open_db("sqlite://")
    try:
        assert run_lock(db, tmp_path, "learn").path == tmp_path / "run.lock"
    finally:
        db.dispose()


@pytest.mark.postgres
def test_pg_lock_names_its_holder_and_dies_with_it(pg_url, tmp_path):
    db = open_db(pg_url)
    try:
        lock = run_lock(db, tmp_path, "learn")
        assert isinstance(lock, PgRunLock)
        proc = _holder(pg_url, tmp_path)
        try:
            with pytest.raises(LockHeldError) as exc:
                lock.acquire()
            msg = exc.value.message
            assert f"nightly: pid {proc.pid} on " in msg and "run lock of postgresql://" in msg
            assert "leanagent:leanagent@" not in msg  # no password in the message
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        # The server ends a dead holder's session, and its lock with it: no stale lock to clear by hand.
        for _ in range(50):
            try:
                lock.acquire()
                break
            except LockHeldError:
                time.sleep(0.1)
        assert lock.took_over is None
        lock.release()
        with run_lock(db, tmp_path, "nightly"):  # released cleanly: free again
            pass
    finally:
        db.dispose()


def test_second_learn_exits_2_while_the_lock_is_held(any_db_url, run_cli, tmp_path):
    db = open_db(any_db_url)
    try:
        with run_lock(db, tmp_path / "home", "nightly"):
            code, out, err = run_cli("--db", any_db_url, "--home", tmp_path / "home", "--json", "learn",
                                     "--repos", ROOT / "examples" / "repos.yaml", "--env", "replay")
    finally:
        db.dispose()
    error = json.loads(out.splitlines()[-1])
    assert code == 2 and error["exit_code"] == 2 and "another run holds" in error["error"], out
    assert f"nightly: pid {os.getpid()}" in error["error"]
