"""Generator options: a plain dataclass, importable without torch (the CLI builds --help from it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GeneratorOptions:
    """Sizes and decoding of the tactic generator."""

    model: str = "scratch"
    """`scratch` (a new T5 of the sizes below), `byt5-small` (ReProver's tacgen weights), a folder or a hub name."""
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

    def check(self) -> None:
        from leanagent.errors import ConfigError

        if self.decoding not in ("beam", "sampling"):
            raise ConfigError(f"decoding must be beam or sampling, not {self.decoding!r}")
        if self.max_input_bytes < 16 or self.max_output_bytes < 1:
            raise ConfigError("max_input_bytes must be >= 16 and max_output_bytes >= 1")
