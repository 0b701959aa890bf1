"""Rotary position embeddings for a scratch T5, so that its attention runs in SDPA's fused kernels.

T5 adds a learned relative-position bias to every attention score. SDPA can
only take that as a float mask of shape (B, H, L, L), which is materialised in
every layer and rules out the flash and memory-efficient kernels: at ReProver's
2,300 input bytes that is the memory that ran out (issue 12). A rotary T5
keeps T5's layers, names and weights (so `save_pretrained`, `generate` and the
training loop are unchanged) but encodes positions by rotating queries and
keys (RoPE) in every self-attention, and drops the bias. Attention then takes
at most a boolean padding mask: memory linear in the sequence length (the
memory-efficient kernel on a GPU, the fused CPU kernel here), and no mask at
all in the decoder's causal self-attention (flash).

Each self-attention is a `RotarySelfAttention` (the same weights and names):
it rotates a key once, at its own position, before the key enters the decoder's
cache, and the query at its own position, with cos/sin read from one table per
device and dtype (`RopeTable`, grown on demand). A decoding step therefore
rotates one query and one key per layer, not the whole cached prefix again
(issue 29; litgpt's design). Cross-attention is not rotated.

Attention-probability dropout is off in a rotary model (residual and
feed-forward dropout stay): SDPA's fused CPU kernel has no dropout and would
fall back to the quadratic math kernel.

ReProver's checkpoints (`byt5-small`) keep the relative bias they were trained
with (`position: relative`), through transformers' own SDPA path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: The name under which the attention function is registered with transformers.
ATTN_NAME = "leanagent_rotary_sdpa"
ROPE_BASE = 10_000.0
_registered = False


def supported() -> bool:
    """True when this transformers routes T5's attention through its AttentionInterface (transformers 5)."""
    try:
        from transformers import AttentionInterface  # noqa: F401
        from transformers.masking_utils import AttentionMaskInterface  # noqa: F401
        from transformers.models.t5 import modeling_t5
    except ImportError:
        return False
    return hasattr(modeling_t5, "ALL_ATTENTION_FUNCTIONS")


def register() -> None:
    """Register the attention (and its mask builder, SDPA's boolean one) with transformers, once."""
    global _registered
    if _registered:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(ATTN_NAME, sdpa)
    AttentionMaskInterface.register(ATTN_NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
    _registered = True


class RopeTable:
    """cos and sin of every (position, frequency) pair, computed once per device and dtype and grown on demand.

    Angles are computed in fp32 (pos / base^(2i/D)) and only then cast, so a bf16 table holds the rounded
    cos/sin of exact angles. Rows for positions 0..n-1 live in one (n, D/2) tensor per key; a longer
    sequence doubles it.
    """

    def __init__(self, base: float = ROPE_BASE):
        self.base = base
        self.tables: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def get(self, length: int, dim: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """(cos, sin), each (>= length, dim // 2), on `device` in `dtype`."""
        key = (str(device), dtype, dim)
        have = self.tables.get(key)
        if have is None or have[0].shape[0] < length:
            size = max(length, 2 * have[0].shape[0] if have is not None else 64)
            half = dim // 2
            inv = self.base ** (-torch.arange(half, device=device, dtype=torch.float32) / half)  # (D/2,)
            angle = torch.arange(size, device=device, dtype=torch.float32)[:, None] * inv[None, :]  # (n, D/2)
            have = self.tables[key] = (angle.cos().to(dtype), angle.sin().to(dtype))
        return have


TABLE = RopeTable()


def rotate(x: torch.Tensor, positions: torch.Tensor | int) -> torch.Tensor:
    """RoPE: rotate pairs (i, i + D/2) of the last dimension of x (B, H, L, D) by angle pos / base^(2i/D).

    `positions`: (L,) positions, or an int p for positions p .. p + L - 1 (a slice of the table, no gather).
    Computed in x's dtype from the cached table; an odd last channel is left as it is.
    """
    d, n = x.shape[-1], x.shape[-2]
    half = d // 2
    if isinstance(positions, int):
        cos, sin = TABLE.get(positions + n, d, x.device, x.dtype)
        cos, sin = cos[positions:positions + n], sin[positions:positions + n]  # (L, D/2)
    else:
        cos, sin = TABLE.get(int(positions.max()) + 1 if positions.numel() else 1, d, x.device, x.dtype)
        cos, sin = cos[positions], sin[positions]  # (L, D/2)
    x1, x2 = x[..., :half], x[..., half:2 * half]  # (B, H, L, D/2) each
    out = [x1 * cos - x2 * sin, x1 * sin + x2 * cos]
    if d % 2:
        out.append(x[..., 2 * half:])
    return torch.cat(out, dim=-1)


def sdpa(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, position_bias=None,
         **kwargs):
    """transformers' attention-function signature: q (B, H, Lq, D), k and v (B, H, Lk, D) -> (B, Lq, H, D).

    The cross-attention of a rotary model (no positions there); `position_bias` (zeros) is ignored.
    """
    if attention_mask is not None and attention_mask.dtype != torch.bool:
        attention_mask = attention_mask.to(query.dtype)  # additive float mask
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=0.0,
                                         scale=scaling)  # (B, H, Lq, D)
    return out.transpose(1, 2).contiguous(), None


def _self_attention_class():
    """RotarySelfAttention, a T5Attention whose forward rotates queries and keys at their own positions and
    caches keys already rotated (built on first use: transformers is imported lazily)."""
    global _ROTARY_CLASS
    if _ROTARY_CLASS is not None:
        return _ROTARY_CLASS
    from transformers.cache_utils import EncoderDecoderCache
    from transformers.models.t5.modeling_t5 import T5Attention

    class RotarySelfAttention(T5Attention):
        """T5's self-attention with RoPE: the same weights and names; returns no position bias (None)."""

        def forward(self, hidden_states, mask=None, key_value_states=None, position_bias=None, cache=None,
                    **kwargs):
            b, lq = hidden_states.shape[:2]
            shape = (b, lq, -1, self.key_value_proj_dim)
            cache = cache.self_attention_cache if isinstance(cache, EncoderDecoderCache) else cache
            past = int(cache.get_seq_length(self.layer_idx)) if cache is not None else 0
            # Each key is rotated once, at its own position, before it enters the cache; the query likewise.
            query = rotate(self.q(hidden_states).view(shape).transpose(1, 2), past)  # (B, H, Lq, D)
            key = rotate(self.k(hidden_states).view(shape).transpose(1, 2), past)
            value = self.v(hidden_states).view(shape).transpose(1, 2)
            if cache is not None:
                key, value = cache.update(key, value, self.layer_idx)  # (B, H, Lk, D), Lk = past + Lq
            out = attend(query, key, value, mask, causal=self.is_decoder, scale=self.scaling)  # (B, H, Lq, D)
            return self.o(out.transpose(1, 2).reshape(b, lq, -1)), None, None

    _ROTARY_CLASS = RotarySelfAttention
    return _ROTARY_CLASS


_ROTARY_CLASS = None


def attend(query, key, value, mask, *, causal: bool, scale: float | None) -> torch.Tensor:
    """SDPA of rotated q (B, H, Lq, D) over k, v (B, H, Lk, D), the queries being the last Lq positions.

    A decoder without a padding mask gets no mask tensor at all where Lq == Lk (flash-eligible) and an
    offset causal mask where a cached prefix precedes several new queries; one new query sees everything.
    """
    lq, lk = query.shape[2], key.shape[2]
    is_causal = False
    if causal and mask is None and lq > 1:
        if lq == lk:
            is_causal = True
        else:
            pos = torch.arange(lk, device=query.device)
            mask = (pos[lk - lq:, None] >= pos[None, :])[None, None]  # (1, 1, Lq, Lk)
    if mask is not None and mask.dtype != torch.bool:
        mask = mask.to(query.dtype)  # additive float mask
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=0.0, is_causal=is_causal,
                                          scale=scale)


def make_rotary(model) -> None:
    """Turn a T5ForConditionalGeneration into its rotary variant, in place (see the module docstring)."""
    from leanagent.errors import ModelError

    if not supported():
        raise ModelError("rotary positions need transformers >= 5 (T5 through AttentionInterface)",
                         fix="pip install -U transformers, or use --position relative")
    register()
    from transformers.models.t5.modeling_t5 import T5Attention

    for name, mod in model.named_modules():
        if not isinstance(mod, T5Attention):
            continue
        if mod.has_relative_attention_bias:  # the bias of block 0, shared by the stack's layers: unused
            mod.has_relative_attention_bias = False
            del mod.relative_attention_bias
        if name.endswith("SelfAttention"):
            mod.__class__ = _self_attention_class()  # same weights and names: checkpoints are unchanged
    model.set_attn_implementation(ATTN_NAME)
