"""Issue 29: decoding that does not redo work.

Parity with the code before it (tests/generator/decode_reference.py: keys rotated again at every step,
Hugging Face's `generate`), a search that drops settled states and cuts long tactics, a merged proposer
that leaves out a generator that learned nothing, and `train generator`'s device defaults.
"""

from __future__ import annotations

import json
import logging

import pytest
import torch

from decode_reference import generate_propose, reference
from leanagent.generator import byte_codec, rotary, seq2seq
from leanagent.generator.model import GenExample, GeneratorOptions, TacticModel, tactic_percentile

TINY = dict(d_model=32, num_layers=2, num_heads=2, d_ff=64, max_output_bytes=12, max_input_bytes=64)
EXAMPLES = [GenExample("⊢ a = a", "rfl"), GenExample("⊢ b ∧ c", "simp"), GenExample("⊢ x", "exact h")] * 8
SOURCES = ["⊢ a = a", "⊢ b ∧ c", "⊢ x", "⊢ b ∧ c ∧ d"]


@pytest.fixture(scope="module")
def trained():
    from leanagent.training.loop import TrainOptions, fit

    torch.manual_seed(0)
    model = TacticModel.create(GeneratorOptions(**TINY))
    fit(model, EXAMPLES, TrainOptions(epochs=20, batch_size=4, lr=3e-2, warmup_steps=1))
    model.eval()
    return model


def test_the_rope_table_is_built_once_per_device_and_dtype_and_grows():
    table = rotary.RopeTable()
    cos, _ = table.get(10, 8, "cpu", torch.float32)
    assert table.get(5, 8, "cpu", torch.float32)[0] is cos  # no recomputation
    longer, _ = table.get(cos.shape[0] + 1, 8, "cpu", torch.float32)
    assert longer.shape[0] > cos.shape[0] and torch.equal(longer[:cos.shape[0]], cos)
    assert table.get(5, 8, "cpu", torch.bfloat16)[0].dtype == torch.bfloat16


@pytest.mark.parametrize("dtype,atol", [(torch.float32, 1e-5), (torch.bfloat16, 0.05)])
def test_full_sequence_logits_match_the_old_rotary_attention(trained, dtype, atol):
    import copy

    new, old = copy.deepcopy(trained.model).to(dtype).eval(), reference(trained).model.to(dtype).eval()
    inp = trained._encode(SOURCES, 64)
    labels = trained._labels(["rfl", "simp", "exact h", "x"])
    with torch.no_grad():
        a = new(**inp, labels=labels).logits.float()  # (B, T, V)
        b = old(**inp, labels=labels).logits.float()
    assert (a - b).abs().max() <= atol * max(1.0, float(b.abs().max()))


def test_cached_decoding_gives_the_full_sequence_logits(trained):
    """seq2seq's Decoder, one token at a time over keys rotated once, against one teacher-forced pass."""
    inp = trained._encode(SOURCES[:2], 64)
    labels = trained._labels(["exact h", "simp"])  # (2, T)
    with torch.no_grad():
        full = trained.model(**inp, labels=labels).logits  # (2, T, V)
        dec = seq2seq.Decoder(trained.model, inp["input_ids"], inp["attention_mask"])
        tokens = torch.zeros(2, dtype=torch.long)  # the decoder start token
        for t in range(4):
            step = dec.step(tokens, 1)  # (2, V)
            assert torch.allclose(step, full[:, t], atol=1e-5)
            tokens = labels[:, t]


@pytest.mark.parametrize("num", [1, 4, 8])
def test_proposals_are_the_old_codes_same_tactics_in_the_same_order(trained, num):
    old = reference(trained)
    want = generate_propose(old, SOURCES, num)
    got = trained.propose(SOURCES, num)
    assert [[t for t, _ in row] for row in got] == [[t for t, _ in row] for row in want]
    for g, w in zip(got, want):
        assert all(abs(a[1] - b[1]) < 1e-4 for a, b in zip(g, w))
    # generate over today's rotary attention (keys cached rotated) agrees too
    assert [[t for t, _ in r] for r in generate_propose(trained, SOURCES, num)] == \
        [[t for t, _ in r] for r in want]


def test_a_settled_state_leaves_the_batch_and_an_ended_beam_stops():
    """State 0 prefers eos at every step, state 1 never: after two steps state 0 has two finished beams no
    running beam can beat, and only state 1's rows run on."""
    k, vocab, eos = 2, 6, byte_codec.EOS
    search = seq2seq._Search(2, k, 5, eos, "cpu")
    logits = torch.zeros(2 * k, vocab)
    logits[:k, eos] = 20.0   # state 0: eos almost surely
    logits[k:, eos] = -20.0  # state 1: eos almost never
    logits[k:, 3] = 5.0
    rows, kept, tokens = search.advance(logits, 0)
    assert kept is None and tokens.shape == (2 * k,)  # one finished beam is not enough to settle
    rows, kept, tokens = search.advance(logits, 1)
    assert kept.tolist() == [1] and rows.shape == (k,) and tokens.shape == (k,)  # state 0 is out
    assert rows.min() >= k  # the rows kept are state 1's
    assert [b.tokens for b in search.out[0]][0] == []  # its best beam: eos at once
    for t in (2, 3, 4):
        rows, kept, tokens = search.advance(logits[k:], t)
    assert tokens is None  # cut at max_new: every state settled
    beams = search.results()
    assert len(beams) == 2 and all(len(b.tokens) == 5 for b in beams[1])  # state 1: cut at 5 tokens


def test_decoding_stops_at_eos_and_tactics_are_cut_at_the_stored_percentile(trained, tmp_path):
    timing = seq2seq.Timing()
    trained.propose(["⊢ a = a"], 2, timing=timing)
    assert timing.steps < TINY["max_output_bytes"]  # "rfl" ends the search long before the limit
    assert tactic_percentile(["ab", "abcd", "a" * 40]) == 41 and tactic_percentile([]) is None
    assert tactic_percentile(["ab"] * 99 + ["a" * 50]) == 3  # the 99th percentile, eos included
    trained.tactic_bytes_p99 = 5
    trained.save(tmp_path / "ckpt")
    trained.tactic_bytes_p99 = None
    again = TacticModel.load(tmp_path / "ckpt")
    assert again.tactic_bytes_p99 == 5 and again.tactic_limit == 5
    again.max_tactic_bytes = 3  # --max-tactic-bytes wins over the stored percentile
    timing = seq2seq.Timing()
    out = again.propose(["⊢ x"], 2, timing=timing)
    assert timing.steps <= 3 and all(len(t.encode()) <= 3 for row in out for t, _ in row)
    again.max_tactic_bytes = 1000
    assert again.tactic_limit == TINY["max_output_bytes"]  # never over what it was trained to write


class _Fake:
    def __init__(self, name):
        self.name, self.asked = name, []

    def generate(self, states, num, targets=None):
        self.asked.append(num)
        return [[(f"{self.name}{i}", -1.0) for i in range(num)] for _ in states]


def test_merged_asks_the_model_for_fewer_beams_on_the_cpu(monkeypatch, tmp_path):
    from leanagent.device import defaults_for
    from leanagent.generator import build
    from leanagent.generator.options import ProposerOptions

    model, knn = _Fake("m"), _Fake("k")
    monkeypatch.setattr(build, "build_model_generator", lambda *a, **k: model)
    monkeypatch.setattr(build, "build_knn", lambda *a, **k: knn)
    gen = build.build_proposer(ProposerOptions(checkpoint=str(tmp_path)), build.ProposerData(), "cpu")
    gen.generate(["⊢ p"], 16, targets=[None])
    beams = defaults_for("cpu").merged_model_beams
    assert beams is not None and model.asked == [beams] and knn.asked == [16]
    assert defaults_for("cuda").merged_model_beams is None


def test_merged_leaves_out_a_generator_that_learned_nothing_and_says_why(monkeypatch, tmp_path, caplog):
    from leanagent.generator import build
    from leanagent.generator.merged import learned_nothing
    from leanagent.generator.options import ProposerOptions

    def no_model(*a, **k):
        raise AssertionError("the model must not be loaded")

    knn = _Fake("k")
    monkeypatch.setattr(build, "build_model_generator", no_model)
    monkeypatch.setattr(build, "build_knn", lambda *a, **k: knn)
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"per_repo": {"sample": {"tactic_acc": 0.0, "tactic_top_k": 0.0}}}))
    with caplog.at_level(logging.WARNING, logger="leanagent.generator"):
        gen = build.build_proposer(ProposerOptions(checkpoint=str(tmp_path)), build.ProposerData(), "cpu")
    notices = [r.getMessage() for r in caplog.records]
    assert len(notices) == 1 and "left out" in notices[0] and "held-out tactic accuracy was 0%" in notices[0]
    assert gen.proposers == [knn] and "model[" not in gen.name
    # one that learned something, or whose accuracy was never measured, stays
    assert learned_nothing({"per_repo": {"a": {"tactic_acc": 0.0}, "b": {"tactic_acc": 2.5}}}) is None
    assert learned_nothing({"per_repo": {"a": {"tactic_acc": None}}}) is None and learned_nothing(None) is None


def test_train_generator_takes_the_devices_defaults_as_learn_does():
    import argparse

    from leanagent.commands.generation import add_train_generator, train_options
    from leanagent.device import Placement
    from leanagent.lifelong.learn_options import cpu_defaults

    parser = argparse.ArgumentParser()
    add_train_generator(parser.add_subparsers(), argparse.ArgumentParser(add_help=False))
    train, options = train_options(parser.parse_args(["generator"]), Placement("cpu"))
    assert options == cpu_defaults()[2]  # learn's CPU generator
    assert options.max_input_bytes == 512 and options.num_premises == 0
    assert train.max_steps > 0 and train.batch_size == cpu_defaults()[0].batch_size
    train, options = train_options(parser.parse_args(["generator", "--max-input-bytes", "1024",
                                                      "--max-steps", "7"]), Placement("cpu"))
    assert options.max_input_bytes == 1024 and train.max_steps == 7  # the command line wins
    _, gpu = train_options(parser.parse_args(["generator"]), Placement("cuda:0", True))
    assert gpu == GeneratorOptions()  # on a GPU, the options' own defaults


def test_the_progress_line_gives_examples_per_second():
    from leanagent.training.log_lines import step_line

    assert step_line(40, 200, 1.23456, 80.0, examples=320) == \
        "  training: step 40/200, loss 1.2346, 0.50 steps/s, 4.0 examples/s, about 5m 20s left"
