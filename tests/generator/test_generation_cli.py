"""`leanagent train generator` and `leanagent eval generator` on the tiny example dataset."""

from __future__ import annotations

import json

from leanagent.cli import main

TINY = ["--d-model", "8", "--num-layers", "2", "--num-heads", "2", "--d-ff", "16", "--max-output-bytes", "8",
        "--max-input-bytes", "256", "--num-premises", "2", "--max-steps", "2", "--batch-size", "4",
        "--eval-limit", "3", "--eval-k", "2"]


def test_train_then_eval_then_prove_with_the_checkpoint(example_db, db_url, tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["train", "generator", "--db", db_url, "--out", str(out), "--json", *TINY]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    result = lines[-1]
    (stage,) = result["stages"]
    assert stage["examples"] > 0 and (out / "00-nat-list" / "generator.json").is_file()
    per_repo = stage["metrics"]["per_repo"]["nat-list"]
    # Each figure with its denominator: the number of test steps it was measured on (issue 27).
    # ... and beside the frequency baseline's exact match on the same steps, measured in the same run.
    assert set(per_repo) == {"tactic_acc", "tactic_top_k", "tactic_acc/n", "tactic_top_k/n",
                             "tactic_acc_frequency", "tactic_acc_frequency/n"}
    assert per_repo["tactic_acc/n"] == per_repo["tactic_top_k/n"] == per_repo["tactic_acc_frequency/n"] >= 1
    # The checkpoint is recorded: `eval generator --proposer model` finds it.
    assert main(["eval", "generator", "--db", db_url, "--proposer", "model", "--k", "2", "--limit", "3",
                 "--json"]) == 0
    ev = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert ev["k"] == 2 and ev["steps"] >= 1 and 0 <= ev["exact_match"] <= ev["top_k"] <= 100
    assert ev["proposer"].startswith("model[") and str(out) in ev["proposer"]
    # `prove` defaults to the merged proposer, which picks up the recorded checkpoint.
    assert main(["prove", "--db", db_url, "--env", "replay", "--workers", "0", "--theorems", "all",
                 "--knn-encoder", "tiny-bert", "--num-tactics", "2", "--max-expansions", "2", "--limit", "2",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["attempted"] == 2 and summary["model"].startswith("merged[model[")


def test_eval_generator_knn_leaves_each_step_out(example_db, db_url, capsys):
    # Over all steps with kNN built from all steps: without leave-one-out every step would find itself.
    assert main(["eval", "generator", "--db", db_url, "--proposer", "knn", "--knn-encoder", "tiny-bert",
                 "--split", "all", "--source-split", "all", "--k", "64", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["steps"] > 0 and ev["top_k"] < 100.0


def test_eval_generator_human_output_and_bad_k(example_db, db_url, capsys):
    assert main(["eval", "generator", "--db", db_url, "--proposer", "frequency", "--split", "all"]) == 0
    out = capsys.readouterr().out
    assert "frequency[64,train]" in out and "overall" in out
    assert main(["eval", "generator", "--db", db_url, "--k", "0"]) == 1
    assert "--k must be at least 1" in capsys.readouterr().err
