"""An air-gapped GPU node: the default encoder falls back to the packaged MiniLM with one notice."""

from __future__ import annotations

import logging

import pytest

from leanagent import device as dev
from leanagent.errors import ModelError
from leanagent.retrieval import encoder as enc


@pytest.fixture
def offline_gpu(monkeypatch, tmp_path):
    monkeypatch.setattr(dev, "_cuda_facts", lambda: (1, True))  # the device policy sees a GPU
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no hub, and an empty cache
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    enc._notice.cache_clear()


def test_auto_on_a_gpu_without_reprover_weights_uses_minilm_and_says_how_to_get_them(offline_gpu, caplog):
    assert enc.default_encoder_name() == "byt5" and enc.default_encoder_name("cpu") == "minilm"
    with caplog.at_level(logging.WARNING, logger="leanagent.retrieval"):
        model, _ = enc.load_pretrained("auto")
        enc.load_pretrained("auto")
    assert model.config.model_type == "bert" and model.config.hidden_size == 384  # all-MiniLM-L6-v2
    notices = [r.getMessage() for r in caplog.records if "notice:" in r.getMessage()]
    assert len(notices) == 1 and "\n" not in notices[0]  # one line, once per process
    assert enc.BYT5_RETRIEVER in notices[0] and "huggingface-cli download" in notices[0] and "MiniLM" in notices[0]


def test_asking_for_byt5_by_name_still_fails_clearly(offline_gpu):
    with pytest.raises(ModelError, match="cannot load encoder 'byt5'"):
        enc.load_pretrained("byt5")


def test_the_dual_encoder_resolves_auto_for_its_device(offline_gpu):
    from leanagent.data import PremiseItem
    from leanagent.retrieval.model import DualEncoder, RetrieverOptions

    corpus = [PremiseItem(1, "Nat.add_comm", "Nat.lean", "a + b = b + a")]
    model = DualEncoder.create(corpus, RetrieverOptions(encoder="auto"), device="cpu")
    assert model.encoder.dim == 384  # on the CPU, auto is MiniLM without any notice
