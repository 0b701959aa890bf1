"""Progressive retriever training end to end on the example dataset (tiny encoder)."""

from __future__ import annotations

import json

from leanagent.db.ingest import store_repo
from leanagent.db.runs import evaluation_matrix, latest_checkpoint
from leanagent.retrieval.index import stored_meta
from leanagent.retrieval.model import RetrieverOptions
from leanagent.sources.leandojo_format import read_dataset
from leanagent.training.evaluation import stage_evaluator
from leanagent.training.loop import TrainOptions
from leanagent.training.retriever import open_retriever, train_retriever


def test_two_repositories_fill_the_lifelong_matrix(example_db, example_path, tmp_path):
    store_repo(example_db, read_dataset(example_path, name="nat-list-b"))
    events = []
    repos = ["nat-list", "nat-list-b"]
    evaluate = stage_evaluator(example_db, repos, model="retriever", log=lambda **e: events.append(e))
    out = train_retriever(example_db, repos, RetrieverOptions(encoder="tiny-bert"),
                          TrainOptions(max_steps=2, batch_size=4, ewc_lambda=0.1, ewc_batches=2),
                          tmp_path / "run", evaluate=evaluate, log=lambda **e: events.append(e))
    cells = evaluation_matrix(example_db, out["run_id"], "R@10")
    assert set(cells) == {(0, "nat-list"), (1, "nat-list"), (1, "nat-list-b")}
    assert all(0.0 <= v <= 100.0 for v in cells.values())
    last = tmp_path / "run" / "01-nat-list-b"
    for name in ("encoder/config.json", "encoder/model.safetensors", "index/premises.faiss", "index/index.json",
                 "retriever.json", "config.json", "metrics.json", "ewc.safetensors"):
        assert (last / name).is_file(), name
    metrics = json.loads((last / "metrics.json").read_text())
    assert set(metrics["per_repo"]) == {"nat-list", "nat-list-b"}
    assert latest_checkpoint(example_db, "retriever") == str(last.resolve())
    assert [e["event"] for e in events].count("evaluated") == 2  # one per stage, each a whole matrix row

    # Reopening the checkpoint reuses the saved index (same model digest and premise set).
    before = stored_meta(last / "index")
    mtime = (last / "index" / "premises.faiss").stat().st_mtime_ns
    retriever = open_retriever(example_db, last)
    assert (last / "index" / "premises.faiss").stat().st_mtime_ns == mtime
    assert retriever.index.meta["model_digest"] == before["model_digest"]
