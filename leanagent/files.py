"""File-system helpers shared by the packages that write user-visible files or caches."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def default_mode(directory: bool = False) -> int:
    """The mode `open()`/`mkdir()` would give under the current umask (0644/0755 under umask 022).

    `tempfile.mkstemp`/`mkdtemp` create 0600/0700 entries whatever the umask; a report or an export
    built in one and renamed into place must get the ordinary mode back, or nobody else can read it.
    """
    mask = os.umask(0)  # the only way to read the umask; set back at once
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename, so readers (and a
    concurrent writer of the same content) never see a half-written file; the file gets the ordinary mode."""
    fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=f".{Path(path).name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, default_mode())  # mkstemp's 0600 would hide the file from everyone else
    os.replace(tmp, path)


def json_digest(value) -> str:
    """A cache key: blake2b-128 of `value` as canonical JSON (sorted keys; other objects by `str`)."""
    return hashlib.blake2b(json.dumps(value, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()
