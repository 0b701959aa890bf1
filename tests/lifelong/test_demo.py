"""The README's main job as a new user runs it: `learn` on the example with the default options, then
review, accept, export-proofs and `git apply --check` (about 2-3 minutes on a CPU: `pytest -m slow`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_main_job_learns_proves_and_its_proofs_patch_the_sources(tmp_path):
    env = {**os.environ, "LEANAGENT_HOME": str(tmp_path / "checkpoints")}
    done = subprocess.run([sys.executable, "-m", "leanagent", "learn", "--repos", str(ROOT / "examples" / "repos.yaml")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Loading weights" not in done.stderr
    summary = Path(tmp_path / done.stdout.strip().removeprefix("report: ")).read_text()
    metrics = json.loads((tmp_path / "checkpoints" / "learn-1" / "report" / "metrics.json").read_text())
    # Every repository has test steps (no "–" column), and no table is zeros only.
    for name, rows in metrics["matrices"].items():
        cells = [x for row in rows + [metrics["baselines"][name]] for x in row]
        assert None not in cells, name
        assert any(x > 0 for x in cells), name
    # Retrieval moves from the starting models to the end.
    start, end = metrics["baselines"]["R@10"], metrics["matrices"]["R@10"][-1]
    assert sum(end) > sum(start)
    assert sum(p["proved"] for p in metrics["proved"].values()) > 0
    learned = summary.split("## What was learned\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(learned) == 2 and re.search(r"R@10 [\d.]+ → [\d.]+", learned[0]) and learned[1].startswith("- Proved ")

    # Review: accept everything, export, apply to a checkout of the example's sources.
    from leanagent.db.engine import open_db
    from leanagent.db.models import Proof
    from leanagent.db.review import record_review

    db = open_db(f"sqlite:///{tmp_path / 'db' / 'leanagent.sqlite'}")
    try:
        with db.session() as s:
            ids = [p.id for p in s.query(Proof)]
        for pid in ids:
            record_review(db, pid, "accepted", "demo")
    finally:
        db.dispose()
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "examples" / "nat-list-src", checkout)
    subprocess.run(["git", "init", "-q"], cwd=checkout, check=True)
    patched = 0
    for repo in ("nat", "list"):
        out = tmp_path / f"{repo}.patch"
        got = subprocess.run([sys.executable, "-m", "leanagent", "export-proofs", "--repo", repo, "--out", str(out)],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        if got.returncode == 1 and "nothing to patch" in got.stderr:
            continue  # every proof found in this repository is the file's own
        assert got.returncode == 0, got.stderr
        check = subprocess.run(["git", "apply", "--check", str(out)], cwd=checkout, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        patched += 1
    assert patched >= 1
