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
R10, ACC = "R@10", "tactic_acc"


@dataclass
class LearnOptions:
    """Options of the lifelong loop itself (model and training options have their own groups)."""

    env: str = "auto"
    """`leandojo` (prove sorry theorems with Lean), `replay` (prove held-out theorems against recorded traces,
    offline) or `auto` (leandojo when a Lean toolchain is found, else replay)."""
    order: str = "easy-count"
    """Curriculum order: `easy-count` (LeanAgent) or `easy-fraction`."""
    generator_lr: float | None = 1e-3
    """Learning rate of the generator, overriding train.lr (None: use train.lr). A generator trained from
    scratch wants a much larger rate than fine-tuning the pretrained retriever encoder does."""
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
    """Ray workers for proving (0: in this process)."""
    eval_limit: int = 50
    """Test steps per repository used for tactic accuracy (the slowest evaluation)."""
    prove_limit: int | None = None
    """Theorems proved per repository at most (None: all of them)."""


@dataclass
class LearnConfig:
    """Everything `learn` needs; written to the run and next to every checkpoint."""

    learn: LearnOptions = field(default_factory=LearnOptions)
    train: object = None      # leanagent.training.loop.TrainOptions
    retriever: object = None  # leanagent.retrieval.model.RetrieverOptions
    generator: object = None  # leanagent.generator.model.GeneratorOptions

    def generator_train(self):
        """The training options of the generator: `train` with `learn.generator_lr` when set."""
        lr = self.learn.generator_lr
        return self.train if lr is None else replace(self.train, lr=lr)

    def proposer(self, db, **overrides):
        """The resolved proposer the loop proves with (`overrides` go to ProposerOptions)."""
        from leanagent.generator.factory import ProposerOptions, resolve

        lo = self.learn
        return resolve(ProposerOptions(proposer=lo.proposer, retrieval=lo.generator_retrieval,
                                       knn_encoder=lo.knn_encoder, **overrides), db)

    def search(self):
        from leanagent.prover.search import SearchConfig

        lo = self.learn
        return SearchConfig(num_sampled_tactics=lo.num_tactics, timeout=lo.prove_timeout,
                            max_expansions=lo.max_expansions)

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

    # max_minutes caps each repository's training, so that a CPU run over many repositories ends in
    # predictable time (one epoch of MiniLM over a mathlib area takes far longer on a laptop).
    return (TrainOptions(batch_size=8, warmup_steps=10, max_minutes=1.5), RetrieverOptions(),
            GeneratorOptions(d_model=128, num_layers=2, num_heads=4, d_ff=512, max_input_bytes=1024,
                             max_output_bytes=96, num_premises=4))


def resolve_env(env: str) -> str:
    if env not in ("auto", "leandojo", "replay"):
        raise ConfigError(f"unknown env {env!r}", fix="use auto, leandojo or replay")
    if env != "auto":
        if env == "leandojo":
            from leanagent.prover.leandojo_env import check_toolchain

            check_toolchain()
        return env
    from leanagent.errors import ToolchainError
    from leanagent.prover.leandojo_env import check_toolchain

    try:
        check_toolchain()
        return "leandojo"
    except ToolchainError:
        return "replay"


def learn(db: Database, repos_file: str | Path, home: Path, cfg: LearnConfig, *, from_scratch: bool = False,
          emit: Emit | None = None) -> Path:
    """Run (or resume) the loop; returns the path of the report's summary.md."""
    from leanagent.config import load_repos
    from leanagent.lifelong.runs import Runner

    emit = emit or (lambda **_: None)
    repos_file = Path(repos_file).resolve()
    config = load_repos(repos_file)
    env = resolve_env(cfg.learn.env)
    resolved = {**cfg.as_dict(), "repos_file": str(repos_file), "env": env}
    runner = Runner.start(db, "learn", str(repos_file), resolved, from_scratch=from_scratch)
    run_dir = Path(home) / f"learn-{runner.run_id}"
    emit(event="run", run_id=runner.run_id, resumed=runner.resumed, env=env, folder=str(run_dir))
    loop = _Loop(db, runner, run_dir, cfg, env, emit)
    order = loop.prepare(config)
    for i, repo in enumerate(order):
        loop.repository(i, repo, order)
    return loop.report(order)


class _Loop:
    def __init__(self, db: Database, runner, run_dir: Path, cfg: LearnConfig, env: str, emit: Emit):
        self.db, self.runner, self.run_dir, self.cfg, self.env, self.emit = db, runner, run_dir, cfg, env, emit

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
            ranked = curriculum(data, self.cfg.learn.order)
            store_positions(self.db, [r.name for r in ranked])
            return {"order": [r.name for r in ranked], "table": [r.as_dict() for r in ranked]}

        order_list = self.step("curriculum", order)["order"]
        self.step("evaluate/start", lambda: self.evaluate(START, None, None, order_list))
        return order_list

    # -- one repository -----------------------------------------------------
    def repository(self, i: int, repo: str, order: list[str]) -> None:
        from leanagent.generator.train import train_generator
        from leanagent.training.retriever import train_retriever

        cfg, seen = self.cfg, order[:i + 1]
        prefix = f"{i:02d}-{repo}"

        def retriever() -> dict:
            # eval_split=None: the evaluate step fills the whole matrix, so the trainer's own check is skipped.
            out = train_retriever(self.db, seen, cfg.retriever, cfg.train, self.run_dir / "retriever",
                                  run_name=f"learn-{self.runner.run_id}-retriever", eval_split=None)
            return {"folder": out["stages"][i]["folder"], "stats": out["stages"][i]["stats"]}

        def generator() -> dict:
            from leanagent.db.proofs import agent_proof_examples

            # eval_limit=0: the evaluate step fills the whole matrix, so the trainer's own check is skipped.
            out = train_generator(self.db, seen, cfg.generator, cfg.generator_train(), self.run_dir / "generator",
                                  retrieval=cfg.learn.generator_retrieval, eval_limit=0)
            st = out["stages"][i]
            return {"folder": st["folder"], "stats": st["stats"], "examples": st["examples"],
                    # steps along agent proofs in the training data of this stage (replayed repos included)
                    "agent_examples": sum(len(agent_proof_examples(self.db, r)) for r in seen)}

        r = self.step(f"{prefix}/train-retriever", retriever)
        g = self.step(f"{prefix}/train-generator", generator)
        self.step(f"{prefix}/evaluate", lambda: self.evaluate(i, repo, (r["folder"], g["folder"]), order))
        self.step(f"{prefix}/prove", lambda: self.prove(repo, g["folder"]))

    # -- evaluation ---------------------------------------------------------
    def evaluate(self, index: int, trained: str | None, folders: tuple[str, str] | None, order: list[str]) -> dict:
        """R@10 and tactic accuracy on every repository's test split, stored as matrix cells."""
        from leanagent.db.training_data import store_evaluation
        from leanagent.generator.factory import make_retriever
        from leanagent.generator.model import RetrievalAugmentedGenerator, TacticModel
        from leanagent.generator.train import examples_for, tactic_accuracy
        from leanagent.retrieval.evaluate import evaluate
        from leanagent.retrieval.model import DualEncoder
        from leanagent.training.retriever import open_retriever

        cfg = self.cfg
        if folders is None:  # the starting models: the pretrained encoder, a new generator
            from leanagent.db.training_data import import_graph, premise_corpus
            from leanagent.retrieval.access import Accessibility

            corpus = premise_corpus(self.db)
            start = self.run_dir / "start"
            start.mkdir(parents=True, exist_ok=True)
            model = DualEncoder.create(corpus, cfg.retriever, Accessibility(corpus, import_graph(self.db)),
                                       seed=cfg.train.seed)
            dense = open_retriever(self.db, start, model=model)
            tactic_model = TacticModel.create(cfg.generator, seed=cfg.train.seed)
        else:
            dense = open_retriever(self.db, Path(folders[0]))
            tactic_model = TacticModel.load(Path(folders[1]))
        gen_retriever, texts = make_retriever(self.db, cfg.learn.generator_retrieval
                                              if cfg.generator.num_premises > 0 else "none")
        gen = RetrievalAugmentedGenerator(tactic_model, gen_retriever, texts)
        cells: dict[str, dict[str, float]] = {R10: {}, ACC: {}}
        for repo in order:
            ret = evaluate(dense, self.db, [repo], "test")
            # Exact match of the top tactic only: greedy decoding is k times cheaper than top-k beams.
            tac = tactic_accuracy(gen, examples_for(self.db, repo, "test")[:cfg.learn.eval_limit], k=1)
            r10 = ret[R10] if ret["steps"] else None  # no test step with premises: undefined, not 0
            acc = tac["exact_match"] if tac["steps"] else None
            for metric, value in ((R10, r10), (ACC, acc)):
                if value is not None:
                    store_evaluation(self.db, self.runner.run_id, metric, index, trained, repo, value)
                cells[metric][repo] = value
            self.emit(event="evaluated", after=trained or "(start)", on=repo, **{R10: r10, ACC: acc})
        return cells

    # -- proving -----------------------------------------------------------
    def prove(self, repo: str, generator_folder: str) -> dict:
        from leanagent.prover.campaign import Campaign, run_campaign

        lo = self.cfg.learn
        replay = self.env == "replay"
        proposer = self.cfg.proposer(self.db, checkpoint=generator_folder,
                                     source_split="train" if replay else "all")
        campaign = Campaign(env=self.env, theorems="test" if replay else "sorry", repos=[repo],
                            limit=lo.prove_limit, workers=lo.workers, proposer=proposer, search=self.cfg.search())
        result = run_campaign(self.db, campaign, run_id=self.runner.run_id,
                              on_result=lambda res, tot: self.emit(event="attempt", repo=repo,
                                                                   theorem=res.theorem.full_name,
                                                                   outcome=res.outcome))
        return {"proved": result.proved, "attempted": result.attempted, "skipped": result.skipped,
                "expansions": result.expansions, "model": result.model, "theorems": campaign.theorems}

    # -- report --------------------------------------------------------------
    def report(self, order: list[str]) -> Path:
        from leanagent.db.models import StepStatus
        from leanagent.db.training_data import evaluation_matrix
        from leanagent.lifelong.report import ReportData, write_report

        matrices, baselines = {}, {}
        for metric in (R10, ACC):
            cells = evaluation_matrix(self.db, self.runner.run_id, metric)
            baselines[metric] = [cells.get((START, repo)) for repo in order]
            matrices[metric] = [[cells.get((i, repo)) for repo in order] for i in range(len(order))]
        proved = {}
        for i, repo in enumerate(order):
            d = self.runner.details(f"{i:02d}-{repo}/prove") or {}
            proved[repo] = {"proved": d.get("proved", 0), "attempted": d.get("attempted", 0)}
        agent = max([(self.runner.details(f"{i:02d}-{repo}/train-generator") or {}).get("agent_examples", 0)
                     for i, repo in enumerate(order)] or [0])
        what = "held-out test theorems" if self.env == "replay" else "sorry theorems"
        notes = [f"Proving targets: each repository's {what}.",
                 "R@10 and tactic accuracy are on each repository's test split (theorem-level, seeded hash).",
                 "Agent proofs of held-out test theorems are not used as training data, so that later "
                 "evaluations stay held out; agent proofs of sorry theorems are, with every state along the path.",
                 f"Generator training examples that came from the agent's own proofs: {agent}."]
        data = ReportData(title=f"leanagent learn, run {self.runner.run_id}", repos=order, matrices=matrices,
                          baselines=baselines, proved=proved, env=self.env, notes=notes,
                          extra={"run_id": self.runner.run_id, "agent_examples": agent,
                                 "config": self.runner_config()})
        path = write_report(data, self.run_dir / "report")
        self.runner.finish(StepStatus.DONE, report_path=str(path))
        self.emit(event="report", path=str(path))
        return path

    def runner_config(self) -> dict:
        from leanagent.db.models import Run

        with self.db.session() as s:
            return s.get(Run, self.runner.run_id).config or {}
