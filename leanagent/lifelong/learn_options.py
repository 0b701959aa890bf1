"""The options of `leanagent learn` and how they resolve before a run starts.

`LearnOptions` are the loop's own options (environment, curriculum order, the
generator's training budget, proof search, proving workers); `LearnConfig`
groups them with the training, retriever and generator options, is what
`--config` YAML and `leanagent ablate`'s variants update, and is written to the
run (a resumed run must have the same one). `cpu_defaults` are the small model
sizes the loop starts from. `resolve_env` and `check_pool` turn `auto` and
unknown names into a concrete environment or a ConfigError before anything is
recorded. `Emit` is the event callback that `learn` and `nightly` report with.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from leanagent.device import GENERATOR_BUDGET
from leanagent.errors import ConfigError
from leanagent.prover.polish import PolishOptions

#: The retriever's optimizer steps per repository in `learn`'s starting options (`cpu_defaults` says why).
RETRIEVER_STEPS = 30

#: The event callback of `learn` and `nightly`: emit(event="step", key=..., ...).
Emit = Callable[..., None]


@dataclass
class LearnOptions:
    """Options of the lifelong loop itself (model and training options have their own groups)."""

    env: str = "auto"
    """`auto` (with a Lean toolchain: each repository's backend by its Lean version, leandojo up to 4.11 and
    leaninteract from 4.12; without one: replay), `leandojo` or `leaninteract` (prove sorry theorems with Lean),
    or `replay` (prove held-out theorems against recorded traces, offline)."""
    tracer: str = "auto"
    """How git and path entries are traced when synced: `leandojo`, `repl` (the Lean REPL) or `auto` (LeanDojo
    where it runs the repository's Lean version, up to 4.11; the REPL from 4.12). Overrides each entry's
    `tracer:` unless `auto`."""
    order: str = "easy-count"
    """Curriculum order of the repositories: `easy-count` (LeanAgent: most Easy theorems first),
    `easy-fraction`, `hard-first` (the reverse of easy-count) or `random` (seeded by train.seed)."""
    generator_lr: float | None = GENERATOR_BUDGET["lr"]
    """Learning rate of the generator, overriding train.lr (None: use train.lr). A generator trained from
    scratch wants a much larger rate than fine-tuning the pretrained retriever encoder does."""
    generator_epochs: int | None = GENERATOR_BUDGET["epochs"]
    """Epochs of the generator per repository, overriding train.epochs (None: use train.epochs). A generator
    trained from scratch needs many passes over a repository before it writes whole tactics;
    generator_max_steps bounds them."""
    generator_max_steps: int | None = GENERATOR_BUDGET["max_steps"]
    """Optimizer steps of the generator per repository at most, overriding train.max_steps (None: use
    train.max_steps). Budgets count steps, so the same seed on the same data gives the same figures whatever
    the machine's load; train.max_minutes is only an optional cap, and the report says when it cut training."""
    generator_retrieval: str = "bm25"
    """Premises prepended to the generator's input: `bm25`, `dense` (the retriever trained so far) or `none`."""
    prove_timeout: float = 10.0
    """Wall-clock seconds of proof search per theorem."""
    max_expansions: int = 50
    """Expanded nodes per theorem."""
    num_tactics: int = 16
    """Tactics asked per expansion."""
    polish: bool = PolishOptions.polish
    """Polish the proofs Lean verified: shorter variants kept only when the file still verifies, no slower
    and with no new warning (leanagent/prover/polish.py)."""
    polish_seconds: float = PolishOptions.polish_seconds
    """Wall-clock seconds of polishing per proof at most (0: try nothing)."""
    proposer: str = "merged"
    """Tactic proposer for proving: `merged` (generator + kNN), `model`, `knn` or `frequency`."""
    knn_encoder: str = "minilm"
    """Encoder of the kNN proposer's proof states (any name the retriever's --encoder accepts)."""
    workers: int = 0
    """Worker processes for proving (0: in this process); `pool` says how they start. Also the Lean REPL
    processes tracing a repository's files at once when syncing (at least one)."""
    pool: str = "auto"
    """How proving workers start: `fork` (forked from one process that loaded the proposer once: each more
    worker adds about 40 MB; this machine, CPU), `ray` (Ray workers, each loading its own: GPUs, clusters) or
    `auto` (fork for a local CPU run where fork exists, else ray). Not compared when a run resumes."""
    ray_address: str | None = None
    """Ray cluster the proving workers join (`HOST:PORT` as `ray start --head` prints it, `auto`, or
    `ray://HOST:10001`); None: local Ray started by this process. Not compared when a run resumes."""
    eval_limit: int | None = 50
    """Test steps per repository that R@10 and tactic accuracy are measured on: a fixed-size sample drawn with
    train.seed, the same steps after every stage (None: all of them). Each cell of the report carries its
    number of steps, and an interval where they are fewer than 30."""
    eval_beams: int = 8
    """Beams of the generator's search when tactic accuracy is measured: a step counts when the best of them
    is the recorded tactic, as the prover ranks a model's tactics. Not greedy decoding (1): a small scratch
    model greedily writes long invented lemma names where a wide enough beam search finds that a short common
    tactic is likelier. Measured on the real sample's largest area (50 test steps) after 250 generator steps:
    0 of 50 greedily and with 4 beams, 3 of 50 with 8 and 16 (the frequency baseline: 3)."""
    prove_limit: int | None = None
    """Theorems proved per repository at most (None: all of them)."""
    prove_matrix: bool = False
    """Replay only: after each repository (and with the starting generator) prove the held-out theorems of
    every repository of the sequence, prove_limit each, filling a lifelong matrix of replay-proved percent
    like the R@10 one (what `leanagent ablate` compares). Costs (T + 1) x T proving campaigns."""


@dataclass
class LearnConfig:
    """Everything `learn` needs; written to the run and next to every checkpoint."""

    learn: LearnOptions = field(default_factory=LearnOptions)
    train: object = None      # leanagent.training.loop.TrainOptions
    retriever: object = None  # leanagent.retrieval.model.RetrieverOptions
    generator: object = None  # leanagent.generator.model.GeneratorOptions

    def generator_train(self):
        """The training options of the generator: `train` with `learn.generator_lr`, `learn.generator_epochs`
        and `learn.generator_max_steps` when set."""
        lo, out = self.learn, self.train
        if lo.generator_lr is not None:
            out = replace(out, lr=lo.generator_lr)
        if lo.generator_epochs is not None:
            out = replace(out, epochs=lo.generator_epochs)
        if lo.generator_max_steps is not None:
            out = replace(out, max_steps=lo.generator_max_steps)
        return out

    def proposer(self, db, **overrides):
        """The resolved proposer the loop proves with (`overrides` go to ProposerOptions)."""
        from leanagent.generator.options import ProposerOptions
        from leanagent.prover.proposers import resolve

        lo = self.learn
        return resolve(ProposerOptions(proposer=lo.proposer, retrieval=lo.generator_retrieval,
                                       knn_encoder=lo.knn_encoder, **overrides), db)

    def search(self):
        from leanagent.prover.search import SearchConfig

        lo = self.learn
        return SearchConfig(num_sampled_tactics=lo.num_tactics, timeout=lo.prove_timeout,
                            max_expansions=lo.max_expansions)

    def polish(self) -> PolishOptions:
        lo = self.learn
        return PolishOptions(polish=lo.polish, polish_seconds=lo.polish_seconds)

    SECTIONS = ("learn", "train", "retriever", "generator")

    @classmethod
    def cpu(cls) -> "LearnConfig":
        """The loop's starting options: its own defaults and the small CPU model sizes (`cpu_defaults`)."""
        train, retriever, generator = cpu_defaults()
        return cls(LearnOptions(), train, retriever, generator)

    def updated(self, sections: dict | None, where: str = "config") -> "LearnConfig":
        """These options with a mapping {section: {option: value}} applied (a --config YAML, a variant).
        Unknown sections or options are a ConfigError naming `where`."""
        from leanagent.training.options import from_mapping

        sections = sections or {}
        if not isinstance(sections, dict) or set(sections) - set(self.SECTIONS):
            raise ConfigError(f"{where}: expected sections {', '.join(self.SECTIONS)}")
        values = {}
        for name in self.SECTIONS:
            current = getattr(self, name)
            try:
                values[name] = from_mapping(type(current), sections.get(name), base=current)
            except ConfigError as exc:
                raise ConfigError(f"{where}.{name}: {exc.message}", fix=exc.fix) from None
        return LearnConfig(**values)

    def as_dict(self) -> dict:
        from leanagent.training.options import to_dict

        return {k: to_dict(v) if v is not None else None for k, v in
                (("learn", self.learn), ("train", self.train), ("retriever", self.retriever),
                 ("generator", self.generator))}


def cpu_defaults() -> tuple:
    """Small models that train in minutes on a laptop CPU; pass options to scale up on a GPU."""
    from leanagent.generator.options import GeneratorOptions
    from leanagent.retrieval.options import RetrieverOptions
    from leanagent.training.options import TrainOptions

    # Budgets count optimizer steps, never minutes, so that the same seed gives the same figures on a busy
    # machine (issue 27): 30 retriever steps per repository, and learn.generator_max_steps. Sized so that the
    # eight areas of examples/mathlib-sample.yaml run in about 20 minutes on a 2-core CPU (a MiniLM step takes
    # about 1.5 s there). Measured on that sample's largest area after one stage (R@10 on its 43 test steps,
    # 26.1 before training): 100 steps 42.5, 40 steps 36.0; later stages keep training the same encoder.
    # The generator's sizes and batches are the device policy's CPU defaults (`DeviceDefaults.generator` and
    # `generator_train` in leanagent.device, which say why), which `train generator` run alone takes too.
    # On a GPU, give it premises (--gen-num-premises) and ReProver's weights (--gen-model byt5-small).
    from leanagent.device import defaults_for

    cpu = defaults_for("cpu")
    batches = {k: cpu.generator_train[k] for k in ("batch_size", "batch_tokens", "warmup_steps")}
    return (TrainOptions(**batches, max_steps=RETRIEVER_STEPS), RetrieverOptions(),
            GeneratorOptions(**cpu.generator))


def check_pool(pool: str) -> None:
    """A ConfigError unless `pool` names a way proving workers start (prover/forkpool.py)."""
    from leanagent.prover.forkpool import POOLS

    if pool not in POOLS:
        raise ConfigError(f"unknown learn.pool {pool!r}", fix=f"use {', '.join(POOLS)}")


def resolve_env(env: str) -> str:
    """The environment of a run: `auto` stays `auto` when a Lean toolchain is found (the campaign then
    picks each repository's backend by its Lean version, prover/backend.py), and becomes `replay` without."""
    from leanagent.prover.backend import ENV_CHOICES, check_lean_toolchain

    if env not in ENV_CHOICES:
        raise ConfigError(f"unknown env {env!r}", fix=f"use {', '.join(ENV_CHOICES)}")
    if env != "auto":
        if env != "replay":
            check_lean_toolchain(env)
        return env
    from leanagent.errors import ToolchainError

    try:
        check_lean_toolchain("auto")
        return "auto"
    except ToolchainError:
        return "replay"
