"""`leanagent train retriever` and `leanagent eval retrieval`."""

from __future__ import annotations

import json

from leanagent.cli import main


def test_eval_bm25_json(example_db, db_url, capsys):
    code = main(["--db", db_url, "eval", "retrieval", "--baseline", "bm25", "--split", "all", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) >= {"R@1", "R@10", "MRR", "per_repo"} and set(out["per_repo"]) == {"nat-list"}
    assert out["R@10"] > out["R@1"] >= 0 and set(out["per_repo"]["nat-list"]) >= {"R@1", "R@10", "MRR"}


def test_train_then_eval_the_trained_retriever(example_db, db_url, tmp_path, capsys):
    code = main(["--db", db_url, "--home", str(tmp_path / "home"), "train", "retriever", "--repo", "nat-list",
                 "--encoder", "tiny-bert", "--max-steps", "2", "--batch-size", "4"])
    out = capsys.readouterr().out
    assert code == 0 and "nat-list: 2 steps" in out and "R@10" in out
    code = main(["--db", db_url, "eval", "retrieval", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["per_repo"]["nat-list"]["steps"] > 0
    code = main(["--db", db_url, "eval", "retrieval", "--split", "train", "--knn-weight", "0.5"])
    out = capsys.readouterr().out
    assert code == 0 and "kNN prior (weight 0.5)" in out and "overall" in out


def test_errors_are_one_line(example_db, db_url, tmp_path, capsys):
    assert main(["--db", db_url, "eval", "retrieval"]) == 1
    assert "no trained retriever" in capsys.readouterr().err
    assert main(["--db", db_url, "eval", "retrieval", "--repo", "nope", "--baseline", "bm25"]) == 1
    assert "unknown repository nope" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  learning_rate: 3\n")
    assert main(["--db", db_url, "train", "retriever", "--config", str(bad)]) == 1
    assert "learning_rate" in capsys.readouterr().err
    assert main(["--db", db_url, "train", "retriever", "--encoder", "tiny-bert", "--rehearsal-fraction", "1.5"]) == 1
    assert "rehearsal_fraction" in capsys.readouterr().err


def test_generator_subcommands_are_attached(capsys):
    for group in ("train", "eval"):
        try:
            main([group, "--help"])
        except SystemExit:
            pass
        assert "generator" in capsys.readouterr().out


def test_eval_table_says_its_figures_are_percentages(example_db, db_url, capsys):
    code = main(["--db", db_url, "eval", "retrieval", "--baseline", "bm25", "--split", "all"])
    out = capsys.readouterr().out
    assert code == 0 and "R@1, R@10 and MRR in percent" in out.splitlines()[0]


def test_eval_without_a_database_says_so_and_creates_nothing(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'db' / 'none.sqlite'}"
    assert main(["--db", url, "eval", "retrieval", "--baseline", "bm25"]) == 1
    assert "no database at" in capsys.readouterr().err and not (tmp_path / "db").exists()
