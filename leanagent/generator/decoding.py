"""Decoding a causal LM over a shared prompt: each prompt runs once, its candidates share its KV cache.

Hugging Face's `generate` repeats every prompt `num_beams` (or
`num_return_sequences`) times before running it, so a 64-tactic expansion
encodes the same proof state 64 times. Here each state's prompt runs once
(`prefill`), its key/value cache is repeated for the candidates
(`DynamicCache.batch_repeat_interleave`), and every later step runs one new
token per candidate on top of it.

Beam search and sampling return `Hypothesis` objects: the generated tokens
(eos excluded), the exact sum of their log-probabilities (eos included when the
hypothesis finished; raw logits, temperature never applied to scores) and
whether it finished. The caller normalises by length (`Hypothesis.mean`), the
score BFS-Prover's search ranks by. Prompts are left-padded; position ids
count real tokens only, so a row's positions do not depend on its batch.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch

NEG_INF = float("-inf")


@dataclass
class Hypothesis:
    tokens: list[int]   # generated tokens, eos excluded
    logprob: float      # sum of the log-probabilities of the tokens (and of eos, when finished)
    finished: bool      # ended with eos (False: cut at the token limit)

    @property
    def length(self) -> int:
        return len(self.tokens) + int(self.finished)

    @property
    def mean(self) -> float:
        """Length-normalised log-probability (per token, eos included): <= 0, comparable across lengths."""
        return self.logprob / max(1, self.length)


@dataclass(frozen=True)
class CallSpec:
    """How to call a model's forward: the name of its cache argument (`cache` since transformers 5.x,
    `past_key_values` before) and extra arguments of the prefill."""

    cache_arg: str = "past_key_values"
    keep: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, model) -> "CallSpec":
        """Read from the forward's signature. `logits_to_keep=1` where accepted: prefill then computes the
        vocabulary logits of the last position only ((B, 1, V), not (B, P, V): 0.8 GB for 8 prompts of 512
        tokens with a 49k vocabulary)."""
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        params = inspect.signature(base.forward).parameters
        cache_arg = "cache" if "cache" in params else "past_key_values"
        keep = next(((name, 1) for name in ("logits_to_keep", "num_logits_to_keep") if name in params), None)
        return cls(cache_arg, (keep,) if keep else ())


def prefill(model, ids: torch.Tensor, mask: torch.Tensor, spec: CallSpec):
    """Run left-padded prompts (B, P) once: (cache, next-token logits (B, V) in fp32)."""
    from transformers import DynamicCache

    cache = DynamicCache()
    pos = (mask.long().cumsum(-1) - 1).clamp(min=0)  # (B, P): real tokens count from 0
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True,
                **{spec.cache_arg: cache}, **dict(spec.keep))
    return cache, out.logits[:, -1, :].float()  # the cache object is filled in place


def advance(model, cache, tokens: torch.Tensor, mask: torch.Tensor, spec: CallSpec):
    """One new token per row ((N,)) on top of `cache` (updated in place): (logits (N, V), mask (N, L + 1))."""
    mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)
    pos = mask.long().sum(-1, keepdim=True) - 1  # (N, 1)
    out = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=pos, use_cache=True,
                **{spec.cache_arg: cache})
    return out.logits[:, -1, :].float(), mask


def _expand(cache, mask: torch.Tensor, logits: torch.Tensor, n: int):
    """Every prompt's cache, mask and next-token logits repeated for its n candidates (rows b*n .. b*n+n-1)."""
    cache.batch_repeat_interleave(n)
    return mask.repeat_interleave(n, dim=0), logits.repeat_interleave(n, dim=0)


@torch.no_grad()
def sample(model, ids: torch.Tensor, mask: torch.Tensor, num: int, max_new: int, eos: int,
           temperature: float = 1.0, spec: CallSpec = CallSpec()) -> list[list[Hypothesis]]:
    """`num` samples per prompt (duplicates possible) at `temperature`."""
    batch = ids.shape[0]
    cache, logits = prefill(model, ids, mask, spec)
    mask, logits = _expand(cache, mask, logits, num)  # (B*num, P), (B*num, V)
    total = torch.zeros(logits.shape[0], device=logits.device)
    done = torch.zeros(logits.shape[0], dtype=torch.bool, device=logits.device)
    steps: list[torch.Tensor] = []
    for t in range(max_new):
        logp = torch.log_softmax(logits, dim=-1)
        nxt = torch.multinomial(torch.softmax(logits / max(temperature, 1e-5), dim=-1), 1).squeeze(1)  # (N,)
        nxt = torch.where(done, torch.full_like(nxt, eos), nxt)  # finished rows only repeat eos, unscored
        total += torch.where(done, 0.0, logp.gather(1, nxt[:, None]).squeeze(1))
        steps.append(nxt)
        done = done | (nxt == eos)
        if bool(done.all()) or t == max_new - 1:
            break
        logits, mask = advance(model, cache, nxt, mask, spec)
    rows = torch.stack(steps, dim=1).tolist() if steps else [[] for _ in range(logits.shape[0])]
    hyps = []
    for row, lp in zip(rows, total.tolist()):
        cut = row.index(eos) if eos in row else len(row)
        hyps.append(Hypothesis(row[:cut], lp, cut < len(row)))
    return [hyps[b * num:(b + 1) * num] for b in range(batch)]


@torch.no_grad()
def beam_search(model, ids: torch.Tensor, mask: torch.Tensor, num: int, max_new: int, eos: int,
                spec: CallSpec = CallSpec()) -> list[list[Hypothesis]]:
    """Beam search with `num` beams per prompt, ranked by summed log-probability as it runs.

    A beam that emits eos within the top `num` candidates of its prompt becomes a finished hypothesis
    (as in Hugging Face's beam search); a prompt stops once it has `num` of them, and its rows leave the
    batch. Beams still open at `max_new` tokens come back unfinished when a prompt has fewer than `num`
    finished ones.
    """
    batch, k = ids.shape[0], num
    cache, logits = prefill(model, ids, mask, spec)
    mask, logits = _expand(cache, mask, logits, k)  # (B*k, P), (B*k, V)
    vocab = logits.shape[-1]
    # Only beam 0 of each prompt is live at the start: the k copies would otherwise all pick the same tokens.
    scores = torch.full((batch, k), NEG_INF, device=logits.device)
    scores[:, 0] = 0.0
    seqs = torch.zeros(batch * k, 0, dtype=torch.long, device=logits.device)
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]
    active = list(range(batch))  # prompts still searching: row block i of the batch is prompt active[i]'s
    for t in range(max_new):
        n = len(active)
        cand = (scores[..., None] + torch.log_softmax(logits, dim=-1).view(n, k, vocab)).view(n, -1)
        top, idx = cand.topk(min(2 * k, cand.shape[1]), dim=-1)  # (n, 2k)
        top_l, beam_l, tok_l = top.tolist(), (idx // vocab).tolist(), (idx % vocab).tolist()
        seq_l = seqs.tolist()
        new_beam, new_tok, new_score = [[0] * k for _ in range(n)], [[eos] * k for _ in range(n)], \
            [[NEG_INF] * k for _ in range(n)]
        for i, b in enumerate(active):
            live = 0
            for rank, (s, bi, tok) in enumerate(zip(top_l[i], beam_l[i], tok_l[i])):
                if s == NEG_INF or live == k:
                    break
                if tok == eos:
                    if rank < k:
                        finished[b].append(Hypothesis(seq_l[i * k + bi], s, True))
                    continue
                new_beam[i][live], new_tok[i][live], new_score[i][live] = bi, tok, s
                live += 1
        # A prompt with k finished hypotheses leaves the batch: its rows cost no more decoder work.
        still = [i for i, b in enumerate(active) if len(finished[b]) < k]
        if not still:
            break
        dev = seqs.device
        flat = (torch.tensor(still, device=dev)[:, None] * k
                + torch.tensor([new_beam[i] for i in still], device=dev)).view(-1)  # (n'*k,): rows extended
        cache.reorder_cache(flat)
        mask = mask[flat]
        step_tok = torch.tensor([new_tok[i] for i in still], device=dev).view(-1)  # (n'*k,)
        seqs = torch.cat([seqs[flat], step_tok[:, None]], dim=1)
        scores = torch.tensor([new_score[i] for i in still], device=scores.device)
        active = [active[i] for i in still]
        if t == max_new - 1:
            for j, (b, i) in enumerate(zip(active, still)):
                finished[b] += [Hypothesis(seqs[j * k + r].tolist(), s, False)
                                for r, s in enumerate(new_score[i]) if s != NEG_INF]
            break
        logits, mask = advance(model, cache, step_tok, mask, spec)
    return finished


def greedy(model, ids: torch.Tensor, mask: torch.Tensor, max_new: int, eos: int,
           spec: CallSpec = CallSpec()) -> list[list[Hypothesis]]:
    """The most likely token at every step: one hypothesis per prompt."""
    return beam_search(model, ids, mask, 1, max_new, eos, spec)
