"""The generator's decoding as it was before issue 29: the reference for parity tests and bench/bench_decode.py.

Rotary attention recomputed cos/sin and rotated every cached key again at every step, and `propose` went
through Hugging Face's `generate`. Not used by leanagent itself: `reference(model)` turns a copy of a rotary
TacticModel back into that old model, and `generate_propose` is the old `propose`.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from leanagent.generator import byte_codec, rotary
from leanagent.generator.base import dedupe_top
from leanagent.generator.model import _token_logprob_sums

OLD_ATTN = "leanagent_rotary_reference"
OLD_ATTR = "leanagent_rotary_reference"


def old_rotate(x: torch.Tensor, positions: torch.Tensor, base: float = rotary.ROPE_BASE) -> torch.Tensor:
    d = x.shape[-1]
    half = d // 2
    inv = base ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)  # (D/2,)
    angle = positions.to(torch.float32)[:, None] * inv[None, :]  # (L, D/2)
    cos, sin = angle.cos(), angle.sin()
    x1, x2 = x[..., :half].float(), x[..., half:2 * half].float()
    out = [x1 * cos - x2 * sin, x1 * sin + x2 * cos]
    if d % 2:
        out.append(x[..., 2 * half:].float())
    return torch.cat(out, dim=-1).to(x.dtype)


def old_rotary_sdpa(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None,
                    position_bias=None, **kwargs):
    lq, lk = query.shape[2], key.shape[2]
    rot = getattr(module, OLD_ATTR, False)
    if rot:
        pos = torch.arange(lk, device=query.device)
        query, key = old_rotate(query, pos[lk - lq:]), old_rotate(key, pos)
    is_causal = False
    if rot and module.is_decoder and attention_mask is None and lq > 1:
        if lq == lk:
            is_causal = True
        else:
            attention_mask = (pos[lk - lq:, None] >= pos[None, :])[None, None]
    if attention_mask is not None and attention_mask.dtype != torch.bool:
        attention_mask = attention_mask.to(query.dtype)
    out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=0.0,
                                         is_causal=is_causal, scale=scaling)
    return out.transpose(1, 2).contiguous(), None


def reference(model):
    """A copy of a rotary TacticModel whose attention is the old one (same weights)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface
    from transformers.models.t5.modeling_t5 import T5Attention

    AttentionInterface.register(OLD_ATTN, old_rotary_sdpa)
    AttentionMaskInterface.register(OLD_ATTN, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
    old = copy.deepcopy(model)
    for name, mod in old.model.named_modules():
        if isinstance(mod, T5Attention) and name.endswith("SelfAttention"):
            mod.__class__ = T5Attention
            setattr(mod, OLD_ATTR, True)
    old.model.set_attn_implementation(OLD_ATTN)
    return old


@torch.no_grad()
def generate_propose(model, sources, num: int, max_new: int | None = None):
    """The old `TacticModel.propose` (beam search through `generate`), on any TacticModel."""
    model.model.eval()
    inp = model._encode(sources, model.options.max_input_bytes)
    kw = dict(num_beams=num, do_sample=False, length_penalty=0.0, output_scores=True) if num > 1 else \
        dict(num_beams=1, do_sample=False, output_logits=True)  # greedy
    out = model.model.generate(**inp, max_new_tokens=max_new or model.options.max_output_bytes,
                               num_return_sequences=num, return_dict_in_generate=True, **kw)
    seqs = out.sequences[:, 1:]
    texts = [byte_codec.decode(row) for row in seqs.tolist()]
    lps = (out.sequences_scores.float() if num > 1 else _token_logprob_sums(seqs, out.logits)).tolist()
    return [dedupe_top([(texts[i].strip(), lps[i]) for i in range(b * num, (b + 1) * num)
                        if texts[i].strip()], num) for b in range(len(sources))]
