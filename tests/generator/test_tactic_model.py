from __future__ import annotations


import pytest
import torch

from leanagent.data import TheoremRef
from leanagent.generator.model import (GenExample, GeneratorOptions, RetrievalAugmentedGenerator, TacticModel,
                                       augment_state)
from leanagent.retrieval.base import Hit

TINY = dict(d_model=8, num_layers=2, num_heads=2, d_ff=16, max_output_bytes=8, max_input_bytes=256)


def test_augment_state_respects_the_byte_budget_and_order():
    prem = [("best", "x"), ("second", "y" * 10), ("huge", "z" * 500)]
    out = augment_state("⊢ p", prem, max_bytes=60)
    assert out.endswith("⊢ p") and len(out.encode()) <= 60
    assert out.index("<a>second</a>") < out.index("<a>best</a>")  # best nearest the state
    assert "huge" not in out
    assert augment_state("⊢ p", prem, max_bytes=2) == "⊢ p"  # the state always stays


def test_byte_tokenizer_builds_offline_and_tiny_model_decodes():
    model = TacticModel.create(GeneratorOptions(**TINY))
    assert model.tokenizer("⊢").input_ids[-1] == model.tokenizer.eos_token_id
    gen = RetrievalAugmentedGenerator(model)
    for decoding in ("beam", "sampling"):
        model.options.decoding = decoding
        out = gen.generate(["⊢ a = a", "⊢ b = b"], 4, [TheoremRef.none()] * 2)
        assert len(out) == 2
        for cands in out:
            assert 1 <= len(cands) <= 4 and len({t for t, _ in cands}) == len(cands)
            assert all(lp <= 0 for _, lp in cands) and [lp for _, lp in cands] == sorted(
                [lp for _, lp in cands], reverse=True)


def test_logprobs_are_exact_sums_of_token_logprobs():
    torch.manual_seed(0)
    model = TacticModel.create(GeneratorOptions(**TINY))
    model.eval()
    lp = model.sequence_logprobs(["⊢ q"], ["ab"])[0].item()
    tok = model.tokenizer
    inp = tok(["⊢ q"], return_tensors="pt")
    labels = tok(["ab"], return_tensors="pt").input_ids  # a, b, eos
    with torch.no_grad():
        logits = model.model(input_ids=inp.input_ids, attention_mask=inp.attention_mask, labels=labels).logits
    ref = torch.log_softmax(logits, -1)[0, torch.arange(3), labels[0]].sum().item()
    assert lp == pytest.approx(ref, abs=1e-5)


def test_training_lowers_the_loss_and_save_load_roundtrip(tmp_path):
    from leanagent.training.loop import TrainOptions, fit

    model = TacticModel.create(GeneratorOptions(**TINY))
    ex = [GenExample("⊢ a = a", "rfl"), GenExample("⊢ b", "simp")] * 8
    before = model.loss(model.collate(ex)).item()
    fit(model, ex, TrainOptions(epochs=3, batch_size=4, lr=5e-2, warmup_steps=1))
    after = model.loss(model.collate(ex)).item()
    assert after < before
    model.save(tmp_path / "gen")
    again = TacticModel.load(tmp_path / "gen")
    assert again.options.d_model == 8 and again.loss(again.collate(ex)).item() == pytest.approx(after, rel=1e-4)


def test_retrieved_premises_reach_the_input():
    class FakeRetriever:
        def retrieve(self, queries, k):
            return [[Hit(7, 1.0), Hit(8, 0.5)][:k] for _ in queries]

    model = TacticModel.create(GeneratorOptions(**TINY, num_premises=2))
    gen = RetrievalAugmentedGenerator(model, FakeRetriever(), {7: ("Nat.add_comm", "a + b = b + a"),
                                                               8: ("Nat.mul_comm", "a * b = b * a")})
    (src,) = gen.sources(["⊢ x + y = y + x"], [TheoremRef.none()])
    assert src == "<a>Nat.mul_comm</a> a * b = b * a\n\n<a>Nat.add_comm</a> a + b = b + a\n\n⊢ x + y = y + x"
    assert "noret" in RetrievalAugmentedGenerator(model).name


def test_missing_checkpoint_is_a_model_error(tmp_path):
    from leanagent.errors import ModelError

    with pytest.raises(ModelError, match="cannot load the tactic generator"):
        TacticModel.load(tmp_path / "nothing-here")
