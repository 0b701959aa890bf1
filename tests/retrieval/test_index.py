"""FAISS premise index: parity with brute force, accessibility filter, save/load, rebuild rules."""

from __future__ import annotations

import numpy as np
import pytest

from leanagent.retrieval.index import IndexOptions, PremiseIndex, load_or_build, premise_digest


def _unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _brute(q, p, k, allowed=None):
    scores = q @ p.T  # (Q, N)
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(scores, order, axis=1)


def test_flat_topk_equals_brute_force():
    rng = np.random.default_rng(0)
    p, q = _unit(rng, 500, 16), _unit(rng, 40, 16)
    index = PremiseIndex.build(p, np.arange(500) + 1000)
    assert index.meta["kind"] == "flat"
    scores, rows = index.search(q, 10)
    want_rows, want_scores = _brute(q, p, 10)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(index.premise_ids(rows[:1]), want_rows[:1] + 1000)


def test_filtered_topk_equals_brute_force_even_when_few_are_accessible():
    rng = np.random.default_rng(1)
    p, q = _unit(rng, 400, 8), _unit(rng, 30, 8)
    allowed = rng.random((30, 400)) < 0.05  # ~20 accessible per query: forces the widening loop
    index = PremiseIndex.build(p, np.arange(400))
    scores, rows = index.search(q, 10, allow=lambda qi, cand: allowed[qi, cand])
    want_rows, _ = _brute(q, p, 10, allowed)
    for qi in range(30):
        n_ok = min(10, int(allowed[qi].sum()))
        np.testing.assert_array_equal(rows[qi, :n_ok], want_rows[qi, :n_ok])
        assert (rows[qi, n_ok:] == -1).all()


def test_approximate_index_above_threshold_has_high_recall():
    rng = np.random.default_rng(2)
    p, q = _unit(rng, 2000, 16), _unit(rng, 50, 16)
    for kind in ("hnsw", "ivf"):
        index = PremiseIndex.build(p, np.arange(2000), IndexOptions(approx_above=100, approx_kind=kind))
        assert index.meta["kind"] == kind
        _, rows = index.search(q, 10)
        want, _ = _brute(q, p, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rows, want)])
        assert recall > 0.9, (kind, recall)


def test_save_load_and_rebuild_only_on_change(tmp_path):
    rng = np.random.default_rng(3)
    emb = _unit(rng, 50, 8)
    calls = []

    def embed(texts):
        calls.append(len(texts))
        return emb[:len(texts)]

    texts = [f"p{i}" for i in range(50)]
    ids = list(range(50))
    a, rebuilt = load_or_build(tmp_path, "model-1", ids, texts, embed)
    assert rebuilt and calls == [50]
    b, rebuilt = load_or_build(tmp_path, "model-1", ids, texts, embed)
    assert not rebuilt and calls == [50]
    np.testing.assert_array_equal(a.search(emb[:3], 5)[1], b.search(emb[:3], 5)[1])
    _, rebuilt = load_or_build(tmp_path, "model-2", ids, texts, embed)  # new weights
    assert rebuilt and calls == [50, 50]
    _, rebuilt = load_or_build(tmp_path, "model-2", ids[:40], texts[:40], embed)  # new premise set
    assert rebuilt and PremiseIndex.load(tmp_path).size == 40
    assert premise_digest([1, 2], ["a", "b"]) != premise_digest([1, 2], ["a", "c"])


def test_load_missing_index_is_a_model_error(tmp_path):
    from leanagent.errors import ModelError

    with pytest.raises(ModelError):
        PremiseIndex.load(tmp_path)
