"""`leanagent learn`: the lifelong loop, one recorded step at a time.

  sync every enabled repos.yaml entry -> curriculum -> evaluate the starting models ->
  for each repository in curriculum order:
      train the retriever, then the generator (from the previous checkpoint, with replay)
      evaluate both on the test split of every repository (the lifelong matrices)
      prove: `sorry` theorems with Lean, or the held-out test theorems in replay mode
  -> report (summary.md, metrics.json, plots)

Every step is a `RunStep` row; a killed run continues from the last finished
step when the same command runs again. Checkpoints are written to a temporary
folder and renamed (see `leanagent.training.loop`), so a half-written one is
never used. The report is rebuilt from the database, so a resumed run and an
uninterrupted one write the same report up to timings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from leanagent.db.engine import Database
from leanagent.errors import ConfigError

Emit = Callable[..., None]
START = -1  # trained_index of the evaluations of the starting models (forward-transfer baseline)
R10, ACC = "R@10", "tactic_acc"  # the same names as leanagent.training.evaluation's matrix metrics
PROVED = "replay_proved"  # percent of a repository's held-out theorems proved (prove_matrix)
#: The steps of one repository, in order (`_Loop.repository`).
REPO_STEPS = ("train-retriever", "train-generator", "evaluate", "prove")


@dataclass
class LearnOptions:
    """Options of the lifelong loop itself (model and training options have their own groups)."""

    env: str = "auto"
    """`auto` (with a Lean toolchain: each repository's backend by its Lean version, leandojo up to 4.11 and
    leaninteract from 4.12; without one: replay), `leandojo` or `leaninteract` (prove sorry theorems with Lean),
    or `replay` (prove held-out theorems against recorded traces, offline)."""
    order: str = "easy-count"
    """Curriculum order of the repositories: `easy-count` (LeanAgent: most Easy theorems first),
    `easy-fraction`, `hard-first` (the reverse of easy-count) or `random` (seeded by train.seed)."""
    generator_lr: float | None = 1e-3
    """Learning rate of the generator, overriding train.lr (None: use train.lr). A generator trained from
    scratch wants a much larger rate than fine-tuning the pretrained retriever encoder does."""
    generator_epochs: int | None = 40
    """Epochs of the generator per repository, overriding train.epochs (None: use train.epochs). A generator
    trained from scratch needs many passes over a repository before it writes whole tactics;
    generator_max_steps bounds them."""
    generator_max_steps: int | None = 600
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
    proposer: str = "merged"
    """Tactic proposer for proving: `merged` (generator + kNN), `model`, `knn` or `frequency`."""
    knn_encoder: str = "minilm"
    """Encoder of the kNN proposer's proof states (any name the retriever's --encoder accepts)."""
    workers: int = 0
    """Worker processes for proving (0: in this process); `pool` says how they start."""
    pool: str = "auto"
    """How proving workers start: `fork` (forked from one process that loaded the proposer once: each more
    worker adds about 40 MB; this machine, CPU), `ray` (Ray workers, each loading its own: GPUs, clusters) or
    `auto` (fork for a local CPU run where fork exists, else ray). Not compared when a run resumes."""
    ray_address: str | None = None
    """Ray cluster the proving workers join (`HOST:PORT` as `ray start --head` prints it, `auto`, or
    `ray://HOST:10001`); None: local Ray started by this process. Not compared when a run resumes."""
    eval_limit: int = 50
    """Test steps per repository used for tactic accuracy (the slowest evaluation)."""
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
    # machine (issue 27): 100 retriever steps per repository (one epoch of MiniLM over a mathlib area takes
    # minutes on a laptop; the example's repositories need fewer), and learn.generator_max_steps.
    # The CPU generator reads the proof state alone (num_premises=0): a scratch model this small does not
    # learn to copy premise names in minutes, and premises make every step several times slower (a byte
    # model over 1 KB inputs); in that time it learns which tactics close which goals. On a GPU, give it
    # premises (--gen-num-premises) and ReProver's weights (--gen-model byt5-small).
    # batch_tokens=0: fixed batches of 8. A token budget puts a whole small repository of short states into
    # one batch, so 40 epochs are 40 updates; a scratch model on the CPU learns from many small steps.
    # The generator's sizes and batches are the device policy's CPU defaults (leanagent.device), which
    # `train generator` run alone on a CPU takes too.
    from leanagent.device import defaults_for

    cpu = defaults_for("cpu")
    batches = {k: cpu.generator_train[k] for k in ("batch_size", "batch_tokens", "warmup_steps")}
    return (TrainOptions(**batches, max_steps=100), RetrieverOptions(), GeneratorOptions(**cpu.generator))


def _check_pool(pool: str) -> None:
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


def learn(db: Database, repos_file: str | Path, home: Path, cfg: LearnConfig, *, from_scratch: bool = False,
          emit: Emit | None = None, device: str | None = None, start_rows: Path | None = None) -> Path:
    """Run (or resume) the loop; returns the path of the report's summary.md.

    Every model runs on `device` (`auto|cpu|cuda|cuda:N`, the device policy of `leanagent.device`). It is
    not part of the run's options: a run started on a GPU may continue on the CPU. `start_rows`: a folder
    where the starting models' rows are shared with other runs that compute the same ones
    (`leanagent.lifelong.start_rows`; `leanagent ablate` passes one).
    """
    from leanagent.config import load_repos
    from leanagent.lifelong.lock import run_lock
    from leanagent.lifelong.runs import Runner

    emit = emit or (lambda **_: None)
    repos_file = Path(repos_file).resolve()
    config = load_repos(repos_file)
    env = resolve_env(cfg.learn.env)
    _check_pool(cfg.learn.pool)
    resolved = {**cfg.as_dict(), "repos_file": str(repos_file), "env": env}
    # Where the Ray cluster runs is no option of the run (like `device`): a run may resume on another cluster.
    resolved["learn"].pop("ray_address", None)
    resolved["learn"].pop("pool", None)  # how workers start changes no result
    # The database's run lock (shared with nightly, across machines on PostgreSQL): two runs at once would
    # resume the same run and do its steps twice. A second one fails with LockHeldError (exit code 2).
    with run_lock(db, home, "learn") as lock:
        if lock.took_over:
            emit(event="lock", took_over=lock.took_over)
        runner = Runner.start(db, "learn", str(repos_file), resolved, from_scratch=from_scratch, same_config=True)
        run_dir = Path(home) / f"learn-{runner.run_id}"
        emit(event="run", run_id=runner.run_id, resumed=runner.resumed, env=env, folder=str(run_dir))
        loop = _Loop(db, runner, run_dir, cfg, env, emit, device, start_rows)
        # The steps to come, as `pending`: `leanagent runs` then counts a killed run's steps right.
        runner.plan([f"sync/{e.repo_name}" for e in config.enabled()] + ["curriculum", "evaluate/start"]
                    + (["prove/start"] if loop.proves_matrix else []))
        order = loop.prepare(config)
        runner.plan([f"{i:02d}-{repo}/{what}" for i, repo in enumerate(order) for what in REPO_STEPS])
        for i, repo in enumerate(order):
            loop.repository(i, repo, order)
        return loop.report(order)


class _Loop:
    def __init__(self, db: Database, runner, run_dir: Path, cfg: LearnConfig, env: str, emit: Emit,
                 device: str | None = None, start_rows: Path | None = None):
        from leanagent.device import placement

        self.db, self.runner, self.run_dir, self.cfg, self.env, self.emit = db, runner, run_dir, cfg, env, emit
        self.device = placement(device)
        self.start_rows = start_rows

    def step(self, key: str, fn: Callable[[], dict | None]) -> dict:
        t0 = time.monotonic()

        def run() -> dict | None:
            self.emit(event="step", key=key, status="start")  # the step is recorded as running by now
            return fn()

        details, ran = self.runner.step(key, run)
        self.emit(event="step", key=key, status="done" if ran else "skipped (done earlier)",
                  seconds=round(time.monotonic() - t0, 2))
        return details

    # -- before the sequence ------------------------------------------------
    def prepare(self, config) -> list[str]:
        from leanagent.curriculum import curriculum
        from leanagent.db.curriculum_store import difficulty_data, store_positions
        from leanagent.sources.sync import cache_dir, sync_entry

        cache = cache_dir(config, self.run_dir.parent)
        names = []
        for entry in config.enabled():
            names.append(entry.repo_name)
            self.step(f"sync/{entry.repo_name}",
                      lambda e=entry: sync_entry(self.db, e, cache=cache).as_dict())
        if not names:
            raise ConfigError("repos.yaml enables no repository", fix="add an entry or set enabled: true")

        def order() -> dict:
            data = {k: v for k, v in difficulty_data(self.db).items() if k in names}
            ranked = curriculum(data, self.cfg.learn.order, seed=self.cfg.train.seed)
            store_positions(self.db, [r.name for r in ranked])
            return {"order": [r.name for r in ranked], "table": [r.as_dict() for r in ranked]}

        order_list = self.step("curriculum", order)["order"]
        self.step("evaluate/start", lambda: self.shared_start(
            "evaluate", lambda: self.evaluate(START, None, None, order_list)))
        if self.proves_matrix:
            self.step("prove/start", lambda: self.shared_start(
                "prove", lambda: self.prove(START, None, None, [], order_list)))
        return order_list

    def shared_start(self, step: str, compute: Callable[[], dict]) -> dict:
        """A starting row: computed, or with `start_rows` read from a run that computed the same one
        (`leanagent.lifelong.start_rows`); its cells are stored in this run either way."""
        from leanagent.db.runs import evaluation_matrix, store_evaluation
        from leanagent.lifelong import start_rows
        from leanagent.training.evaluation import MRR, R1

        metrics = (R1, R10, MRR, ACC) if step == "evaluate" else (PROVED,)
        key = start_rows.start_key(self.db, self.cfg, self.env, self.device.kind, step) if self.start_rows else None
        hit = start_rows.load(self.start_rows, key)
        if hit is None:
            details = compute()
            cells = {m: {repo: v for (i, repo), v in evaluation_matrix(self.db, self.runner.run_id, m).items()
                         if i == START} for m in metrics}
            start_rows.save(self.start_rows, key, {"details": details, "cells": cells})
            return details
        for metric, row in hit["cells"].items():
            for repo, value in row.items():
                store_evaluation(self.db, self.runner.run_id, metric, START, None, repo, value)
        return {**hit["details"], "shared_from": key}

    @property
    def proves_matrix(self) -> bool:
        return self.cfg.learn.prove_matrix and self.env == "replay"

    # -- one repository -----------------------------------------------------
    def repository(self, i: int, repo: str, order: list[str]) -> None:
        from leanagent.training.generator import train_generator
        from leanagent.training.retriever import train_retriever

        cfg, seen = self.cfg, order[:i + 1]  # the lifelong protocol: stage i reads repositories 0..i only
        prefix = f"{i:02d}-{repo}"

        def retriever() -> dict:
            # No per-stage evaluation in the trainer: this loop's evaluate step fills the whole matrix row.
            st = train_retriever(self.db, seen, cfg.retriever, cfg.train, self.run_dir / "retriever",
                                 run_name=f"learn-{self.runner.run_id}-retriever",
                                 device=self.device)["by_repo"][repo]
            return {"folder": st["folder"], "stats": st["stats"]}

        def generator() -> dict:
            from leanagent.db.proofs import agent_proof_examples

            st = train_generator(self.db, seen, cfg.generator, cfg.generator_train(), self.run_dir / "generator",
                                 retrieval=cfg.learn.generator_retrieval,
                                 run_name=f"learn-{self.runner.run_id}-generator",
                                 device=self.device)["by_repo"][repo]
            return {"folder": st["folder"], "stats": st["stats"], "examples": st["examples"],
                    # steps along agent proofs in the training data of this stage (replayed repos included)
                    "agent_examples": sum(len(agent_proof_examples(self.db, r)) for r in seen)}

        r = self.step(f"{prefix}/train-retriever", retriever)
        g = self.step(f"{prefix}/train-generator", generator)
        self.step(f"{prefix}/evaluate", lambda: self.evaluate(i, repo, (r["folder"], g["folder"]), order))
        self.step(f"{prefix}/prove", lambda: self.prove(i, repo, g["folder"], seen, order))

    # -- evaluation ---------------------------------------------------------
    def evaluate(self, index: int, trained: str | None, folders: tuple[str, str] | None, order: list[str]) -> dict:
        """R@10 and tactic accuracy on every repository's test split, stored as matrix cells."""
        from leanagent.generator.model import RetrievalAugmentedGenerator
        from leanagent.generator.model_io import load_model, new_model
        from leanagent.training.evaluation import ACC, R10, fill_matrix
        from leanagent.training.generator import generator_retriever
        from leanagent.training.retriever import open_retriever

        cfg = self.cfg
        if folders is None:  # the starting models: the pretrained encoder, a new generator
            from leanagent.db.training_data import import_graph, premise_corpus
            from leanagent.retrieval.access import Accessibility
            from leanagent.retrieval.model import DualEncoder

            corpus = premise_corpus(self.db)
            start = self.run_dir / "start"
            start.mkdir(parents=True, exist_ok=True)
            model = DualEncoder.create(corpus, cfg.retriever, Accessibility(corpus, import_graph(self.db)),
                                       seed=cfg.train.seed, device=self.device)
            dense = open_retriever(self.db, start, model=model, device=self.device)
            tactic_model = new_model(cfg.generator, seed=cfg.train.seed, device=self.device)
        else:
            dense = open_retriever(self.db, Path(folders[0]), device=self.device)
            tactic_model = load_model(Path(folders[1]), device=self.device)
        self.device.put(tactic_model, inference=True)
        gen = RetrievalAugmentedGenerator(tactic_model, *generator_retriever(self.db, cfg.learn.generator_retrieval,
                                                                             cfg.generator, self.device))
        cells: dict[str, dict[str, float | None]] = {R10: {}, ACC: {}}
        for repo in order:
            # Exact match of the top tactic only (k=1): greedy decoding is k times cheaper than top-k beams.
            got = fill_matrix(self.db, self.runner.run_id, index, trained, [repo], retriever=dense, generator=gen,
                              limit=cfg.learn.eval_limit, k=1)
            for metric in (R10, ACC):
                cells[metric][repo] = got[metric][repo]
            self.emit(event="evaluated", after=trained or "(start)", on=repo,
                      **{R10: got[R10][repo], ACC: got[ACC][repo]})
        return cells

    # -- proving -----------------------------------------------------------
    def prove(self, index: int, repo: str | None, generator_folder: str | None, seen: list[str],
              order: list[str]) -> dict:
        """Prove repository `repo`'s targets after training on it; with prove_matrix, every repository's
        (row `index` of the replay-proved matrix; index START: the starting generator, no recorded step)."""
        from dataclasses import replace

        from leanagent.db.runs import store_evaluation
        from leanagent.prover.campaign import Campaign, run_campaign

        lo = self.cfg.learn
        replay = self.env == "replay"
        if generator_folder is None:  # the starting row: an untrained generator alone, nothing recorded
            from leanagent.generator.model_io import new_model

            folder = self.run_dir / "start" / "generator"
            if not (folder / "generator.json").is_file():
                new_model(self.cfg.generator, seed=self.cfg.train.seed).save(folder)
            proposer = replace(self.cfg.proposer(self.db, checkpoint=str(folder), source_split="train"),
                               proposer="model")
        else:
            # The proposers read the recorded steps of the repositories learned so far (never a later one), of
            # their train split: held-out targets stay held out, and what is proved can become training data.
            proposer = self.cfg.proposer(self.db, checkpoint=generator_folder, source_split="train",
                                         source_repos=",".join(seen))
        matrix = self.proves_matrix
        out: dict = {"proved": 0, "attempted": 0, "skipped": 0, "expansions": 0, "matrix": {}}
        for target in (order if matrix else [repo]):
            # In the matrix every cell proves its theorems again (retry): the same theorem under the same
            # model would otherwise be skipped, and a cell would count fewer targets.
            campaign = Campaign(env=self.env, theorems="test" if replay else "sorry", repos=[target],
                                limit=lo.prove_limit, workers=lo.workers, ray_address=lo.ray_address, pool=lo.pool,
                                proposer=proposer, search=self.cfg.search(), device=self.device.device,
                                retry=matrix, baselines=target == repo)
            result = run_campaign(self.db, campaign, run_id=self.runner.run_id,
                                  on_result=lambda res, tot, t=target: self.emit(
                                      event="attempt", repo=t, theorem=res.theorem.full_name, outcome=res.outcome))
            if matrix:
                out["matrix"][target] = [result.proved, result.attempted]
                if result.attempted:
                    store_evaluation(self.db, self.runner.run_id, PROVED, index, repo, target,
                                     100.0 * result.proved / result.attempted)
            if target == repo:
                out.update(proved=result.proved, attempted=result.attempted, skipped=result.skipped,
                           expansions=result.expansions, baselines=result.baselines)
            out.update(model=result.model, theorems=campaign.theorems)
        return out

    # -- report --------------------------------------------------------------
    def report(self, order: list[str]) -> Path:
        from leanagent.db.models import StepStatus
        from leanagent.db.runs import evaluation_matrix
        from leanagent.lifelong.report import ReportData, training_notes, versions, write_report

        matrices, baselines = {}, {}
        for metric in (R10, ACC) + ((PROVED,) if self.proves_matrix else ()):
            cells = evaluation_matrix(self.db, self.runner.run_id, metric)
            baselines[metric] = [cells.get((START, repo)) for repo in order]
            matrices[metric] = [[cells.get((i, repo)) for repo in order] for i in range(len(order))]
        proved = {}
        for i, repo in enumerate(order):
            d = self.runner.details(f"{i:02d}-{repo}/prove") or {}
            proved[repo] = {"proved": d.get("proved", 0), "attempted": d.get("attempted", 0),
                            "baselines": d.get("baselines")}
        agent = max([(self.runner.details(f"{i:02d}-{repo}/train-generator") or {}).get("agent_examples", 0)
                     for i, repo in enumerate(order)] or [0])
        what = "held-out test theorems" if self.env == "replay" else "sorry theorems"
        notes = [f"Proving targets: each repository's {what}.",
                 "R@10 and tactic accuracy are on each repository's test split (theorem-level, as stored when "
                 "the repository was imported; see `leanagent db stats`).",
                 "Leave-one-out by theorem: no proposer ever used a target theorem's own recorded steps, and "
                 "the proposers of each stage read only the repositories learned up to that stage.",
                 "Agent proofs become training data only for theorems of a train split (sorry theorems included), "
                 "with every state along the path; proofs of val/test theorems never do.",
                 f"Generator training examples that came from the agent's own proofs: {agent}."]
        stats = {f"{repo}/{model}": (self.runner.details(f"{i:02d}-{repo}/train-{model}") or {}).get("stats") or {}
                 for i, repo in enumerate(order) for model in ("retriever", "generator")}
        made_with = versions()
        notes += training_notes(stats, self.cfg.train.seed, made_with)
        data = ReportData(title=f"leanagent learn, run {self.runner.run_id}", repos=order, matrices=matrices,
                          baselines=baselines, proved=proved, env=self.env, notes=notes, targets=what,
                          extra={"run_id": self.runner.run_id, "agent_examples": agent, "training": stats,
                                 "seed": self.cfg.train.seed, "versions": made_with,
                                 "config": self.runner_config()})
        path = write_report(data, self.run_dir / "report")
        self.runner.finish(StepStatus.DONE, report_path=str(path))
        self.emit(event="report", path=str(path))
        return path

    def runner_config(self) -> dict:
        from leanagent.db.models import Run

        with self.db.session() as s:
            return s.get(Run, self.runner.run_id).config or {}
