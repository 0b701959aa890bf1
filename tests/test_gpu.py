"""The device policy on a real GPU: models go to the device, stay there after training, run in bf16.

Marked `gpu`; every test skips without CUDA (the policy itself is tested on the CPU in test_device.py).
"""

from __future__ import annotations

from leanagent.data import TheoremRef
import pytest
import torch

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch sees none)")]

TINY = dict(d_model=16, num_layers=2, num_heads=2, d_ff=32, max_output_bytes=8, max_input_bytes=64)


def test_auto_places_on_the_first_gpu_in_bf16_where_supported():
    from leanagent.device import placement

    where = placement("auto")
    assert where.device == "cuda:0" and where.defaults.expand_batch == 8
    assert where.train_precision() == ("bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed")
    lin = where.put(torch.nn.Linear(4, 4), inference=True)
    assert lin.weight.device.type == "cuda"
    assert lin.weight.dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32)


def test_the_generator_trains_and_stays_on_the_gpu_then_proposes_there():
    from leanagent.generator.model import GenExample, GeneratorOptions, TacticModel
    from leanagent.training.loop import TrainOptions, fit

    model = TacticModel.create(GeneratorOptions(**TINY))
    ex = [GenExample("⊢ a = a", "rfl"), GenExample("⊢ b", "simp")] * 8
    stats = fit(model, ex, TrainOptions(epochs=20, lr=5e-2, warmup_steps=1, batch_tokens=256), device="cuda")
    assert stats["device"] == "cuda:0" and next(model.parameters()).device.type == "cuda"  # not moved back
    out = model.propose(["⊢ a = a", "⊢ b"], 4)
    assert [c[0][0] for c in out] == ["rfl", "simp"]
    ref = model.sequence_logprobs(["⊢ a = a"], [out[0][0][0]])
    assert out[0][0][1] == pytest.approx(ref.item(), abs=0.05)  # bf16 autocast: close, not bit-equal


def test_encoder_embeds_on_the_gpu_and_matches_the_cpu():
    import numpy as np

    from leanagent.device import placement
    from leanagent.retrieval.encoder import Encoder, EncoderSpec

    cpu = Encoder.load(EncoderSpec(encoder="tiny-bert"))
    gpu = placement("cuda").put(Encoder.load(EncoderSpec(encoder="tiny-bert")), inference=True)
    assert gpu.device.type == "cuda"
    texts = ["⊢ a + b = b + a", "n : ℕ ⊢ n + 0 = n"]
    np.testing.assert_allclose(cpu.embed(texts, 32), gpu.embed(texts, 32), atol=0.05)


def test_proposers_use_the_device(tmp_path):
    from leanagent.generator.build import ProposerData, build_proposer
    from leanagent.generator.model import GeneratorOptions, TacticModel
    from leanagent.generator.options import ProposerOptions

    TacticModel.create(GeneratorOptions(**TINY)).save(tmp_path / "gen")
    gen = build_proposer(ProposerOptions(proposer="model", checkpoint=str(tmp_path / "gen"), retrieval="none"),
                         ProposerData(), device="cuda")
    assert next(gen.model.parameters()).device.type == "cuda"
    assert len(gen.generate(["⊢ a = a"], 2, [TheoremRef.none()])) == 1
