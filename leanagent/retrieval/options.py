"""Retriever and index options: plain dataclasses, importable without torch (the CLI builds --help from them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EncoderSpec:
    """Which encoder to build and how long its inputs may be."""

    encoder: str = "auto"
    """Encoder: `auto` (byt5 on GPU, minilm on CPU), `minilm`, `byt5`, `tiny-bert`, `tiny-t5`, a local folder
    or a Hugging Face hub name."""
    max_state_len: int = 256
    """Tokens kept from a proof state (the query); longer states are truncated."""
    max_premise_len: int = 64
    """Tokens kept from a premise text."""


@dataclass
class RetrieverOptions(EncoderSpec):
    """Dual-encoder options (the encoder fields come from EncoderSpec)."""

    num_negatives: int = 3
    """Hard negatives per state in a batch (besides the other states' premises)."""
    num_in_file_negatives: int = 1
    """How many of those come from the theorem's own file, defined before it (when there are any)."""
    temperature: float = 0.05
    """Softmax temperature of the contrastive loss over cosine similarities."""


@dataclass
class IndexOptions:
    """How the premise index is built."""

    approx_above: int = 1_000_000
    """Use an approximate index above this many premises (exact inner product below)."""
    approx_kind: str = "hnsw"
    """Approximate index type: `hnsw` or `ivf`."""
    hnsw_m: int = 32
    """HNSW graph degree."""
    hnsw_ef_search: int = 128
    """HNSW search breadth (raised automatically to the number of candidates asked for)."""
    ivf_nprobe: int = 32
    """IVF lists visited per query."""
    oversample: int = 4
    """First search asks for k * oversample candidates before the accessibility filter."""
