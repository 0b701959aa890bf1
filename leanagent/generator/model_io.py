"""The one place that picks the tactic generator's class: ByT5 (`model.TacticModel`) or a causal LM.

Training (`leanagent.training.generator`), proving (`leanagent.generator.build`)
and `learn`'s evaluation build their model here, so each takes either kind.
The kind comes from the options (`GeneratorOptions.kind`) or, with `auto`, from
the model itself (`model_kind`): a checkpoint folder says it in generator.json,
a Hugging Face folder in its config.json, a cached hub name in its cached
config; `scratch` and `byt5-small` are T5, GGUF files and `smollm2-135m` are
causal LMs.

Placement stays the caller's (`Placement.put`); what the kind needs to know of
the device is decided here: a causal LM on a bf16 GPU is loaded in bf16 when
its weights will not be trained in full (inference, or frozen LoRA bases;
Lightning's bf16-mixed wants fp32 master weights otherwise), and on the CPU
either kind's thread count is set (`causal_io.set_cpu_threads`).
"""

from __future__ import annotations

import json
from pathlib import Path

from leanagent.device import Placement, placement
from leanagent.generator.options import GeneratorOptions

T5_NAMES = ("scratch", "byt5-small", "kaiyuy/leandojo-lean4-tacgen-byt5-small")
T5_TYPES = ("t5", "mt5", "umt5", "byt5")


def _config_kind(config_file: Path) -> str:
    cfg = json.loads(config_file.read_text())
    return "t5" if cfg.get("model_type") in T5_TYPES or cfg.get("is_encoder_decoder") else "causal"


def model_kind(source: str | Path, kind: str = "auto") -> str:
    """`t5` or `causal` for a model source (see the module docstring); `kind` other than auto wins."""
    if kind != "auto":
        return kind
    from leanagent.generator.causal import OPTIONS_FILE
    from leanagent.generator.causal_io import PACKAGED

    text = str(source)
    if text in T5_NAMES:
        return "t5"
    if text in PACKAGED or text.endswith(".gguf"):
        return "causal"
    path = Path(text)
    if (path / OPTIONS_FILE).is_file():  # our checkpoint; T5 ones written before causal LMs say nothing
        saved = json.loads((path / OPTIONS_FILE).read_text()).get("kind", "t5")
        return "causal" if saved == "causal" else "t5"
    if path.is_dir():
        return _config_kind(path / "config.json") if (path / "config.json").is_file() else "t5"
    try:  # a hub name: its cached config, without the network
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(text, "config.json")
    except Exception:  # noqa: BLE001 - not a valid repo id, or no hub client: keep T5's loading and errors
        cached = None
    return _config_kind(Path(cached)) if isinstance(cached, str) else "t5"


def _dtype(where: Placement, train: bool, options: GeneratorOptions):
    import torch

    low = where.inference_dtype == "bfloat16" and (not train or options.lora_rank > 0)
    return torch.bfloat16 if low else torch.float32


def _thread_setup(where: Placement, options: GeneratorOptions) -> None:
    if where.defaults.cap_threads:
        from leanagent.generator.causal_io import set_cpu_threads

        set_cpu_threads(options.threads)


def new_model(options: GeneratorOptions, seed: int = 0, *, train: bool = False, device=None):
    """The starting generator of `options`: a scratch or pretrained T5, or a pretrained causal LM."""
    options.check()
    if model_kind(options.model, options.kind) == "causal":
        from leanagent.generator.causal import CausalTacticModel

        where = placement(device)
        _thread_setup(where, options)
        return CausalTacticModel.create(options, seed, train=train, dtype=_dtype(where, train, options))
    from leanagent.generator.model import TacticModel

    _thread_setup(placement(device), options)  # the same thread policy as a causal LM's
    return TacticModel.create(options, seed=seed)


def load_model(source: str | Path, options: GeneratorOptions | None = None, *, train: bool = False,
               device=None):
    """A generator checkpoint folder (written by either kind's `save`), or pretrained weights."""
    kind = model_kind(source, options.kind if options is not None else "auto")
    if kind == "causal":
        from leanagent.generator.causal import CausalTacticModel

        where = placement(device)
        opts = options or GeneratorOptions()
        _thread_setup(where, opts)
        return CausalTacticModel.load(source, options, train=train, dtype=_dtype(where, train, opts))
    from leanagent.generator.model import TacticModel

    model = TacticModel.load(source, options) if options is not None else TacticModel.load(source)
    _thread_setup(placement(device), model.options)  # the same thread policy as a causal LM's
    return model
