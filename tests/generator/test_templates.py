from __future__ import annotations

import math

import numpy as np
import pytest

from leanagent.data import TheoremRef
from leanagent.generator.knn import KnnProposer, RecordedStep
from leanagent.generator.templates import SLOT, fill, template_of, written_forms
from leanagent.retrieval.base import Hit


def test_template_of_marks_premise_slots():
    assert template_of("rw [<a>Nat.add_comm</a>]") == (f"rw [{SLOT}]", 1)
    assert template_of("simp [<a>a</a>, <a>b</a>]") == (f"simp [{SLOT}, {SLOT}]", 2)
    assert template_of("simp [<a>a</a>, <a>b</a>, <a>c</a>]") is None  # too many slots
    assert template_of("simp") is None and template_of(None) is None


def test_written_forms_and_fill_weights():
    assert written_forms("Nat.succ_le") == ["Nat.succ_le", "succ_le"]
    filled = dict(fill(f"rw [{SLOT}]", 1, ["Nat.succ_le", "foo"]))
    assert set(filled) == {"rw [Nat.succ_le]", "rw [succ_le]", "rw [foo]"}
    assert math.isclose(sum(filled.values()), 1.0)
    assert filled["rw [foo]"] == pytest.approx((1 / 2) / (1 + 1 / 2))  # 1/rank, shared by written forms
    two = dict(fill(f"simp [{SLOT}, {SLOT}]", 2, ["a", "b"]))
    assert set(two) == {"simp [a, b]", "simp [b, a]"} and math.isclose(sum(two.values()), 1.0)


def test_knn_fills_neighbour_templates_with_retrieved_premises():
    steps = [RecordedStep(1, None, "⊢ x * y = y * x", "rw [mul_comm]", "rw [<a>mul_comm</a>]")]

    class Retriever:
        def retrieve(self, queries, k):
            return [[Hit(10, 2.0), Hit(11, 1.0)][:k] for _ in queries]

    def embed(texts):
        return np.ones((len(texts), 2), dtype="float32") / np.sqrt(2)

    names = {10: "Nat.add_comm", 11: "mul_comm"}
    plain = KnnProposer(embed, steps, neighbours=1)
    assert [t for t, _ in plain.generate(["⊢ a + b = b + a"], 10, [TheoremRef.none()])[0]] == ["rw [mul_comm]"]
    knn = KnnProposer(embed, steps, neighbours=1, retriever=Retriever(), premise_names=names, fill_share=0.5)
    (cands,) = knn.generate(["⊢ a + b = b + a"], 10, [TheoremRef.none()])
    got = dict(cands)
    assert {"rw [mul_comm]", "rw [Nat.add_comm]", "rw [add_comm]"} <= set(got)
    assert got["rw [mul_comm]"] == max(got.values())  # the neighbour's own tactic keeps the most weight
    assert math.isclose(sum(math.exp(v) for v in got.values()), 1.0, rel_tol=1e-6)
