"""Shared, read-only proposer folders: same proposals as in-memory data, no database in the worker."""

from __future__ import annotations

import numpy as np
import pytest

from leanagent.data import RecordedStep, TheoremRef
from leanagent.generator.build import ProposerData, build_proposer, build_shared
from leanagent.generator.options import ProposerOptions
from leanagent.generator.proposer_store import SharedData, StepTable, StringTable


def test_string_table_round_trips_unicode_empty_and_none(tmp_path):
    strings = ["simp", "", None, "rw [⟨P⟩]", "ℕ → ℕ"]
    StringTable.of(strings).save(tmp_path, "t")
    table = StringTable.load(tmp_path, "t")
    assert len(table) == 5 and [table[i] for i in range(5)] == strings and table[1:3] == ["", None]
    assert isinstance(table.blob, np.memmap)  # opened memory-mapped, no Python string per row


def test_step_table_spare_matches_the_counter_rule():
    from leanagent.retrieval.knn import spare_for

    steps = [RecordedStep(i, tid, "s", "t", None) for i, tid in enumerate([3, 3, None, 5, 3, None, 5])]
    assert StepTable.of(steps).spare() == spare_for([s.theorem_id for s in steps]) == 3
    assert StepTable.of([]).spare() == 0


def _data(db):
    from leanagent.prover.proposers import proposer_data

    return lambda options: proposer_data(options, db)


@pytest.mark.parametrize("proposer, retrieval", [("knn", "bm25"), ("knn", "none"), ("frequency", "bm25")])
def test_shared_proposer_proposes_exactly_what_the_in_memory_one_does(example_db, tmp_path, proposer, retrieval):
    from leanagent.db.training_data import step_examples

    options = ProposerOptions(proposer=proposer, retrieval=retrieval, knn_encoder="tiny-bert", source_split="all",
                              knn_neighbours=4)
    data = _data(example_db)(options)
    folder = build_shared(options, data, tmp_path / "shared", device="cpu")
    assert build_shared(options, data, tmp_path / "shared", device="cpu") == folder  # found again by digest
    memory = build_proposer(options, data, "cpu")
    shared = build_proposer(options, ProposerData(shared=SharedData(folder)), "cpu")
    examples = step_examples(example_db, "nat-list", "all", with_premises_only=False)
    states = [e.state for e in examples]
    targets = [e.theorem for e in examples]
    for tg in ([TheoremRef.none()] * len(states), targets):
        assert shared.generate(states, 8, tg) == memory.generate(states, 8, tg)


def test_shared_retriever_equals_the_in_memory_bm25(example_db, tmp_path):
    from leanagent.db.training_data import import_graph, premise_corpus, step_examples
    from leanagent.retrieval.build import make_retriever
    from leanagent.retrieval.evaluate import queries_for

    options = ProposerOptions(proposer="knn", knn_encoder="tiny-bert", source_split="all")
    folder = build_shared(options, _data(example_db)(options), tmp_path / "shared", device="cpu")
    bm25, texts = make_retriever("bm25", premise_corpus(example_db), import_graph(example_db))
    shared, shared_texts = SharedData(folder).retriever("bm25")
    queries = queries_for(step_examples(example_db, "nat-list", "all"))
    assert shared.retrieve(queries, 10) == bm25.retrieve(queries, 10)
    assert {pid: shared_texts[pid] for pid in texts} == texts and len(shared_texts) == len(texts)
    assert -1 not in shared_texts and isinstance(shared.model.scores["data"], np.memmap)


def test_a_worker_opening_the_shared_folder_reads_no_steps_from_the_database(example_db, db_url, monkeypatch):
    from leanagent.db import proofs, training_data
    from leanagent.prover import workers

    options = ProposerOptions(proposer="knn", knn_encoder="tiny-bert", source_split="all")
    spec = workers.share_proposer_data(workers.WorkerSpec(env="leaninteract", db_url=db_url, proposer=options,
                                                          device="cpu"))
    assert spec.shared is not None and SharedData(spec.shared).meta["steps"] > 0

    def forbidden(*args, **kwargs):
        raise AssertionError("a worker with a shared folder queried the database for steps or premises")

    for module, name in [(training_data, "proposer_steps"), (training_data, "premise_corpus"),
                         (training_data, "step_examples"), (training_data, "import_graph"),
                         (proofs, "replay_rows")]:
        monkeypatch.setattr(module, name, forbidden)
    worker = workers.ProverWorker(spec)
    try:
        (cands,) = worker.proposer.generate(["n : Nat ⊢ n + 0 = n"], 4, [TheoremRef.none()])
        assert cands
    finally:
        worker.close()
