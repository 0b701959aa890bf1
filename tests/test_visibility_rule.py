"""The visibility rule lives in one place (issue 24): `leanagent.data` (`TheoremRef.hidden`, `visible`).

Before, frequency, the kNN premise prior and kNN each restated "not the target's own theorem" with
their own comparison, and each failed open when the target was missing. This walks the package and
fails on any other module that compares a recorded step's theorem with a target's.
"""

from __future__ import annotations

import re
from pathlib import Path

import leanagent

ROOT = Path(leanagent.__file__).parent
# A comparison between some theorem id and a target's (or a query's own) theorem id.
RESTATED = re.compile(r"(theorem_id|theorems\[[^\]]*\])\s*[!=]=\s*\w*(target|own)\w*(\.theorem_id)?"
                      r"|\b(target|own)\w*\.theorem_id\s*[!=]=")
#: The judge, not a proposer: replay accepts the target's own recorded step as Lean's answer for it.
ALLOWED = {"data.py", "prover/replay.py", "prover/baselines.py"}


def offenders(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ALLOWED:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if RESTATED.search(line):
                out.append(f"{rel}:{n}: {line.strip()}")
    return out


def test_no_module_restates_the_visibility_rule():
    assert offenders(ROOT) == []


def test_the_check_can_fail(tmp_path):
    (tmp_path / "generator").mkdir()
    (tmp_path / "generator" / "bad.py").write_text("skip = lambda j: self.theorems[j] == own\n"
                                                   "ok = step.theorem_id != target.theorem_id\n")
    assert len(offenders(tmp_path)) == 2
