"""Generator options: a plain dataclass, importable without torch (the CLI builds --help from it)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from leanagent.data import SourceScope
from leanagent.errors import ConfigError
from leanagent.retrieval.build import RETRIEVALS


POSITIONS = ("auto", "rotary", "relative")
#: Generator kinds: the ByT5 sequence-to-sequence model or a causal LM (`leanagent.generator.causal`).
KINDS = ("auto", "t5", "causal")


@dataclass
class GeneratorOptions:
    """Sizes and decoding of the tactic generator."""

    model: str = "scratch"
    """`scratch` (a new T5 of the sizes below), `byt5-small` (ReProver's tacgen weights), `smollm2-135m` (the
    SmolLM2-135M causal LM of the [smollm] extra), a .gguf file, a folder or a hub name (see `kind`)."""
    d_model: int = 256
    """Width of a scratch model."""
    num_layers: int = 4
    """Encoder and decoder layers of a scratch model."""
    num_heads: int = 4
    """Attention heads of a scratch model."""
    d_ff: int = 1024
    """Feed-forward width of a scratch model."""
    max_input_bytes: int = 2300
    """Byte budget of the input (retrieved premises + state); ReProver uses 2300."""
    max_output_bytes: int = 256
    """Longest tactic generated, in bytes."""
    num_premises: int = 10
    """Retrieved premises prepended to the state (0 = no retrieval)."""
    decoding: str = "beam"
    """`beam` (beam search) or `sampling`."""
    temperature: float = 1.0
    """Sampling temperature (sampling only)."""
    position: str = "auto"
    """Positions: `rotary` (RoPE; attention runs in SDPA's fused kernels, memory linear in the input length),
    `relative` (T5's relative bias, as in ReProver's ByT5; memory quadratic in the input length) or `auto`
    (rotary for a scratch model, the checkpoint's own for pretrained weights)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory per batch (a larger batch budget), about a
    third more compute."""
    kind: str = "auto"
    """`t5` (the ByT5 sequence-to-sequence generator), `causal` (a Hugging Face causal LM: `--gen-model` names a
    folder, a hub name, a .gguf file or `smollm2-135m`) or `auto` (from the model: T5 for scratch and
    byt5-small, causal for smollm2-135m, GGUF files and checkpoints whose config is not T5). A causal LM's
    prompt budget is max_input_bytes tokens and its longest tactic max_output_bytes tokens."""
    template: str = "auto"
    """Prompt template of a causal LM: `reprover` (premises, then the state), `internlm-stepprover`,
    `bfs-prover`, `deepseek-prover`, a format string with a `{state}` field, or `auto` (by the model's name;
    reprover otherwise). See leanagent.generator.prompts."""
    lora_rank: int = 0
    """Fine-tune a causal LM with LoRA adapters of this rank on every linear layer (needs peft; checkpoints
    hold the merged weights); 0 fine-tunes all weights."""
    threads: int = 0
    """CPU threads of torch on the CPU, training and decoding (0: every core this process may use; never
    read from the machine's load, so that the same seed gives the same figures on a busy machine). On a
    machine shared with other jobs, fewer threads than cores avoids oversubscription."""

    def check(self) -> None:
        if self.decoding not in ("beam", "sampling"):
            raise ConfigError(f"decoding must be beam or sampling, not {self.decoding!r}")
        if self.kind not in KINDS:
            raise ConfigError(f"unknown generator kind {self.kind!r}", fix=f"use one of {', '.join(KINDS)}")
        if self.lora_rank < 0 or self.threads < 0:
            raise ConfigError("lora_rank and threads must be >= 0")
        from leanagent.generator.prompts import check_template

        check_template(self.template)
        if self.position not in POSITIONS:
            raise ConfigError(f"unknown position {self.position!r}", fix=f"use one of {', '.join(POSITIONS)}")
        if self.max_input_bytes < 16 or self.max_output_bytes < 1:
            raise ConfigError("max_input_bytes must be >= 16 and max_output_bytes >= 1")


PROPOSERS = ("merged", "model", "knn", "frequency")
#: --source-split values and the splits each reads.
SOURCE_SPLITS = {"train": ("train",), "all": ("train", "val", "test")}


@dataclass
class ProposerOptions:
    """Which tactic proposer the prover uses."""

    proposer: str = "merged"
    """`merged` (model + kNN, the default), `model`, `knn` or `frequency`."""
    checkpoint: str | None = None
    """Generator checkpoint folder or hub name (default: the newest generator checkpoint in the database)."""
    retrieval: str = "bm25"
    """Premise retrieval: `bm25`, `dense` (the newest trained retriever) or `none`. The model gets the
    premises prepended to its input; kNN fills the premise slots of its neighbours' tactics with them."""
    knn_encoder: str = "minilm"
    """Encoder that embeds proof states for kNN (any name `leanagent.retrieval.encoder` accepts)."""
    knn_neighbours: int = 64
    """Recorded states consulted per query (64 fills a 64-tactic expansion with distinct tactics)."""
    knn_weight: float = 0.5
    """Weight of kNN in the merged mixture (the model gets 1 - weight)."""
    frequency_top: int = 64
    """Tactics proposed by the frequency baseline."""
    source_split: str = "train"
    """Recorded steps that feed kNN and frequency: `train`, or `all` (every split). A proof found with `all`
    is kept for review but never becomes training data (its proposers saw held-out steps). Either way a
    target theorem's own steps (and its copies') are left out, and evaluation-only repositories never feed
    them."""
    source_repos: str | None = None
    """Repositories whose recorded steps feed kNN and frequency, comma-separated (default: all; `learn`
    sets the repositories learned so far)."""
    num_premises: int | None = None
    """Override the model's number of retrieved premises (None: the checkpoint's setting)."""
    max_tactic_bytes: int | None = None
    """Longest tactic the model decodes, in bytes: longer ones are cut (None: the 99th percentile of the
    checkpoint's training tactics, stored with it, within its max_output_bytes)."""

    def check(self) -> None:
        if self.max_tactic_bytes is not None and self.max_tactic_bytes < 1:
            raise ConfigError("max_tactic_bytes must be >= 1", fix="give a positive byte count, or none")
        if self.proposer not in PROPOSERS:
            raise ConfigError(f"unknown proposer {self.proposer!r}", fix=f"use one of {', '.join(PROPOSERS)}")
        if self.retrieval not in RETRIEVALS:
            raise ConfigError(f"unknown retrieval {self.retrieval!r}", fix=f"use one of {', '.join(RETRIEVALS)}")
        if not 0.0 <= self.knn_weight <= 1.0:
            raise ConfigError("knn_weight must be in [0, 1]")
        if self.source_split not in SOURCE_SPLITS:
            raise ConfigError(f"unknown source split {self.source_split!r}", fix=f"use one of {', '.join(SOURCE_SPLITS)}")

    def scope(self) -> SourceScope:
        """Which recorded steps may feed the proposers (see `leanagent.data.SourceScope`)."""
        repos = tuple(r.strip() for r in self.source_repos.split(",") if r.strip()) if self.source_repos else None
        return SourceScope(repos, SOURCE_SPLITS[self.source_split])


def proposer_name(options: ProposerOptions) -> str:
    """The model string written to proofs and attempts (same options -> same string)."""
    o = options
    cut = "" if o.max_tactic_bytes is None else f",cut={o.max_tactic_bytes}"
    model = f"model[{o.checkpoint},{o.retrieval}{'' if o.num_premises is None else ',' + str(o.num_premises)}{cut}]"
    src = o.source_split if not o.source_repos else f"{o.source_split}@{_short_hash(o.source_repos)}"
    knn = f"knn[{o.knn_encoder},k={o.knn_neighbours},{src},{o.retrieval}]"
    if o.proposer == "frequency":
        return f"frequency[{o.frequency_top},{src}]"
    if o.proposer == "knn":
        return knn
    if o.proposer == "model":
        return model
    if o.checkpoint is None:
        return f"merged[{knn}]"
    return f"merged[{model}+{knn},w={o.knn_weight:g}]"


def _short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()
