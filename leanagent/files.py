"""File-system helpers shared by the packages that write user-visible files."""

from __future__ import annotations

import os


def default_mode(directory: bool = False) -> int:
    """The mode `open()`/`mkdir()` would give under the current umask (0644/0755 under umask 022).

    `tempfile.mkstemp`/`mkdtemp` create 0600/0700 entries whatever the umask; a report or an export
    built in one and renamed into place must get the ordinary mode back, or nobody else can read it.
    """
    mask = os.umask(0)  # the only way to read the umask; set back at once
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask
