"""Prompt templates of causal-LM tactic generators: the text the tactic follows, per model family.

A decoder-only step prover reads one prompt and continues it with the tactic.
Each family was trained on its own prompt; a pretrained checkpoint proposes
well only in its own format, so the template goes with the model (it is saved
in the checkpoint's generator.json). `{state}` receives the generator's source:
the proof state, with the retrieved premises before it when the generator
reads premises (ReProver's `<a>NAME</a> TEXT` blocks, `model.augment_state`).
A template's `stop` strings end a tactic in the decoded text (besides the
tokenizer's eos, which fine-tuning appends to every target tactic).

Shipped formats (where each is documented):

- `reprover`: ReProver's input (premises, then the state; Yang et al. 2023,
  "LeanDojo", lean-dojo/ReProver `common.py` `format_augmented_state`) between
  the `[GOAL]` / `[PROOFSTEP]` markers of llmstep's decoder-only step format
  (Welleck & Saha 2023, wellecks/llmstep `python/server.py`, `llmstep_prompt`:
  `[GOAL]%s[PROOFSTEP]%s`). The default for models without a known family,
  SmolLM2 included.
- `internlm-stepprover`: InternLM2.5-StepProver's input template, from its
  model card (huggingface.co/internlm/internlm2_5-step-prover, "Input
  template": NAME / PROOF_BEFORE / STATE_BEFORE / TACTIC blocks). The
  generator interface knows neither the theorem's name nor the tactics so far,
  so both fields are left empty.
- `bfs-prover`: BFS-Prover's `{state}:::` (model card of
  ByteDance-Seed/BFS-Prover-V1-7B: "`:::` serves as a special indicator to
  signal the model to generate a tactic for the given state").
- `deepseek-prover`: DeepSeek-Prover-V1.5's tactic-state comments (paper
  arXiv:2408.08152 §2.2, "Truncate-and-Resume"; deepseek-ai/DeepSeek-Prover-V1.5
  `prover/lean/proof.py` writes `/- tactic state:` with the goals indented by
  two spaces and `-/` after each tactic) inside the non-CoT prompt
  `Complete the following Lean 4 code:` + a lean4 code block (`prover/utils.py`
  `non_cot_prompt`, whose output is cut at the closing fence). The proof
  continues with the next tactic line: a newline ends it.

A configuration adds one either as a literal format string with a `{state}`
field (`--gen-template`, or `template:` in the generator section of a YAML
config) or, from code, with `register`.
"""

from __future__ import annotations

from dataclasses import dataclass

from leanagent.errors import ConfigError


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt format: `prompt` has one `{state}` field; `stop` strings end a decoded tactic."""

    name: str
    prompt: str
    stop: tuple[str, ...] = ()

    def render(self, source: str) -> str:
        """The prompt for one generator source (premises + state); the tactic follows it directly."""
        return self.prompt.replace("{state}", _indent(source) if self.name == "deepseek-prover" else source)

    def cut(self, text: str) -> str:
        """A decoded continuation up to its first stop string, stripped."""
        for s in self.stop:
            i = text.find(s)
            if i >= 0:
                text = text[:i]
        return text.strip()


def _indent(state: str) -> str:
    """DeepSeek-Prover's comment layout: every goal line after the first indented by two spaces."""
    return state.replace("\n", "\n  ")


TEMPLATES: dict[str, PromptTemplate] = {}


def register(template: PromptTemplate) -> PromptTemplate:
    """Add (or replace) a named template; returns it."""
    if "{state}" not in template.prompt:
        raise ConfigError(f"prompt template {template.name!r} has no {{state}} field")
    TEMPLATES[template.name] = template
    return template


register(PromptTemplate("reprover", "[GOAL]{state}[PROOFSTEP]", stop=("[GOAL]", "[PROOFSTEP]")))
register(PromptTemplate("internlm-stepprover",
                        "---\nNAME: \n\n---\nPROOF_BEFORE: \n\n---\nSTATE_BEFORE: {state}\n\n---\nTACTIC: ",
                        stop=("\n---",)))
register(PromptTemplate("bfs-prover", "{state}:::"))
register(PromptTemplate("deepseek-prover",
                        "Complete the following Lean 4 code:\n\n```lean4\n/- tactic state:\n  {state}\n-/\n",
                        stop=("\n", "```")))

#: `auto`: the family a model's name (folder, hub name or file) points to; first match wins.
_FAMILIES = (("internlm", "internlm-stepprover"), ("bfs-prover", "bfs-prover"), ("deepseek-prover", "deepseek-prover"))
CUSTOM = "custom"


def check_template(spec: str) -> None:
    """Raise a ConfigError unless `spec` is `auto`, a registered name or a format string with `{state}`."""
    if spec == "auto" or spec in TEMPLATES or "{state}" in spec:
        return
    raise ConfigError(f"unknown prompt template {spec!r}",
                      fix=f"use auto, {', '.join(TEMPLATES)}, or a format string with a {{state}} field")


def resolve_template(spec: str, model_name: str = "") -> PromptTemplate:
    """The template for option `spec` (see `check_template`) and a model named `model_name`."""
    check_template(spec)
    if spec in TEMPLATES:
        return TEMPLATES[spec]
    if spec != "auto":
        return PromptTemplate(CUSTOM, spec)
    low = model_name.lower()
    for needle, name in _FAMILIES:
        if needle in low:
            return TEMPLATES[name]
    return TEMPLATES["reprover"]


def template_spec(template: PromptTemplate) -> str:
    """What a checkpoint stores: the registered name, or the literal format string of a custom template."""
    return template.prompt if template.name == CUSTOM else template.name
