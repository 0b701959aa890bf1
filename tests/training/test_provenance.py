"""Checkpoint provenance (issue 24): what a checkpoint trained on, and the refusal to evaluate it there."""

from __future__ import annotations

import json

from leanagent.training import provenance


def _train(run_cli, db_url, tmp_path) -> str:
    from tests.generator.test_generation_cli import TINY

    code, out, err = run_cli("--db", db_url, "--json", "train", "generator", "--out", tmp_path / "gen", *TINY)
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])["stages"][-1]["folder"]


def test_a_checkpoint_evaluated_on_what_it_trained_on_is_refused_in_one_line(run_cli, example_db, db_url,
                                                                              example_path, tmp_path):
    folder = _train(run_cli, db_url, tmp_path)
    prov = provenance.read(folder)
    assert prov is not None and prov.run_id is not None and prov.stage == "nat-list" and len(prov.theorems) > 50
    evaluate = ("--db", db_url, "eval", "generator", "--proposer", "model", "--checkpoint", folder,
                "--retrieval", "none", "--k", "2", "--limit", "3")
    code, out, err = run_cli(*evaluate)
    assert code == 0, err
    assert out.startswith(f"checkpoint {folder} (run {prov.run_id}, stage nat-list; trained on ")
    # Re-imported as evaluation-only: every theorem is test now, including the ones it trained on.
    code, out, err = run_cli("--db", db_url, "import", example_path, "--split", "test")
    assert code == 0, err
    code, out, err = run_cli(*evaluate)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert f"checkpoint {folder} trained on" in err and "--allow-overlap" in err
    code, out, err = run_cli(*evaluate, "--allow-overlap")
    assert code == 0 and "warning: the checkpoint trained on" in out and "not a held-out figure" in out
    code, out, err = run_cli("--db", db_url, "prove", "--env", "replay", "--theorems", "test", "--proposer",
                             "model", "--checkpoint", folder, "--retrieval", "none", "--limit", "1")
    assert code == 1 and "trained on" in err and err.count("\n") == 1
