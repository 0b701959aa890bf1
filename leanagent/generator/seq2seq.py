"""Beam search for the rotary T5 generator that does no work twice (issue 29).

Hugging Face's `generate` copies each encoded state once per beam, projects the
copies into cross-attention keys and values, and reorders that cross-attention
cache at every step (an `index_select` over (B * beams, H, L, D) per layer:
most of a CPU call's time), and keeps decoding every row until the whole batch
is done. Here:

- the encoder runs once per state and each decoder layer projects its keys and
  values once per state, (B, H, L, D); the beams of a state attend to them
  together, as the queries of one SDPA call ((B, H, beams, D));
- the self-attention cache holds keys rotated once, at their own position
  (`leanagent.generator.rotary`), and only it is reordered;
- a state whose search is settled leaves the batch: its rows cost no more
  decoder work (a beam that emits eos leaves the running beams at once);
- tactics are cut at `max_new` tokens (the caller's `--max-tactic-bytes`).

The search's rules are Hugging Face's beam search with length_penalty 0 and
early_stopping False, step for step (the same top-2k candidates, the same
finished pool, the same stopping test), so it proposes the same tactics in the
same order with the same scores (up to float rounding of the logits).

Relative-position models (ReProver's ByT5) and sampling keep `generate`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from leanagent.generator.rotary import rotate

#: Hugging Face's stand-in for -inf in beam scores; kept so that scores and ties match it exactly.
DEAD = -1.0e9


@dataclass
class Timing:
    """Seconds spent in each part of a call (filled when a Timing is passed; the bench prints it)."""

    encoder: float = 0.0
    """The encoder and the cross-attention keys and values."""
    decoder: float = 0.0
    """Decoder forward passes (one token per running beam per step)."""
    search: float = 0.0
    """Beam bookkeeping: log-softmax, top-k, the finished pool, reordering the cache."""
    steps: int = 0
    """Decoder steps run."""


@dataclass
class Beam:
    tokens: list[int]  # generated tokens, eos excluded
    score: float       # summed log-probability (eos included when it ended with eos)


class Decoder:
    """The decoder of a rotary T5ForConditionalGeneration, one token per row per step, over states encoded once.

    Rows are grouped by state: rows s*g .. s*g+g-1 are state s's g beams (g = `group`).
    """

    def __init__(self, model, ids: torch.Tensor, mask: torch.Tensor):
        self.model = model
        enc = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, L, d)
        b, n = enc.shape[:2]
        self.cross = []  # per layer: (K, V), each (B, H, L, D), projected once per state
        for block in model.decoder.block:
            att = block.layer[1].EncDecAttention
            shape = (b, n, att.n_heads, att.key_value_proj_dim)
            self.cross.append((att.k(enc).view(shape).transpose(1, 2), att.v(enc).view(shape).transpose(1, 2)))
        self.enc_mask = mask.bool()[:, None, None, :]  # (B, 1, 1, L): padding is never attended
        self.past: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(self.cross)  # (N, H, t, D)
        self.t = 0  # position of the next token

    def step(self, tokens: torch.Tensor, group: int) -> torch.Tensor:
        """Run tokens (N,) = (S * group,) at position t: next-token logits (N, V) in fp32."""
        model, t = self.model, self.t
        x = model.decoder.embed_tokens(tokens)[:, None, :]  # (N, 1, d)
        n = x.shape[0]
        for i, block in enumerate(model.decoder.block):
            sa = block.layer[0].SelfAttention
            h = block.layer[0].layer_norm(x)
            shape = (n, 1, sa.n_heads, sa.key_value_proj_dim)
            q = rotate(sa.q(h).view(shape).transpose(1, 2), t)  # (N, H, 1, D)
            k = rotate(sa.k(h).view(shape).transpose(1, 2), t)
            v = sa.v(h).view(shape).transpose(1, 2)
            if self.past[i] is not None:
                k, v = torch.cat([self.past[i][0], k], dim=2), torch.cat([self.past[i][1], v], dim=2)
            self.past[i] = (k, v)  # (N, H, t + 1, D)
            out = F.scaled_dot_product_attention(q, k, v, scale=sa.scaling)  # (N, H, 1, D): sees all of 0..t
            x = x + sa.o(out.transpose(1, 2).reshape(n, 1, -1))
            ca = block.layer[1].EncDecAttention
            h = block.layer[1].layer_norm(x)
            s = n // group
            # The g beams of a state are g queries over that state's keys: (S, H, g, D), no copies of K and V.
            q = ca.q(h).view(s, group, ca.n_heads, ca.key_value_proj_dim).transpose(1, 2)
            kc, vc = self.cross[i]
            out = F.scaled_dot_product_attention(q, kc, vc, attn_mask=self.enc_mask, scale=ca.scaling)
            x = x + ca.o(out.transpose(1, 2).reshape(n, 1, -1))  # (N, 1, d)
            x = block.layer[2](x)  # feed-forward with its residual
        x = model.decoder.final_layer_norm(x)
        if getattr(model.config, "scale_decoder_outputs", model.config.tie_word_embeddings):
            x = x * (model.model_dim ** -0.5)
        self.t += 1
        return model.lm_head(x)[:, 0].float()

    def keep(self, rows: torch.Tensor, states: torch.Tensor | None = None) -> None:
        """Keep (and reorder) self-attention rows `rows` (N',); with `states`, keep only those states' cross
        keys and values (rows must then be grouped by the kept states, in that order)."""
        self.past = [(k[rows], v[rows]) for k, v in self.past]
        if states is not None:
            self.cross = [(k[states], v[states]) for k, v in self.cross]
            self.enc_mask = self.enc_mask[states]


@torch.no_grad()
def beam_search(model, ids: torch.Tensor, mask: torch.Tensor, num: int, max_new: int, eos: int,
                timing: Timing | None = None) -> list[list[Beam]]:
    """`num` beams per state (B states, ids and mask (B, L)), best first, as Hugging Face's beam search."""
    clock = Timing() if timing is None else timing
    t0 = time.perf_counter()
    dec = Decoder(model, ids, mask)
    start = torch.zeros(ids.shape[0], dtype=torch.long, device=ids.device)  # the decoder start token (pad)
    logits = dec.step(start, 1)  # (B, V): one row per state; its beams are copies of it
    dec.keep(torch.arange(ids.shape[0], device=ids.device).repeat_interleave(num))
    t1 = time.perf_counter()
    clock.encoder += t1 - t0
    search = _Search(ids.shape[0], num, max_new, eos, logits.device)
    logits = logits.repeat_interleave(num, dim=0)  # (B * k, V)
    for t in range(max_new):
        t1 = time.perf_counter()
        rows, kept, tokens = search.advance(logits, t)
        if tokens is None:
            clock.search += time.perf_counter() - t1
            break
        dec.keep(rows, kept)
        t2 = time.perf_counter()
        clock.search += t2 - t1
        logits = dec.step(tokens, num)
        clock.decoder += time.perf_counter() - t2
        clock.steps += 1
    return search.results()


class _Search:
    """The bookkeeping of Hugging Face's beam search (length_penalty 0, early_stopping False) over the states
    still running; a settled state's finished beams are stored and its rows leave the batch."""

    def __init__(self, batch: int, k: int, max_new: int, eos: int, device):
        self.k, self.max_new, self.eos = k, max_new, eos
        self.alive = torch.arange(batch, device=device)  # (S,): original index of each running state
        self.run_scores = torch.full((batch, k), DEAD, device=device)  # (S, k)
        self.run_scores[:, 0] = 0.0  # only beam 0 is live at first: the k copies would pick the same tokens
        self.run_seqs = torch.zeros((batch, k, max_new), dtype=torch.long, device=device)  # (S, k, T)
        self.fin_seqs = torch.zeros_like(self.run_seqs)
        self.fin_scores = torch.full((batch, k), DEAD, device=device)
        self.fin_done = torch.zeros((batch, k), dtype=torch.bool, device=device)
        self.top_mask = torch.arange(2 * k, device=device) < k  # (2k,): only the top k may finish
        self.out: dict[int, list[Beam]] = {}

    def advance(self, logits: torch.Tensor, t: int):
        """One step on logits (S * k, V): (rows to keep, states to keep or None, next tokens (S' * k,)); the
        tokens are None when every state is settled."""
        s, k = self.run_scores.shape
        vocab = logits.shape[-1]
        acc = (torch.log_softmax(logits, dim=-1).view(s, k, vocab) + self.run_scores[:, :, None]).view(s, -1)
        top_lp, top_idx = torch.topk(acc, k=2 * k)  # (S, 2k)
        beam, tok = top_idx // vocab, top_idx % vocab
        top_seqs = torch.gather(self.run_seqs, 1, beam[:, :, None].expand(-1, -1, self.max_new)).clone()
        top_seqs[:, :, t] = tok
        hits = (tok == self.eos) | (t + 1 >= self.max_new)  # (S, 2k): ended, or cut at the length limit
        run_lp = top_lp + hits.to(torch.float32) * DEAD
        nxt = torch.topk(run_lp, k=k)[1]  # (S, k)
        self.run_seqs = _gather(top_seqs, nxt)
        self.run_scores = torch.gather(run_lp, 1, nxt)
        run_beam = torch.gather(beam, 1, nxt)  # (S, k): the beam each new running beam extends
        just = hits & self.top_mask[None, :]
        fin_lp = top_lp + (~just).to(torch.float32) * DEAD  # length_penalty 0: scores are plain sums
        scores = torch.cat([self.fin_scores, fin_lp], dim=1)
        pick = torch.topk(scores, k=k)[1]
        self.fin_seqs = _gather(torch.cat([self.fin_seqs, top_seqs], dim=1), pick)
        self.fin_scores = torch.gather(scores, 1, pick)
        self.fin_done = torch.gather(torch.cat([self.fin_done, just], dim=1), 1, pick)
        # Settled: k finished beams, none worse than the best running one (scores only fall from here).
        worst = torch.where(self.fin_done, self.fin_scores.min(dim=1, keepdim=True)[0], DEAD)
        open_ = (self.run_scores[:, :1] > worst).any(dim=1) & (t + 1 < self.max_new)  # (S,)
        rows = (torch.arange(s, device=nxt.device)[:, None] * k + run_beam)  # (S, k) rows of the old batch
        if bool(open_.all()):
            return rows.view(-1), None, self.run_seqs[:, :, t].reshape(-1)
        for i in (~open_).nonzero().view(-1).tolist():
            self.out[int(self.alive[i])] = self._beams(i, t)
        if not bool(open_.any()):
            return None, None, None
        self.alive, self.run_scores, self.run_seqs = self.alive[open_], self.run_scores[open_], self.run_seqs[open_]
        self.fin_seqs, self.fin_scores, self.fin_done = self.fin_seqs[open_], self.fin_scores[open_], \
            self.fin_done[open_]
        kept = open_.nonzero().view(-1)
        return rows[open_].view(-1), kept, self.run_seqs[:, :, t].reshape(-1)

    def _beams(self, i: int, t: int) -> list[Beam]:
        out = []
        for row, score in zip(self.fin_seqs[i, :, :t + 1].tolist(), self.fin_scores[i].tolist()):
            cut = row.index(self.eos) if self.eos in row else len(row)
            out.append(Beam(row[:cut], score))
        return out

    def results(self) -> list[list[Beam]]:
        return [self.out[i] for i in sorted(self.out)]


def _gather(seqs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """seqs (S, M, T) rows picked by idx (S, k) -> (S, k, T)."""
    return torch.gather(seqs, 1, idx[:, :, None].expand(-1, -1, seqs.shape[-1]))
