"""Copy the example's Lean sources into a git repository of their own, to check a patch for real.

`examples/nat-list-src` sits inside the leanagent checkout, so `git apply --check` run there applies
against leanagent's own repository: it skips the patch (`Skipped patch ...`) and exits 0 whatever the
patch holds. In a repository of their own, a patch that does not fit fails.

    python examples/source_repo.py /tmp/nat-list-src
    git -C /tmp/nat-list-src apply --check "$PWD/nat.patch"
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "nat-list-src"


def make(dest: Path) -> Path:
    """`dest` (created; must not exist or be empty) holding the sources, committed once."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise SystemExit(f"{dest} is not empty: give a new folder")
    shutil.copytree(SOURCES, dest, dirs_exist_ok=True)
    git = ["git", "-C", str(dest), "-c", "user.name=leanagent example", "-c", "user.email=example@localhost"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the example's Lean sources"]):
        subprocess.run(git + args, check=True, capture_output=True)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python examples/source_repo.py DEST")
    print(make(Path(sys.argv[1])))
