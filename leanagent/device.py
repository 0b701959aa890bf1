"""Where models run and in which precision: the one device policy.

`--device auto|cpu|cuda|cuda:N` is resolved once, by `placement()`, into a
`Placement`; every piece of code that runs a model (the retriever's encoder,
the kNN encoder, the tactic generator, the training loop, EWC's Fisher, the
prover's workers) takes that object and lets it move modules and tensors.
Nothing else calls `.to(device)` on a model.

Precision: training on a GPU is bf16-mixed where the GPU supports bf16
(16-mixed otherwise) and fp32 on the CPU, where bf16 is slow and lossy.
Inference on such a GPU runs in bf16: a model used only for inference has its
weights cast (`put(..., inference=True)`), a model that is also trained keeps
fp32 weights and runs its inference under `autocast_for(module)`.

Importable without torch (the CLI builds --help from `DeviceOptions`).
"""

from __future__ import annotations

import contextlib
import math
import re
from dataclasses import dataclass

from leanagent.errors import ConfigError

_SPEC = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")
#: Frontier nodes proposed for in one generator call, per device kind (see `prover.search`).
EXPAND_BATCH = {"cuda": 8, "cpu": 1}
#: Theorems one prover worker searches at once, per device kind: their generator calls are merged into one
#: batch (`prover.batching`), so a GPU gets large calls even when each search has a single open node.
SEARCHES = {"cuda": 8, "cpu": 1}


@dataclass
class DeviceOptions:
    """Where the models of a command run."""

    device: str = "auto"
    """`auto` (the first GPU when CUDA is present, else the CPU), `cpu`, `cuda` or `cuda:N`. On a GPU that
    supports bf16, training is bf16-mixed and inference runs in bf16; the CPU uses fp32."""


def _cuda_facts() -> tuple[int, bool]:
    """(visible CUDA devices, whether they support bf16). One function, so tests can pretend a GPU."""
    import torch

    if not torch.cuda.is_available():
        return 0, False
    return torch.cuda.device_count(), bool(torch.cuda.is_bf16_supported())


@dataclass(frozen=True)
class Placement:
    """A resolved device: where modules go and the precision they compute in."""

    device: str          # "cpu" or "cuda:N"
    bf16: bool = False   # the device computes in bf16 well (Ampere or newer)

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def kind(self) -> str:
        return "cuda" if self.is_cuda else "cpu"

    @property
    def index(self) -> int | None:
        return int(self.device.split(":")[1]) if self.is_cuda else None

    @property
    def inference_dtype(self) -> str:
        """`bfloat16` on a bf16 GPU, else `float32` (fp16 inference of T5 overflows)."""
        return "bfloat16" if self.is_cuda and self.bf16 else "float32"

    def train_precision(self, option: str = "auto") -> str:
        """Lightning's precision for `option` (`auto`: bf16-mixed on a bf16 GPU, 16-mixed on an older one,
        32-true on the CPU)."""
        if option != "auto":
            return option
        if not self.is_cuda:
            return "32-true"
        return "bf16-mixed" if self.bf16 else "16-mixed"

    def lightning(self) -> tuple[str, object]:
        """(accelerator, devices) for `pytorch_lightning.Trainer`."""
        return ("gpu", [self.index]) if self.is_cuda else ("cpu", 1)

    def expand_batch(self) -> int:
        """Default number of frontier nodes per generator call in the search."""
        return EXPAND_BATCH[self.kind]

    def searches(self) -> int:
        """Default number of theorems a prover worker searches at once (see `prover.batching`)."""
        return SEARCHES[self.kind]

    def put(self, module, *, inference: bool = False):
        """Move `module` here (in place; returned for chaining). With `inference`, cast its floating-point
        weights to the inference dtype too: only for a model that will not be trained afterwards."""
        import torch

        module.to(torch.device(self.device))
        if inference and self.inference_dtype == "bfloat16":
            module.to(torch.bfloat16)
        return module


def device_spec(spec: "str | None") -> str:
    """`spec` checked and normalised (`auto|cpu|cuda|cuda:N`; None: auto) without resolving it (pure)."""
    text = (spec or "auto").strip().lower()
    if not _SPEC.match(text):
        raise ConfigError(f"unknown device {spec!r}", fix="use auto, cpu, cuda or cuda:N")
    return text


def placement(spec: "str | Placement | None" = None) -> Placement:
    """Resolve `auto|cpu|cuda|cuda:N` (None: auto) into a Placement; a ConfigError names the fix."""
    if isinstance(spec, Placement):
        return spec
    text = device_spec(spec)
    if text == "cpu":
        return Placement("cpu")
    count, bf16 = _cuda_facts()
    if text == "auto":
        return Placement("cuda:0", bf16) if count else Placement("cpu")
    if count == 0:
        raise ConfigError(f"--device {text}: no CUDA device is visible to torch",
                          fix="use --device cpu (or auto); on a GPU machine install torch's CUDA build and "
                              "check CUDA_VISIBLE_DEVICES")
    index = int(text.split(":")[1]) if ":" in text else 0
    if index >= count:
        raise ConfigError(f"--device {text}: only {count} CUDA device(s) are visible (cuda:0..cuda:{count - 1})",
                          fix=f"use --device cuda:0 .. cuda:{count - 1}")
    return Placement(f"cuda:{index}", bf16)


def module_device(module):
    """The torch device of a module's first parameter (CPU for a module without any)."""
    import torch

    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def inputs_to(module, tensors: dict) -> dict:
    """`tensors` moved to the device `module` lives on (inputs follow the model; the model was placed)."""
    dev = module_device(module)
    return {k: v.to(dev, non_blocking=dev.type == "cuda") if hasattr(v, "to") else v for k, v in tensors.items()}


def autocast_for(module):
    """A bf16 autocast context for inference with a module whose fp32 weights sit on a bf16 GPU; a no-op
    elsewhere (CPU, or weights already cast by `Placement.put(..., inference=True)`)."""
    import torch

    dev = module_device(module)
    if dev.type != "cuda":
        return contextlib.nullcontext()
    weights_fp32 = any(p.dtype == torch.float32 for p in module.parameters())
    if weights_fp32 and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def gpus_per_worker(total_gpus: float, workers: int) -> float:
    """Ray's `num_gpus` per prover worker by default: the visible GPUs shared evenly (pure).

    At most one GPU each; below one, a fraction rounded down to Ray's 1e-4 resolution so that the
    workers' shares never add up to more than there is. No GPU, or no worker: 0.
    """
    if total_gpus <= 0 or workers <= 0:
        return 0.0
    share = total_gpus / workers
    if share >= 1:
        return 1.0
    return math.floor(share * 10_000) / 10_000
