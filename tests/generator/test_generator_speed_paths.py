"""The generator's fast paths: byte codec, rotary attention, one-pass scores, gradient checkpointing."""

from __future__ import annotations

import json

import pytest
import torch

from leanagent.errors import ModelError
from leanagent.generator import byte_codec, rotary
from leanagent.generator.model import GenExample, GeneratorOptions, TacticModel

TINY = dict(d_model=16, num_layers=2, num_heads=2, d_ff=32, max_output_bytes=8, max_input_bytes=64)
EXAMPLES = [GenExample("⊢ a = a", "rfl"), GenExample("⊢ b ∧ c", "simp")] * 8


def test_byte_codec_gives_the_ids_of_byt5s_tokenizer():
    from transformers import ByT5Tokenizer

    tok = ByT5Tokenizer()
    texts = ["⊢ a = a", "x" * 40, "é∀ n, n + 0 = n", ""]
    ids, mask = byte_codec.encode_batch(texts, 12)  # (4, 12): the longest is truncated to 11 bytes + eos
    ref = tok(texts, padding=True, truncation=True, max_length=12, return_tensors="pt")
    assert torch.equal(ids, ref.input_ids) and torch.equal(mask, ref.attention_mask)
    labels = byte_codec.labels_batch(["rfl", "simp only"], 4)  # 4 bytes + eos at most
    assert labels.tolist() == [[117, 105, 111, 1, -100], [118, 108, 112, 115, 1]]
    assert byte_codec.decode(tok("∀ x, p x").input_ids) == "∀ x, p x"
    assert byte_codec.token_count("é", 10) == 3 and byte_codec.token_count("x" * 50, 10) == 10
    sizes = TacticModel.create(GeneratorOptions(**TINY)).example_sizes(EXAMPLES[:2])
    assert sizes.tolist() == [[len("⊢ a = a".encode()) + 1, 4], [len("⊢ b ∧ c".encode()) + 1, 5]]


def test_rotation_keeps_norms_and_makes_scores_depend_on_offsets_only():
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
    rq = rotary.rotate(q.expand(1, 1, 6, 8), torch.arange(6))  # the same vector at positions 0..5
    rk = rotary.rotate(k.expand(1, 1, 6, 8), torch.arange(6))
    assert torch.allclose(rq.norm(dim=-1), q.norm(dim=-1).expand(1, 1, 6), atol=1e-5)
    scores = (rq[0, 0] @ rk[0, 0].T)  # (6, 6): score of query position i with key position j
    assert torch.allclose(scores[2, 0], scores[5, 3], atol=1e-5) and torch.allclose(scores[1, 4], scores[0, 3])
    assert not torch.allclose(scores[2, 0], scores[2, 1])


def test_scratch_models_are_rotary_and_pretrained_ones_keep_relative_positions(tmp_path):
    model = TacticModel.create(GeneratorOptions(**TINY))
    assert model.options.position == "rotary"
    names = [n for n, _ in model.model.named_parameters()]
    assert not any("relative_attention_bias" in n for n in names)  # T5's quadratic bias is gone
    assert model.model.config._attn_implementation == rotary.ATTN_NAME
    # Word order matters: positions reach the attention even without a bias.
    model.eval()
    a = model.sequence_logprobs(["ab c"], ["rfl"])
    b = model.sequence_logprobs(["c ab"], ["rfl"])
    assert not torch.allclose(a, b)
    model.save(tmp_path / "rot")
    assert json.loads((tmp_path / "rot" / "generator.json").read_text())["position"] == "rotary"
    again = TacticModel.load(tmp_path / "rot")
    again.eval()
    assert again.options.position == "rotary" and torch.allclose(again.sequence_logprobs(["ab c"], ["rfl"]), a)

    rel = TacticModel.create(GeneratorOptions(**TINY, position="relative"))
    rel.save(tmp_path / "rel")
    saved = json.loads((tmp_path / "rel" / "generator.json").read_text())
    saved.pop("position")  # a checkpoint written before rotary models existed
    (tmp_path / "rel" / "generator.json").write_text(json.dumps(saved))
    old = TacticModel.load(tmp_path / "rel")
    assert old.options.position == "relative"
    assert any("relative_attention_bias" in n for n, _ in old.model.named_parameters())
    with pytest.raises(ModelError, match="relative positions"):
        TacticModel.load(tmp_path / "rel" / "model", GeneratorOptions(position="rotary"))


@pytest.mark.parametrize("position", ["rotary", "relative"])
def test_one_pass_scores_are_the_teacher_forced_log_probabilities(position):
    from leanagent.training.loop import TrainOptions, fit

    torch.manual_seed(0)
    model = TacticModel.create(GeneratorOptions(**TINY, position=position))
    fit(model, EXAMPLES, TrainOptions(epochs=30, batch_size=4, lr=5e-2, warmup_steps=1))
    states = ["⊢ a = a", "⊢ b ∧ c"]
    for decoding, num in (("beam", 4), ("beam", 1), ("sampling", 3)):
        model.options.decoding = decoding
        out = model.propose(states, num)
        assert [c[0][0] for c in out] == ["rfl", "simp"]
        for state, cands in zip(states, out):
            # A generation cut at max_output_bytes has no eos: it is scored over the tokens it has, as beam
            # search scores it; the teacher-forced pass would add an eos it never generated.
            done = [(t, lp) for t, lp in cands if len(t.encode()) < TINY["max_output_bytes"]]
            ref = model.sequence_logprobs([state] * len(done), [t for t, _ in done])
            assert len(done) >= 1 and [lp for _, lp in done] == pytest.approx(ref.tolist(), abs=1e-4)


def test_gradient_checkpointing_gives_the_same_loss_and_gradients():
    grads = []
    for ckpt in (False, True):
        torch.manual_seed(0)
        model = TacticModel.create(GeneratorOptions(**TINY, gradient_checkpointing=ckpt))
        model.train(True)
        torch.manual_seed(1)  # the same dropout masks in both runs
        loss = model.loss(model.collate(EXAMPLES[:4]))
        loss.backward()
        grads.append((loss.item(), model.model.shared.weight.grad.clone()))
    assert grads[0][0] == pytest.approx(grads[1][0], rel=1e-5)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-5)


def test_bad_position_is_a_config_error():
    from leanagent.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown position"):
        GeneratorOptions(position="absolute").check()
