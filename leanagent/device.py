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

Every default that depends on the kind of device (the training batch's
tokens, DataLoader workers, the encoder's batch, the search's expand batch,
searches per prover worker, the worker pool) is one `DeviceDefaults`, read
here: code elsewhere asks `Placement.defaults` or `defaults_for(...)` and never
compares device names itself.

Importable without torch (the CLI builds --help from `DeviceOptions`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from leanagent.errors import ConfigError

_SPEC = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")


@dataclass(frozen=True)
class DeviceDefaults:
    """What the code does on one kind of device where its options leave the choice open."""

    batch_tokens: int
    """Training: the token budget of one batch (`leanagent.training.buckets`)."""
    loader_workers: int
    """Training: DataLoader processes that collate while the GPU computes; on the CPU they would take cores
    from training."""
    pin_memory: bool
    """Training: page-locked batches, copied to a GPU asynchronously."""
    encode_batch: int
    """`Encoder.embed`: texts per forward pass. 16 on the CPU: MiniLM on two cores embeds 80 states/s
    against 68 with batches of 64, whose attention outgrows the caches."""
    expand_batch: int
    """Search: frontier nodes proposed for in one generator call (`leanagent.prover.search`)."""
    searches: int
    """Theorems one prover worker searches at once: their generator calls are merged into one batch
    (`leanagent.prover.batching`), so a GPU gets large calls even when each search has a single open node."""
    fork_pool: bool
    """Local prover workers are forked from one process that loaded the models (`leanagent.prover.forkpool`);
    otherwise they are Ray actors: a CUDA context does not survive `fork`."""
    generator: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    """Training a tactic generator (`learn`, `train generator`): `GeneratorOptions` values where the command
    line and the config leave them open. CPU: learn's small model, which reads the proof state alone (512
    bytes, no premises): a scratch model this small does not learn to copy premise names in minutes, and
    premises make every step several times slower. GPU: the options' own defaults."""
    generator_train: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    """Training a tactic generator alone (`train generator`): `TrainOptions` values where the command line
    leaves them open. CPU: learn's generator budget (batches of 8, learn.generator_lr, generator_epochs and
    generator_max_steps), counted in steps so the same seed gives the same model on a busy machine. Fixed
    batches (batch_tokens 0): a token budget puts a whole small repository of short states into one batch, so
    40 epochs would be 40 updates; a scratch model on the CPU learns from many small steps."""
    merged_model_beams: int | None = None
    """The merged proposer: beams asked of the tactic model per expansion, where the search asks for more
    (kNN supplies the rest); None: as many as the search asks. CPU: 4, a fraction of a 16-beam call's time."""
    retriever_encoder: str = "minilm"
    """The retriever's encoder where `--encoder` is left open (`auto`): `byt5` (ReProver's retriever) on a GPU,
    the packaged MiniLM on the CPU, where a ByT5 encoder over premises is too slow."""
    cap_threads: bool = False
    """Loading a generator sets torch's CPU threads to the generator's `threads` option (0: every usable
    core, never a count read from the load): on the CPU only."""


#: The tactic generator's training budget per repository: `learn`'s defaults (`LearnOptions.generator_lr`,
#: `generator_epochs`, `generator_max_steps`), which `train generator` run alone on a CPU takes too.
#: 150 steps (about 60 s on a 2-core CPU). Measured on the real sample's largest area after one stage (exact
#: match of the best of 4 beams on 50 test steps; the frequency baseline 3 of 50): 100 steps 0, 150 steps 3
#: (the model's best tactic is then the most frequent one), 250 steps 0 (3 with 8 beams); with the 600 steps
#: of before, one stage took 280 s. Progressive training keeps training one model over the areas, so the
#: last areas' model has had several times 150 steps.
GENERATOR_BUDGET = MappingProxyType(dict(lr=1e-3, epochs=40, max_steps=150))

#: Per device kind (`Placement.kind`).
DEFAULTS = {
    "cuda": DeviceDefaults(batch_tokens=32768, loader_workers=4, pin_memory=True, encode_batch=512,
                           expand_batch=8, searches=8, fork_pool=False, retriever_encoder="byt5"),
    "cpu": DeviceDefaults(batch_tokens=16384, loader_workers=0, pin_memory=False, encode_batch=16,
                          expand_batch=1, searches=1, fork_pool=True,
                          generator=MappingProxyType(dict(d_model=128, num_layers=2, num_heads=4, d_ff=512,
                                                          max_input_bytes=512, max_output_bytes=96,
                                                          num_premises=0)),
                          generator_train=MappingProxyType(dict(batch_size=8, batch_tokens=0, warmup_steps=10,
                                                                **GENERATOR_BUDGET)),
                          merged_model_beams=4, retriever_encoder="minilm", cap_threads=True),
}


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

    @property
    def defaults(self) -> DeviceDefaults:
        """What runs here by default (`DeviceDefaults`)."""
        return DEFAULTS[self.kind]

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


def defaults_for(where: "str | Placement | None", gpus: "bool | None" = None) -> DeviceDefaults:
    """The defaults of the kind of device `where` names, without resolving it (the GPUs of a Ray cluster's
    workers need not be this machine's): `cpu`; `cuda` or `cuda:N`; `auto` (None), a GPU where this machine
    has one (`gpus`; None: ask torch). `where` may also be a Placement, or a torch.device (a placed module's)."""
    if isinstance(where, Placement):
        return where.defaults
    if getattr(where, "type", None) is not None:  # a torch.device
        return DEFAULTS["cuda" if where.type == "cuda" else "cpu"]
    text = device_spec(where)
    if text == "auto":
        cuda = (_cuda_facts()[0] > 0) if gpus is None else gpus
    else:
        cuda = text != "cpu"
    return DEFAULTS["cuda" if cuda else "cpu"]


def driver_placement(spec: "str | None") -> Placement:
    """Where a driver runs the models that build what its workers will read (the shared proposer folder):
    the device `spec` names when this machine has it, else auto. The driver of a Ray cluster may have fewer
    GPUs than the workers `--device` is meant for (inside a Ray worker `cuda` is its own GPU share)."""
    text = device_spec(spec)
    try:
        return placement(text)
    except ConfigError:  # not on this machine: the cluster's workers have it
        chosen = placement("auto")
        # Said, not silent: on a single machine the name is more likely a typo than a cluster's GPU.
        logging.getLogger("leanagent.device").warning(
            "--device %s: this machine has no such device; the shared proposer folder is built on %s "
            "(the workers still use %s)", text, chosen.device, text)
        return chosen


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


def ray_share(device: "str | None", requested: "float | None", workers: int,
              cluster_gpus: float) -> tuple[str, float]:
    """(the device spec each Ray prover worker gets, its `num_gpus`), pure, for `--device` (not resolved:
    the driver may have no GPU, the cluster does) and `--gpus-per-worker` (`requested`; None: the cluster's
    GPUs shared evenly over the `workers` by `gpus_per_worker`, none with --device cpu)."""
    text = device_spec(device)
    if requested is not None:
        gpus = requested
    else:
        gpus = 0.0 if text == "cpu" else gpus_per_worker(cluster_gpus, workers)
    if gpus < 0 or (gpus > 1 and gpus != int(gpus)):
        raise ConfigError(f"--gpus-per-worker {gpus}: Ray takes a fraction up to 1 or a whole number of GPUs")
    if gpus > 0 and text == "cpu":
        raise ConfigError("--gpus-per-worker > 0 with --device cpu", fix="drop one of them")
    if gpus == 0 and text.startswith("cuda"):
        raise ConfigError(f"--device {text}: the Ray workers get no GPU ({cluster_gpus:g} in the cluster)",
                          fix="use --device auto or cpu, or give the workers GPUs with --gpus-per-worker")
    # Inside a worker Ray shows only its assigned GPUs, renumbered from 0; without a share it shows none.
    return ("cuda" if gpus > 0 else "cpu"), gpus
