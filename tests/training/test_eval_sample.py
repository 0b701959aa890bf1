"""Issue 27: learn evaluates a fixed-size seeded sample of each repository's test steps, reuses the premise
embeddings of an unchanged encoder, and stores every cell's denominator."""

from __future__ import annotations

from pathlib import Path

from leanagent.training.evaluation import ACC, ACC_FREQUENCY, R10, eval_sample, fill_matrix, steps_metric


def test_the_sample_has_a_fixed_size_is_seeded_and_the_same_twice():
    steps = list(range(200))
    a = eval_sample(steps, 50, seed=0, key="algebra")
    assert len(a) == 50 and len(set(a)) == 50 and a == sorted(a)  # the steps' own order, no repeats
    assert eval_sample(steps, 50, seed=0, key="algebra") == a  # the same sample twice
    assert eval_sample(steps, 50, seed=1, key="algebra") != a  # the seed draws it
    assert eval_sample(steps, 50, seed=0, key="topology") != a  # each repository its own
    assert a != steps[:50] and max(a) > 100  # spread over the split, not its first theorems
    assert eval_sample(steps[:30], 50, seed=0, key="algebra") == steps[:30]  # fewer: all of them
    assert eval_sample(steps, None, seed=0, key="algebra") == steps


def test_the_sample_does_not_depend_on_the_hash_seed():
    import subprocess
    import sys

    code = ("from leanagent.training.evaluation import eval_sample; "
            "print(eval_sample(list(range(100)), 5, seed=3, key='std'))")
    root = Path(__file__).resolve().parents[2]
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": h, "PYTHONPATH": str(root)}).stdout for h in ("1", "2")}
    assert len(outs) == 1


class _Echo:
    """A proposer that always answers `simp`, counting its calls."""

    name = "echo"

    def __init__(self):
        self.states = 0

    def generate(self, states, num, targets=None):
        self.states += len(states)
        return [[("simp", 0.0)] for _ in states]


def test_cells_carry_their_denominators_and_the_frequency_baseline(example_db):
    from leanagent.db.runs import evaluation_matrix, start_run
    from leanagent.training.generator import examples_for

    run_id = start_run(example_db, "learn", "t", {})
    n_all = len(examples_for(example_db, "nat-list", "all"))
    gen, freq = _Echo(), _Echo()
    cells = fill_matrix(example_db, run_id, 0, "nat-list", ["nat-list"], generator=gen, baseline=freq,
                        split="all", limit=3, seed=0)
    assert n_all > 3 and gen.states == freq.states == 3  # the sample, the same size for both
    assert cells[steps_metric(ACC)]["nat-list"] == 3 and cells[steps_metric(ACC_FREQUENCY)]["nat-list"] == 3
    stored = evaluation_matrix(example_db, run_id, steps_metric(ACC))
    assert stored == {(0, "nat-list"): 3.0}  # the denominator is a stored cell, read back by the report
    assert evaluation_matrix(example_db, run_id, ACC_FREQUENCY)[(0, "nat-list")] == cells[ACC_FREQUENCY]["nat-list"]


def test_evaluating_every_repository_encodes_the_premise_corpus_once(example_db, tmp_path, monkeypatch):
    """The index is built once per checkpoint (when a stage's training ends); opening the checkpoint again to
    evaluate, and evaluating any number of repositories, embeds no premise again: only the test states."""
    from leanagent.db.training_data import import_graph, premise_corpus
    from leanagent.retrieval.access import Accessibility
    from leanagent.retrieval.model import DualEncoder, RetrieverOptions
    from leanagent.training.retriever import open_retriever

    calls = {"premises": 0, "states": 0}
    premises, states = DualEncoder.embed_premises, DualEncoder.embed_states

    def count_premises(self, texts, *a, **kw):
        calls["premises"] += 1
        return premises(self, texts, *a, **kw)

    def count_states(self, texts, *a, **kw):
        calls["states"] += 1
        return states(self, texts, *a, **kw)

    monkeypatch.setattr(DualEncoder, "embed_premises", count_premises)
    monkeypatch.setattr(DualEncoder, "embed_states", count_states)
    corpus = premise_corpus(example_db)
    model = DualEncoder.create(corpus, RetrieverOptions(encoder="tiny-bert"),
                               Accessibility(corpus, import_graph(example_db)))
    folder = tmp_path / "stage"
    folder.mkdir()
    model.save(folder)
    open_retriever(example_db, folder, model=model)  # the stage's end: the index is built
    assert calls["premises"] == 1
    dense = open_retriever(example_db, folder)  # the evaluate step opens the checkpoint
    from leanagent.db.runs import start_run

    run_id = start_run(example_db, "learn", "t", {})
    for index in range(3):  # three rows' worth of evaluations with the same weights
        cells = fill_matrix(example_db, run_id, index, "nat-list", ["nat-list"], retriever=dense, split="all")
    assert calls["premises"] == 1 and calls["states"] >= 3  # the corpus once; the queries every time
    assert cells[steps_metric(R10)]["nat-list"] > 0


def test_a_stage_that_did_not_change_the_encoder_copies_the_previous_index(tmp_path):
    """An evaluation-only repository's stage trains on nothing: its checkpoint has the previous weights, and
    its index is copied from the previous checkpoint instead of embedding the corpus again."""
    import numpy as np

    from leanagent.retrieval.index import load_or_build

    calls = []

    def embed(texts):
        calls.append(len(texts))
        return np.eye(3, dtype=np.float32)[: len(texts)]

    ids, texts = [1, 2, 3], ["a", "b", "c"]
    _, built = load_or_build(tmp_path / "00" / "index", "w1", ids, texts, embed)
    index, rebuilt = load_or_build(tmp_path / "01" / "index", "w1", ids, texts, embed, reuse=tmp_path / "00" / "index")
    assert built and not rebuilt and calls == [3] and index.size == 3
    assert (tmp_path / "01" / "index").is_dir()  # the checkpoint holds its own copy
    _, rebuilt = load_or_build(tmp_path / "02" / "index", "w2", ids, texts, embed, reuse=tmp_path / "01" / "index")
    assert rebuilt and calls == [3, 3]  # other weights: embedded again
