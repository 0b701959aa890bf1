"""A lock so that two nightly runs never overlap.

The lock is an advisory `flock` on a file in the home folder. The kernel drops
it when its process dies, however it dies, so a lock left by a killed run is
never a real obstacle; the file still names the dead holder, which is how a
stale lock is recognised and reported when it is taken over.
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


class RunLock:
    def __init__(self, path: str | Path):
        self.path = Path(path)
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
            raise LockHeldError(
                f"another run holds {self.path} (pid {holder.get('pid', '?')} on {holder.get('host', '?')} "
                f"since {holder.get('started', '?')})",
                fix="wait for it to finish; the lock is released automatically when that process ends") from None
        previous = self._holder()
        if previous and previous.get("pid") and not _alive(previous):
            self.took_over = previous
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
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
