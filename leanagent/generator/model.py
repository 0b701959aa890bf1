"""The retrieval-augmented tactic generator: T5 with ByT5's byte tokenizer (ReProver's design).

Input: retrieved premises prepended to the proof state, in ReProver's format
(`<a>NAME</a> TEXT` blocks separated by blank lines, the best premise nearest
the state), within a byte budget that always keeps the state. Output: one
tactic. Decoding (beam search or sampling) returns up to N distinct tactics per
state with their log-probabilities, batched over states; each candidate is
rescored by one teacher-forced pass, so beam and sampling give exact sums of
token log-probabilities on the same scale.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch

from leanagent.errors import ModelError
from leanagent.generator.base import Candidate, dedupe_top
from leanagent.generator.options import GeneratorOptions  # noqa: F401  (re-exported)

REPROVER_TACGEN = "kaiyuy/leandojo-lean4-tacgen-byt5-small"
OPTIONS_FILE = "generator.json"
#: Weights live in a subfolder: the checkpoint folder's own config.json belongs to the training loop.
WEIGHTS_DIR = "model"




def augment_state(state: str, premises: Sequence[tuple[str, str]], max_bytes: int) -> str:
    """ReProver's input: premises (best first in `premises`) prepended within the byte budget (pure).

    The state always stays whole (it is truncated by the tokenizer if it alone is over).
    Later, worse premises go further from the state; one that does not fit is skipped.
    """
    budget = max_bytes - len(state.encode("utf-8"))
    out, used = "", 0
    for name, text in premises:
        block = f"<a>{name}</a> {text}\n\n"
        size = len(block.encode("utf-8"))
        if used + size > budget:
            continue
        used += size
        out = block + out
    return out + state


def _tokenizer():
    from transformers import ByT5Tokenizer

    return ByT5Tokenizer()  # bytes + 3 specials + 125 extra ids: needs no files


@dataclass
class GenExample:
    """One training example: the (augmented) input text and the target tactic."""

    source: str
    tactic: str


class TacticModel(torch.nn.Module):
    """A T5ForConditionalGeneration + byte tokenizer, trainable by the shared loop."""

    def __init__(self, model, options: GeneratorOptions, name: str):
        super().__init__()
        self.model = model
        self.tokenizer = _tokenizer()
        self.options = options
        self.name = name

    @classmethod
    def create(cls, options: GeneratorOptions, seed: int = 0) -> "TacticModel":
        """Load pretrained weights or build a scratch model of the configured size."""
        options.check()
        from transformers import T5Config, T5ForConditionalGeneration

        if options.model == "scratch":
            torch.manual_seed(seed)
            tok = _tokenizer()
            cfg = T5Config(vocab_size=len(tok), d_model=options.d_model, d_kv=max(1, options.d_model // options.num_heads),
                           d_ff=options.d_ff, num_layers=options.num_layers, num_decoder_layers=options.num_layers,
                           num_heads=options.num_heads, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                           decoder_start_token_id=tok.pad_token_id)
            return cls(T5ForConditionalGeneration(cfg), options, f"scratch-{options.d_model}x{options.num_layers}")
        return cls.load(options.model, options)

    @classmethod
    def load(cls, source: str | Path, options: GeneratorOptions | None = None) -> "TacticModel":
        """From a folder written by `save` (its generator.json wins) or a hub name / `byt5-small`."""
        from transformers import T5ForConditionalGeneration

        src = REPROVER_TACGEN if str(source) == "byt5-small" else str(source)
        folder = Path(src)
        if (folder / OPTIONS_FILE).is_file():
            saved = json.loads((folder / OPTIONS_FILE).read_text())
            options = GeneratorOptions(**{**saved, "model": str(folder)})
            src, folder = str(folder / WEIGHTS_DIR), folder / WEIGHTS_DIR
        options = options or GeneratorOptions(model=src)
        try:
            model = T5ForConditionalGeneration.from_pretrained(src, local_files_only=folder.exists())
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the tactic generator {src!r}: {str(exc).splitlines()[0]}",
                             fix="train one with `leanagent train generator`, give a checkpoint folder, or put "
                                 f"{REPROVER_TACGEN} in the Hugging Face cache") from None
        return cls(model, options, str(source))

    # -- the shared training loop's interface ---------------------------------
    def collate(self, examples: list[GenExample]) -> dict:
        return {"source": [e.source for e in examples], "tactic": [e.tactic for e in examples]}

    def _encode(self, texts: Sequence[str], max_len: int) -> dict[str, torch.Tensor]:
        dev = next(self.model.parameters()).device
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        return {"input_ids": enc.input_ids.to(dev), "attention_mask": enc.attention_mask.to(dev)}

    def _labels(self, tactics: Sequence[str]) -> torch.Tensor:
        lab = self._encode(tactics, self.options.max_output_bytes + 1)["input_ids"]  # (B, T), eos included
        return lab.masked_fill(lab == self.tokenizer.pad_token_id, -100)  # padding is not predicted

    def loss(self, batch: dict) -> torch.Tensor:
        inp = self._encode(batch["source"], self.options.max_input_bytes)
        return self.model(**inp, labels=self._labels(batch["tactic"])).loss

    def save(self, folder: Path) -> None:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Writing model shards" bar in CLI output
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder / WEIGHTS_DIR)
        self.tokenizer.save_pretrained(folder / WEIGHTS_DIR)
        (folder / OPTIONS_FILE).write_text(json.dumps(asdict(self.options), indent=2, sort_keys=True))

    # -- decoding ---------------------------------------------------------------
    @torch.no_grad()
    def sequence_logprobs(self, sources: Sequence[str], tactics: Sequence[str]) -> torch.Tensor:
        """(N,) sum of token log-probabilities of each tactic (eos included) given its source."""
        inp = self._encode(sources, self.options.max_input_bytes)
        labels = self._labels(tactics)  # (N, T)
        logits = self.model(**inp, labels=labels).logits  # (N, T, V)
        logp = torch.log_softmax(logits.float(), dim=-1)
        mask = labels != -100
        tok = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (N, T)
        return (tok * mask).sum(dim=-1)

    @torch.no_grad()
    def propose(self, sources: Sequence[str], num: int) -> list[list[Candidate]]:
        """Up to `num` distinct tactics per source, best first, with exact log-probabilities."""
        if not sources:
            return []
        was = self.model.training
        self.model.eval()
        inp = self._encode(sources, self.options.max_input_bytes)
        kw = dict(max_new_tokens=self.options.max_output_bytes, num_return_sequences=num)
        if self.options.decoding == "beam":
            kw.update(num_beams=num, do_sample=False)
            if num > 1:  # rank beams by the plain sum of log-probabilities, the search's own scale
                kw.update(length_penalty=0.0)
        else:
            kw.update(do_sample=True, temperature=self.options.temperature, top_k=0)
        seqs = self.model.generate(**inp, **kw)  # (B * num, T)
        texts = self.tokenizer.batch_decode(seqs, skip_special_tokens=True)
        out: list[list[Candidate]] = []
        for b, src in enumerate(sources):
            cands = [t.strip() for t in texts[b * num:(b + 1) * num]]
            cands = list(dict.fromkeys(c for c in cands if c))  # distinct, in decoding order
            if not cands:
                out.append([])
                continue
            lps = self.sequence_logprobs([src] * len(cands), cands).tolist()
            out.append(dedupe_top(zip(cands, lps), num))
        self.model.train(was)
        return out


class RetrievalAugmentedGenerator:
    """`TacticGenerator` over a TacticModel, with premises from a Retriever (or none)."""

    def __init__(self, model: TacticModel, retriever=None, premise_text: dict[int, tuple[str, str]] | None = None,
                 name: str | None = None):
        self.model = model
        self.retriever = retriever
        self.premise_text = premise_text or {}  # premise id -> (full name, text)
        self.name = name or f"model:{model.name}" + ("" if retriever is not None else ":noret")

    def sources(self, states: Sequence[str]) -> list[str]:
        k = self.model.options.num_premises
        if self.retriever is None or k <= 0:
            return [augment_state(s, [], self.model.options.max_input_bytes) for s in states]
        from leanagent.retrieval.base import Query

        hits = self.retriever.retrieve([Query(s) for s in states], k)
        return [augment_state(s, [self.premise_text[h.premise_id] for h in hs if h.premise_id in self.premise_text],
                              self.model.options.max_input_bytes) for s, hs in zip(states, hits)]

    def generate(self, states: Sequence[str], num: int) -> list[list[Candidate]]:
        return self.model.propose(self.sources(states), num)
