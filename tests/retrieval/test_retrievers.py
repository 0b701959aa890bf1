"""BM25 and the dense retriever behind the same interface, on the example dataset."""

from __future__ import annotations

import dataclasses

import numpy as np

from leanagent.db.training_data import import_graph, premise_corpus, step_examples
from leanagent.retrieval.access import Accessibility
from leanagent.retrieval.base import Query, Retriever
from leanagent.retrieval.bm25 import Bm25Retriever
from leanagent.retrieval.dense import DenseRetriever
from leanagent.retrieval.evaluate import queries_for
from leanagent.training.evaluation import retrieval_metrics as evaluate
from leanagent.retrieval.index import PremiseIndex
from leanagent.retrieval.knn import KnnPrior
from leanagent.retrieval.model import DualEncoder, RetrieverOptions


def _accessible_ids(corpus, access, query):
    mask = access.mask(query.file_path, query.theorem_start)
    return {p.id for p, ok in zip(corpus, mask if mask is not None else [True] * len(corpus)) if ok}


def test_bm25_finds_the_premise_named_in_the_state_and_respects_accessibility(example_db):
    corpus = premise_corpus(example_db)
    access = Accessibility(corpus, import_graph(example_db))
    bm25 = Bm25Retriever(corpus, access)
    assert isinstance(bm25, Retriever)
    target = next(p for p in corpus if p.full_name == "NatList.Nat.add_comm'")
    [hits] = bm25.retrieve([Query("add_comm' NatList")], 3)
    assert hits[0].premise_id == target.id
    examples = step_examples(example_db, "nat-list", "all")
    for q, hits in zip(queries_for(examples), bm25.retrieve(queries_for(examples), 50)):
        assert {h.premise_id for h in hits} <= _accessible_ids(corpus, access, q)


def test_dense_retriever_equals_filtered_brute_force(example_db):
    corpus = premise_corpus(example_db)
    access = Accessibility(corpus, import_graph(example_db))
    model = DualEncoder.create(corpus, RetrieverOptions(encoder="tiny-bert"), access)
    emb = model.embed_premises(model.texts)  # (N, d)
    retriever = DenseRetriever(model, corpus, PremiseIndex.build(emb, [p.id for p in corpus]), access)
    queries = queries_for(step_examples(example_db, "nat-list", "all"))
    got = retriever.retrieve(queries, 5)
    q = model.embed_states([x.state for x in queries])
    for qi, query in enumerate(queries):
        scores = emb @ q[qi]
        mask = access.mask(query.file_path, query.theorem_start)
        scores = np.where(mask, scores, -np.inf) if mask is not None else scores
        best = np.sort(scores[np.isfinite(scores)])[::-1][:5]
        np.testing.assert_allclose([h.score for h in got[qi]], best, rtol=1e-5, atol=1e-5)
        assert {h.premise_id for h in got[qi]} <= _accessible_ids(corpus, access, query)


def test_knn_prior_mixed_in_raises_recall_of_recorded_premises(example_db):
    corpus = premise_corpus(example_db)
    model = DualEncoder.create(corpus, RetrieverOptions(encoder="tiny-bert"))
    emb = model.embed_premises(model.texts)
    retriever = DenseRetriever(model, corpus, PremiseIndex.build(emb, [p.id for p in corpus]))
    np.testing.assert_allclose(retriever.premise_embeddings(), emb)  # read back from the index
    examples = step_examples(example_db, "nat-list", "all")
    row_of = retriever.row_of
    # States recorded twice (two keys) let leave-one-out still find the twin: the prior must recall it.
    twins = examples + [dataclasses.replace(e, step_id=-e.step_id) for e in examples]
    retriever.prior = KnnPrior(model.embed_states([e.state for e in twins]),
                               [[row_of[p] for p in e.premise_ids] for e in twins], [e.step_id for e in twins],
                               neighbours=1)
    retriever.prior_weight = 10.0
    m = evaluate(retriever, example_db, ["nat-list"], "all")
    assert m["R@10"] == 100.0
    retriever.prior_weight = 0.0
    assert evaluate(retriever, example_db, ["nat-list"], "all")["R@10"] < 100.0
