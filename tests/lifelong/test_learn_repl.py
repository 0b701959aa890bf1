"""`learn` on a repository past LeanDojo (a stand-in Lean v4.36 project) traced through the Lean REPL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leanagent.cli import main
from tests.conftest import EXAMPLE
from tests.fake_repl.nat_list_script import script
from tests.fake_repl.stand_in import install

TINY = """\
learn: {env: replay, prove_timeout: 5, max_expansions: 4, num_tactics: 4, eval_limit: 4, knn_encoder: tiny-bert,
        generator_max_steps: 2, generator_epochs: 1}
train: {batch_size: 4, warmup_steps: 1, max_steps: 2}
retriever: {encoder: tiny-bert}
generator: {d_model: 8, num_layers: 2, num_heads: 2, d_ff: 16, max_output_bytes: 8, num_premises: 2}
"""


@pytest.mark.slow
def test_learn_traces_a_lean_4_36_path_entry_with_the_repl_and_fills_its_cells(tmp_path, monkeypatch, capsys):
    install(tmp_path, monkeypatch, script(), version="v4.36.0")
    root = tmp_path / "nat-list-436"
    shutil.copytree(EXAMPLE.parent / "nat-list-src", root)
    (root / "lean-toolchain").write_text("leanprover/lean4:v4.36.0\n")
    repos = tmp_path / "repos.yaml"
    repos.write_text(f"repos:\n  - path: {root}\n    name: natlist436\n")  # tracer: auto
    (tmp_path / "tiny.yaml").write_text(TINY)
    home = tmp_path / "home"
    code = main(["--db", f"sqlite:///{tmp_path / 'db.sqlite'}", "--home", str(home), "--json", "learn",
                 "--repos", str(repos), "--config", str(tmp_path / "tiny.yaml")])
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    (metrics_file,) = Path(home).rglob("metrics.json")
    metrics = json.loads(metrics_file.read_text())
    assert metrics["repositories"] == ["natlist436"]
    from leanagent.db.engine import open_db
    from leanagent.db.stats import repo_stats

    db = open_db(f"sqlite:///{tmp_path / 'db.sqlite'}")
    (row,) = repo_stats(db)
    db.dispose()
    assert (row["tracer"], row["theorems"], row["steps"]) == ("repl", 150, 200)  # auto: v4.36 is past LeanDojo
    for name in ("R@10", "tactic_acc"):
        cells = metrics["matrices"][name]
        assert cells and all(v is not None for row in cells for v in row), cells
