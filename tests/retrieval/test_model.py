"""Dual encoder: the multi-positive loss and hard negatives."""

from __future__ import annotations

import math

import torch

from leanagent.data import PremiseItem
from leanagent.retrieval.encoder import Encoder, EncoderSpec
from leanagent.retrieval.model import DualEncoder, RetrieverOptions, TrainPair, multi_positive_loss


def test_other_positives_are_not_negatives():
    q = torch.tensor([[1.0, 0.0]])  # (1, d)
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # (3, d): col 1 is also gold for q
    labels = torch.tensor([[True, True, False]])
    loss = multi_positive_loss(q, p, labels, temperature=1.0)
    # Column 1 is dropped from the denominator: only col 0 (e^1) and col 2 (e^0) remain.
    want = -math.log(math.e / (math.e + 1.0))
    assert abs(loss.item() - want) < 1e-6
    plain = multi_positive_loss(q, p, torch.tensor([[True, False, False]]), temperature=1.0)
    assert plain.item() > loss.item()


CORPUS = [PremiseItem(10 + i, f"F.p{i}", "F.lean", f"F.p{i} F", (i * 10 + 1, 1)) for i in range(5)] + \
         [PremiseItem(20 + i, f"G.q{i}", "G.lean", f"G.q{i} G", (1, 1)) for i in range(5)]


def test_collate_draws_in_file_negatives_defined_before_the_theorem():
    model = DualEncoder(Encoder.load(EncoderSpec(encoder="tiny-bert")), CORPUS,
                        RetrieverOptions(encoder="tiny-bert", num_negatives=3, num_in_file_negatives=1), seed=1)
    pair = TrainPair("⊢ True", positive=0, positives=frozenset({0}), file_path="F.lean", theorem_start=(25, 1))
    for _ in range(20):
        batch = model.collate([pair])
        rows = [model.texts.index(t) for t in batch["premises"]]
        assert rows[0] == 0 and len(rows) == 4
        negs = rows[1:]
        assert 0 not in negs and len(set(negs)) == 3
        assert negs[0] in (1, 2)  # F.lean premises defined before line 25, other than the positive
        assert batch["labels"].tolist() == [[True, False, False, False]]
    loss = model.loss(model.collate([pair, TrainPair("⊢ False", 5, frozenset({5}), "G.lean", (9, 1))]))
    assert loss.ndim == 0 and torch.isfinite(loss)
