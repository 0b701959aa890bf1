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
#: Attribute set on the self-attention modules that rotate queries and keys.
ROTARY_ATTR = "leanagent_rotary"
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

    AttentionInterface.register(ATTN_NAME, rotary_sdpa)
    AttentionMaskInterface.register(ATTN_NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
    _registered = True


def rotate(x: torch.Tensor, positions: torch.Tensor, base: float = ROPE_BASE) -> torch.Tensor:
    """RoPE: rotate pairs (i, i + D/2) of the last dimension of x (B, H, L, D) by angle pos / base^(2i/D).

    Computed in fp32 and returned in x's dtype; an odd last channel is left as it is.
    """
    d = x.shape[-1]
    half = d // 2
    inv = base ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)  # (D/2,)
    angle = positions.to(torch.float32)[:, None] * inv[None, :]  # (L, D/2)
    cos, sin = angle.cos(), angle.sin()
    x1, x2 = x[..., :half].float(), x[..., half:2 * half].float()  # (B, H, L, D/2) each
    out = [x1 * cos - x2 * sin, x1 * sin + x2 * cos]
    if d % 2:
        out.append(x[..., 2 * half:].float())
    return torch.cat(out, dim=-1).to(x.dtype)


def rotary_sdpa(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                position_bias=None, **kwargs):
    """transformers' attention-function signature: q (B, H, Lq, D), k and v (B, H, Lk, D) -> (B, Lq, H, D).

    `position_bias` (T5's bias, zeros here) is ignored. Queries are the last Lq of the Lk positions
    (Lq = 1 per step when decoding with a cache). Cross-attention is not rotated.
    """
    lq, lk = query.shape[2], key.shape[2]
    rotary = getattr(module, ROTARY_ATTR, False)
    if rotary:
        pos = torch.arange(lk, device=query.device)
        query, key = rotate(query, pos[lk - lq:]), rotate(key, pos)
    is_causal = False
    if rotary and module.is_decoder and attention_mask is None and lq > 1:
        if lq == lk:
            is_causal = True  # flash-eligible: no mask tensor at all
        else:  # a prefix in the cache and several new queries: an explicit causal mask with the offset
            attention_mask = (pos[lk - lq:, None] >= pos[None, :])[None, None]  # (1, 1, Lq, Lk)
    if attention_mask is not None and attention_mask.dtype != torch.bool:
        attention_mask = attention_mask.to(query.dtype)  # additive float mask
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=0.0,
                                         is_causal=is_causal, scale=scaling)  # (B, H, Lq, D)
    return out.transpose(1, 2).contiguous(), None


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
            setattr(mod, ROTARY_ATTR, True)
    model.set_attn_implementation(ATTN_NAME)
