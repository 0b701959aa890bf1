"""The retrieval-augmented tactic generator: T5 with ByT5's byte tokenizer (ReProver's design).

Input: retrieved premises prepended to the proof state, in ReProver's format
(`<a>NAME</a> TEXT` blocks separated by blank lines, the best premise nearest
the state), within a byte budget that always keeps the state. Output: one
tactic. Decoding (beam search or sampling) returns up to N distinct tactics per
state with their log-probabilities, batched over states, in one pass: a
candidate's score is the exact sum of the log-probabilities of its generated
tokens (eos included), read from the decoding itself, so beam and sampling give
scores on the same scale and no second, teacher-forced pass is needed. (A
generation cut at `max_output_bytes` has no eos; it is scored over the tokens
it has, as beam search itself scores an unfinished beam.)

Bytes are encoded by `leanagent.generator.byte_codec` (ByT5's ids, without its
slow Python tokenizer). A scratch model is a rotary T5 by default
(`leanagent.generator.rotary`: SDPA's fused attention, memory linear in the
input length); pretrained ByT5 weights keep T5's relative position bias.
Where the model runs is the caller's choice (`leanagent.device.Placement.put`);
inputs follow the model's device.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Sequence

import torch

from leanagent.data import TheoremRef, require_targets
from leanagent.device import autocast_for, inputs_to
from leanagent.errors import ModelError
from leanagent.generator import byte_codec
from leanagent.generator.base import Candidate, dedupe_top
from leanagent.generator.options import GeneratorOptions  # noqa: F401  (re-exported)

REPROVER_TACGEN = "kaiyuy/leandojo-lean4-tacgen-byt5-small"
OPTIONS_FILE = "generator.json"
#: Weights live in a subfolder: the checkpoint folder's own config.json belongs to the training loop.
WEIGHTS_DIR = "model"
#: Facts about decoding stored with a checkpoint: {"tactic_bytes_p99": the 99th percentile of the training
#: tactics' lengths in bytes}, the default cut of a decoded tactic.
DECODING_FILE = "decoding.json"


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
    theorem_id: int | None = None  # the step's theorem: its difficulty orders an easy-first stage


class TacticModel(torch.nn.Module):
    """A T5ForConditionalGeneration over ByT5's byte ids, trainable by the shared loop."""

    def __init__(self, model, options: GeneratorOptions, name: str):
        super().__init__()
        self.model = model
        self.tokenizer = _tokenizer()  # saved with the weights, so the folder is a complete HF checkpoint
        self.options = options
        self.name = name
        self.tactic_bytes_p99: int | None = None  # of the training tactics; saved in decoding.json
        self.max_tactic_bytes: int | None = None  # the proposer's --max-tactic-bytes (None: tactic_bytes_p99)

    @classmethod
    def create(cls, options: GeneratorOptions, seed: int = 0) -> "TacticModel":
        """Load pretrained weights or build a scratch model of the configured size."""
        options.check()
        from transformers import T5Config, T5ForConditionalGeneration

        if options.model != "scratch":
            return cls.load(options.model, options)
        options = replace(options, position=_position(options.position, pretrained=False))
        torch.manual_seed(seed)
        cfg = T5Config(vocab_size=len(_tokenizer()), d_model=options.d_model,
                       d_kv=max(1, options.d_model // options.num_heads), d_ff=options.d_ff,
                       num_layers=options.num_layers, num_decoder_layers=options.num_layers,
                       num_heads=options.num_heads, pad_token_id=byte_codec.PAD, eos_token_id=byte_codec.EOS,
                       decoder_start_token_id=byte_codec.PAD)
        model = T5ForConditionalGeneration(cfg)
        return cls(_prepare(model, options), options, f"scratch-{options.d_model}x{options.num_layers}")

    @classmethod
    def load(cls, source: str | Path, options: GeneratorOptions | None = None) -> "TacticModel":
        """From a folder written by `save` (its generator.json wins) or a hub name / `byt5-small`."""
        from transformers import T5ForConditionalGeneration
        from transformers.utils import logging as hf_logging

        src = REPROVER_TACGEN if str(source) == "byt5-small" else str(source)
        folder = Path(src)
        saved_folder = (folder / OPTIONS_FILE).is_file()
        if saved_folder:
            saved = json.loads((folder / OPTIONS_FILE).read_text())
            options = GeneratorOptions(**{**saved, "model": str(folder)})
            src, folder = str(folder / WEIGHTS_DIR), folder / WEIGHTS_DIR
        options = options or GeneratorOptions(model=src)
        if not saved_folder and options.position == "rotary":
            raise ModelError(f"{src} holds pretrained T5 weights, trained with relative positions",
                             fix="use --position auto (or relative) with pretrained weights; rotary is for scratch "
                                 "models")
        # A checkpoint saved before rotary models existed says nothing (auto): it is a relative T5.
        options = replace(options, position=_position(options.position, pretrained=True))
        kw = {}
        if options.position == "rotary":
            from leanagent.generator import rotary

            rotary.register()
            kw["attn_implementation"] = rotary.ATTN_NAME
        verbosity = hf_logging.get_verbosity()
        try:
            # A rotary checkpoint lacks T5's relative-bias table, which from_pretrained reports as missing
            # (and initialises); `_prepare` removes it again.
            hf_logging.set_verbosity_error()
            model = T5ForConditionalGeneration.from_pretrained(src, local_files_only=folder.exists(), **kw)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the tactic generator {src!r}: {str(exc).splitlines()[0]}",
                             fix="train one with `leanagent train generator`, give a checkpoint folder, or put "
                                 f"{REPROVER_TACGEN} in the Hugging Face cache") from None
        finally:
            hf_logging.set_verbosity(verbosity)
        out = cls(_prepare(model, options), options, str(source))
        if saved_folder and (folder.parent / DECODING_FILE).is_file():
            out.tactic_bytes_p99 = json.loads((folder.parent / DECODING_FILE).read_text()).get("tactic_bytes_p99")
        return out

    # -- the shared training loop's interface ---------------------------------
    def collator(self) -> byte_codec.ByteCollator:
        """A picklable collate function (DataLoader workers run it): examples -> tensors."""
        return byte_codec.ByteCollator(self.options.max_input_bytes, self.options.max_output_bytes)

    def collate(self, examples: list[GenExample]) -> dict:
        return self.collator()(examples)

    def example_sizes(self, examples: Sequence[GenExample]):
        """(N, 2) input and target tokens of each example, for length-bucketed batches."""
        return self.collator().sizes(examples)

    def _encode(self, texts: Sequence[str], max_len: int) -> dict[str, torch.Tensor]:
        ids, mask = byte_codec.encode_batch(texts, max_len)  # (B, L) each
        return inputs_to(self.model, {"input_ids": ids, "attention_mask": mask})

    def _labels(self, tactics: Sequence[str]) -> torch.Tensor:
        labels = byte_codec.labels_batch(tactics, self.options.max_output_bytes)  # (B, T), eos included
        return inputs_to(self.model, {"labels": labels})["labels"]

    def loss(self, batch: dict) -> torch.Tensor:
        batch = inputs_to(self.model, batch)  # Lightning has moved them already; EWC's Fisher has not
        # No decoder cache in training: it only costs memory (and clashes with gradient checkpointing).
        return self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          labels=batch["labels"], use_cache=False).loss

    def save(self, folder: Path) -> None:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Writing model shards" bar in CLI output
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder / WEIGHTS_DIR)
        self.tokenizer.save_pretrained(folder / WEIGHTS_DIR)
        (folder / OPTIONS_FILE).write_text(json.dumps(asdict(self.options), indent=2, sort_keys=True))
        self.save_decoding(folder)

    def save_decoding(self, folder: Path) -> None:
        """The decoding facts stored with a checkpoint (DECODING_FILE), when known."""
        if self.tactic_bytes_p99 is not None:
            (Path(folder) / DECODING_FILE).write_text(json.dumps({"tactic_bytes_p99": self.tactic_bytes_p99}))

    # -- decoding ---------------------------------------------------------------
    @torch.no_grad()
    def sequence_logprobs(self, sources: Sequence[str], tactics: Sequence[str]) -> torch.Tensor:
        """(N,) sum of token log-probabilities of each tactic (eos included) given its source."""
        inp = self._encode(sources, self.options.max_input_bytes)
        labels = self._labels(tactics)  # (N, T)
        with autocast_for(self.model):
            logits = self.model(**inp, labels=labels).logits  # (N, T, V)
        logp = torch.log_softmax(logits.float(), dim=-1)
        mask = labels != byte_codec.IGNORE
        tok = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (N, T)
        return (tok * mask).sum(dim=-1)

    @property
    def tactic_limit(self) -> int:
        """Longest tactic decoded, in tokens (bytes): `max_tactic_bytes` when set, else the 99th percentile of
        the training tactics stored with the checkpoint, never over `max_output_bytes`."""
        cap = self.max_tactic_bytes or self.tactic_bytes_p99 or self.options.max_output_bytes
        return max(1, min(cap, self.options.max_output_bytes))

    @torch.no_grad()
    def propose(self, sources: Sequence[str], num: int, timing=None) -> list[list[Candidate]]:
        """Up to `num` distinct tactics per source, best first, with exact log-probabilities.

        Beam search on a rotary model runs `leanagent.generator.seq2seq` (no work done twice; `timing`, a
        `seq2seq.Timing`, collects where the time went); sampling and relative-position models run `generate`.
        """
        if not sources:
            return []
        was = self.model.training
        self.model.eval()
        inp = self._encode(sources, self.options.max_input_bytes)
        try:
            if self.options.decoding == "beam" and self.options.position == "rotary":
                from leanagent.generator import seq2seq

                with autocast_for(self.model):
                    beams = seq2seq.beam_search(self.model, inp["input_ids"], inp["attention_mask"], num,
                                                self.tactic_limit, byte_codec.EOS, timing)
                rows = [[(byte_codec.decode(b.tokens), b.score) for b in bs] for bs in beams]
            else:
                rows = self._generate(inp, num)
        finally:
            self.model.train(was)
        return [dedupe_top([(t.strip(), lp) for t, lp in row if t.strip()], num) for row in rows]

    def _generate(self, inp: dict, num: int) -> list[list[tuple[str, float]]]:
        """Hugging Face's `generate`: (text, score) rows per source, `num` each."""
        kw = dict(max_new_tokens=self.tactic_limit, num_return_sequences=num, return_dict_in_generate=True)
        beam = self.options.decoding == "beam" and num > 1
        if beam:
            # length_penalty 0: `sequences_scores` is then the plain sum of the log-probabilities of each
            # beam's tokens (eos included), the search's own scale, computed by the search itself.
            kw.update(num_beams=num, do_sample=False, length_penalty=0.0, output_scores=True)
        elif self.options.decoding == "beam":
            kw.update(num_beams=1, do_sample=False, output_logits=True)  # greedy
        else:
            kw.update(do_sample=True, temperature=self.options.temperature, top_k=0, output_logits=True)
        with autocast_for(self.model):
            out = self.model.generate(**inp, **kw)
        seqs = out.sequences[:, 1:]  # (B * num, T): the decoder start token dropped
        scores = out.sequences_scores.float() if beam else _token_logprob_sums(seqs, out.logits)  # (B * num,)
        texts, lps = [byte_codec.decode(row) for row in seqs.tolist()], scores.tolist()
        return [list(zip(texts[b * num:(b + 1) * num], lps[b * num:(b + 1) * num]))
                for b in range(len(texts) // num)]


def _token_logprob_sums(seqs: torch.Tensor, logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """(N,) sum over generated tokens (up to and including the first eos) of log p(token), from the raw
    per-step logits (T tensors of (N, V)) that `generate(output_logits=True)` returns."""
    steps = torch.stack([torch.log_softmax(x.float(), dim=-1) for x in logits], dim=1)  # (N, T, V)
    tok = steps.gather(-1, seqs[:, :steps.shape[1]].unsqueeze(-1)).squeeze(-1)  # (N, T)
    ended = (seqs[:, :steps.shape[1]] == byte_codec.EOS).int().cumsum(dim=1)  # (N, T): eos seen so far
    keep = (ended == 0) | ((ended == 1) & (seqs[:, :steps.shape[1]] == byte_codec.EOS))  # up to the first eos
    return (tok * keep).sum(dim=1)


def tactic_percentile(tactics: Sequence[str], q: float = 99.0) -> int | None:
    """The q-th percentile of the tactics' lengths in bytes, eos included (pure); None without tactics."""
    sizes = sorted(len(t.encode("utf-8")) + 1 for t in tactics)
    if not sizes:
        return None
    return sizes[min(len(sizes) - 1, int(math.ceil(q / 100.0 * len(sizes))) - 1)]


def _position(position: str, pretrained: bool) -> str:
    """`auto` -> rotary for a scratch model (where transformers supports it), relative for pretrained weights."""
    if position != "auto":
        return position
    if pretrained:
        return "relative"
    from leanagent.generator import rotary

    return "rotary" if rotary.supported() else "relative"


def _prepare(model, options: GeneratorOptions):
    """Positions and gradient checkpointing of a freshly built or loaded T5, as the options say."""
    if options.position == "rotary":
        from leanagent.generator.rotary import make_rotary

        make_rotary(model)
    if options.gradient_checkpointing:  # transformers 5 renamed it; older ones have only the first name
        enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
        enable()
    return model


class RetrievalAugmentedGenerator:
    """`TacticProposer` over a TacticModel or a CausalTacticModel (`leanagent.generator.causal`), with premises
    from a Retriever (or none)."""

    def __init__(self, model: TacticModel, retriever=None, premise_text: dict[int, tuple[str, str]] | None = None,
                 name: str | None = None):
        self.model = model
        self.retriever = retriever
        self.premise_text = premise_text or {}  # premise id -> (full name, text)
        self.name = name or f"model:{model.name}" + ("" if retriever is not None else ":noret")

    def sources(self, states: Sequence[str], targets: Sequence[TheoremRef | None] | None = None) -> list[str]:
        """Model inputs: premises accessible from each state's theorem, then the state."""
        k = self.model.options.num_premises
        if self.retriever is None or k <= 0:
            return [augment_state(s, [], self.model.options.max_input_bytes) for s in states]
        from leanagent.retrieval.base import Query

        targets = require_targets(targets, len(states))
        hits = self.retriever.retrieve([Query.at(s, t) for s, t in zip(states, targets)], k)
        return [augment_state(s, [self.premise_text[h.premise_id] for h in hs if h.premise_id in self.premise_text],
                              self.model.options.max_input_bytes) for s, hs in zip(states, hits)]

    def generate(self, states: Sequence[str], num: int, targets: Sequence[TheoremRef | None] | None = None
                 ) -> list[list[Candidate]]:
        return self.model.propose(self.sources(states, targets), num)
