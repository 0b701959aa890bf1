"""Training-data queries: premise corpus, examples per split, import graph, evaluation cells."""

from __future__ import annotations

import pytest

from leanagent.db.splits import random_split
from leanagent.db.runs import evaluation_matrix, start_run, store_evaluation
from leanagent.db.training_data import import_graph, premise_corpus, premise_text, resolve_repos, step_examples
from leanagent.errors import DatasetError


def test_premise_text_is_code_else_name_and_module():
    assert premise_text("Nat.succ", "x.lean", "theorem Nat.succ ...") == "theorem Nat.succ ..."
    assert premise_text("Nat.le_refl", ".lake/packages/mathlib/Mathlib/Order/Basic.lean", None) == \
        "Nat.le_refl Mathlib.Order.Basic"


def test_corpus_and_examples_from_the_example_dataset(example_db):
    corpus = premise_corpus(example_db)
    assert corpus and [p.id for p in corpus] == sorted(p.id for p in corpus)
    by_name = {p.full_name: p for p in corpus}
    assert by_name["NatList.Nat.add_comm'"].text.startswith("theorem NatList.Nat.add_comm'")
    everything = step_examples(example_db, "nat-list", "all", with_premises_only=False)
    parts = [step_examples(example_db, "nat-list", s, with_premises_only=False) for s in ("train", "val", "test")]
    assert sorted(e.step_id for p in parts for e in p) == sorted(e.step_id for e in everything)
    for e in everything:
        assert e.split == random_split(("nat-list", e.file_path, e.theorem_name, *e.theorem_start))
    with_premises = step_examples(example_db, "nat-list", "all")
    assert with_premises and all(e.premise_ids for e in with_premises)
    assert all(len(set(e.premise_ids)) == len(e.premise_ids) for e in with_premises)
    assert len(with_premises) < len(everything)


def test_import_graph_uses_module_names(example_db):
    graph = import_graph(example_db)
    assert "NatList.Nat.Basic" in graph.imports["NatList.Nat.Order"]
    assert graph.known


def test_unknown_repo_and_split_are_dataset_errors(example_db):
    with pytest.raises(DatasetError):
        resolve_repos(example_db, ["nope"])
    with pytest.raises(DatasetError):
        step_examples(example_db, "nat-list", "dev")
    assert resolve_repos(example_db, None) == ["nat-list"]


def test_evaluation_cells_are_replaced_not_duplicated(example_db):
    run = start_run(example_db, "train", "t")
    store_evaluation(example_db, run, "R@10", 0, "nat-list", "nat-list", 10.0)
    store_evaluation(example_db, run, "R@10", 0, "nat-list", "nat-list", 12.5)
    store_evaluation(example_db, run, "R@10", 1, "nat-list", "nat-list", 20.0)
    assert evaluation_matrix(example_db, run, "R@10") == {(0, "nat-list"): 12.5, (1, "nat-list"): 20.0}
    assert evaluation_matrix(example_db, run, "MRR") == {}


def test_a_run_ended_by_ctrl_c_is_interrupted_not_failed(db):
    """`prove` or `train` stopped by Ctrl-C used to be recorded `failed`."""
    from leanagent.db.models import Run, StepStatus
    from leanagent.db.runs import finish_run, start_run

    ids = [start_run(db, "prove", "p", {}) for _ in range(3)]
    for run_id, error in zip(ids, (KeyboardInterrupt, ValueError)):
        try:
            try:
                raise error
            finally:
                finish_run(db, run_id, ok=False)
        except (KeyboardInterrupt, ValueError):
            pass
    finish_run(db, ids[2], ok=True)
    with db.session() as s:
        assert [s.get(Run, i).status for i in ids] == [StepStatus.INTERRUPTED, StepStatus.FAILED, StepStatus.DONE]
