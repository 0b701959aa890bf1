"""The CLI starts without the review app's web stack (a GPU node may lack it): only `review` needs it."""

from __future__ import annotations

import subprocess
import sys

BLOCK = r"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("starlette", "fastapi", "uvicorn"):
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, Block())
from leanagent.cli import main
sys.argv = ["leanagent", "--help"]
raise SystemExit(main())
"""


def test_help_and_parser_need_no_web_stack():
    out = subprocess.run([sys.executable, "-c", BLOCK], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "learn" in out.stdout and "review" in out.stdout
