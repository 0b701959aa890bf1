"""`import --split hash|dataset|test`: stored per theorem, shown by `db stats`, read by every query."""

from __future__ import annotations

import json

from sqlalchemy import select

from leanagent.data import SourceScope
from leanagent.db.models import Theorem
from leanagent.db.training_data import proposer_steps, step_examples
from leanagent.db.splits import random_split


def _thm(i: int, tactic: str = "simp") -> dict:
    return {"url": "https://example.org/x", "commit": "c" * 40, "file_path": f"X/F{i % 3}.lean",
            "full_name": f"X.t{i}", "start": [i * 10, 1], "end": [i * 10 + 2, 1],
            "traced_tactics": [{"tactic": tactic, "annotated_tactic": [tactic, []],
                                "state_before": f"n : Nat\n⊢ n + {i} = {i} + n", "state_after": "no goals"}]}


def make_dataset(root, sizes=(6, 2, 2)):
    """A LeanDojo dataset with its own random/{train,val,test}.json of the given sizes."""
    (root / "random").mkdir(parents=True)
    (root / "metadata.json").write_text(json.dumps({"from_repo": {"url": "https://example.org/x", "commit": "c" * 40}}))
    i = 0
    for name, n in zip(("train", "val", "test"), sizes):
        (root / "random" / f"{name}.json").write_text(json.dumps([_thm(i + k) for k in range(n)]))
        i += n
    return root


def _splits(db, repo):
    with db.session() as s:
        from leanagent.db.models import Repository

        return {t.full_name: t.split for t in s.scalars(
            select(Theorem).join(Repository).where(Repository.name == repo))}


def test_dataset_split_keeps_the_files_membership(run_cli, db_url, db, tmp_path):
    data = make_dataset(tmp_path / "ds")
    code, out, err = run_cli("--db", db_url, "import", data, "--name", "x", "--split", "dataset")
    assert code == 0, err
    splits = _splits(db, "x")
    assert [splits[f"X.t{i}"] for i in range(10)] == ["train"] * 6 + ["val"] * 2 + ["test"] * 2
    assert {e.theorem_name for e in step_examples(db, "x", "test", with_premises_only=False)} == {"X.t8", "X.t9"}
    code, out, _ = run_cli("--db", db_url, "--json", "db", "stats")
    (row,) = json.loads(out)["repositories"]
    assert (row["split"], row["train"], row["val"], row["test"]) == ("dataset", 6, 2, 2)


def test_hash_split_is_the_seeded_hash_and_changing_policy_reimports(run_cli, db_url, db, tmp_path):
    data = make_dataset(tmp_path / "ds")
    assert run_cli("--db", db_url, "import", data, "--name", "x")[0] == 0
    with db.session() as s:
        rows = s.execute(select(Theorem.file_path, Theorem.full_name, Theorem.start_line, Theorem.start_col,
                                Theorem.split)).all()
    assert all(sp == random_split(("x", fp, fn, line, col)) for fp, fn, line, col, sp in rows)
    code, out, _ = run_cli("--db", db_url, "import", data, "--name", "x", "--split", "test")
    assert code == 0 and "updated repository x" in out
    assert set(_splits(db, "x").values()) == {"test"}


def test_evaluation_only_data_never_feeds_training_or_proposers(run_cli, db_url, db, tmp_path):
    assert run_cli("--db", db_url, "import", make_dataset(tmp_path / "a"), "--name", "learned")[0] == 0
    code, out, err = run_cli("--db", db_url, "import", make_dataset(tmp_path / "b"), "--name", "bench",
                             "--split", "test")
    assert code == 0, err
    assert step_examples(db, "bench", "train") == [] and step_examples(db, "bench", "val") == []
    everything = proposer_steps(db, SourceScope(None, ("train", "val", "test")))
    with db.session() as s:
        bench_ids = set(s.scalars(select(Theorem.id).join(Theorem.repository).where(
            Theorem.repository.has(name="bench"))))
    assert everything and not {st.theorem_id for st in everything} & bench_ids
    assert proposer_steps(db, SourceScope(("bench",), ("train", "val", "test"))) == []
    from leanagent.training.generator import examples_for

    assert examples_for(db, "bench", "train") == []
    code, out, _ = run_cli("--db", db_url, "db", "stats")
    assert "bench (evaluation only)" in out


def test_dataset_split_needs_a_known_policy_and_split_files(tmp_path):
    import pytest

    from leanagent.errors import DatasetError
    from leanagent.sources.leandojo_format import read_dataset

    with pytest.raises(DatasetError, match="unknown split policy"):
        read_dataset(make_dataset(tmp_path / "ds"), split="nope")
    rec = read_dataset(tmp_path / "ds", split="dataset")
    assert [t.dataset_split for t in rec.theorems].count("val") == 2
