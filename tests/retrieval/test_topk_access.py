"""Top-k without a full sort, and integer accessibility: the same answers as the plain definitions."""

from __future__ import annotations

import random

import numpy as np

from leanagent.data import ImportGraph, PremiseItem
from leanagent.retrieval.access import Accessibility, transitive_imports
from leanagent.retrieval.bm25 import top_k
from leanagent.text import module_of_path


def test_top_k_is_the_stable_full_sort_without_minus_infinity():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        n = int(rng.integers(1, 50))
        scores = rng.integers(0, 4, n).astype("float32")  # many ties
        scores[rng.random(n) < 0.3] = -np.inf
        k = int(rng.integers(0, 60))
        ref = np.argsort(-scores, kind="stable")[:k]
        assert top_k(scores, k).tolist() == ref[np.isfinite(scores[ref])].tolist()


def _reference_mask(corpus, graph, file_path, start):
    """The definition, with strings: earlier in the same file, or in a transitively imported module."""
    pos = (start[0] << 20) + start[1]
    module = module_of_path(file_path)
    if graph.imports.get(module) is None:
        later = [p.path == file_path and ((p.start[0] << 20) + p.start[1] if p.start else 0) >= pos for p in corpus]
        return [not x for x in later] if any(later) else None
    closure = transitive_imports(module, graph.imports)
    return [module_of_path(p.path) in closure
            or (p.path == file_path and ((p.start[0] << 20) + p.start[1] if p.start else 0) < pos) for p in corpus]


def test_accessibility_equals_the_string_definition_and_survives_save_and_load(tmp_path):
    rnd = random.Random(1)
    files = [f"M{i}.lean" for i in range(12)]
    corpus = [PremiseItem(i, f"p{i}", rnd.choice(files), "t", (rnd.randint(1, 30), 1) if rnd.random() < 0.9 else None)
              for i in range(300)]
    graph = ImportGraph({f"M{i}": [f"M{j}" for j in range(i) if rnd.random() < 0.3] if i % 5 else None
                         for i in range(12)})
    acc = Accessibility(corpus, graph)
    acc.save(tmp_path / "acc")
    loaded = Accessibility.load(tmp_path / "acc")
    rows = np.array(rnd.sample(range(300), 40))
    for f in files + ["Other.lean"]:
        for line in (1, 10, 31):
            ref = _reference_mask(corpus, graph, f, (line, 1))
            for a in (acc, loaded):
                got = a.mask(f, (line, 1))
                assert (got is None and ref is None) or got.tolist() == ref
                sub = a.allowed(f, (line, 1), rows)
                want = [True] * len(rows) if ref is None else [ref[r] for r in rows]
                assert (sub.tolist() if sub is not None else [True] * len(rows)) == want  # None: all allowed
    assert isinstance(loaded.row_module, np.memmap)
