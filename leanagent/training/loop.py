"""The one Lightning training loop, shared by the retriever and the generator.

How another model plugs in
--------------------------
Write a `torch.nn.Module` that satisfies the `Trainable` protocol below:

    class MyModel(torch.nn.Module):
        def collate(self, examples: list) -> Any:      # list of your examples -> one batch
            ...                                         # (strings are fine: tokenise in loss())
        def loss(self, batch) -> torch.Tensor:          # scalar training loss of one batch
            ...
        def save(self, folder: Path) -> None:           # HF `save_pretrained` of your weights
            ...

Two optional methods make training faster (the generator has both):
`example_sizes(examples) -> (N, parts)` token counts turn fixed-size batches
into length-bucketed ones under `TrainOptions.batch_tokens`
(`leanagent.training.buckets`), and `collator()` returns a picklable collate
function that DataLoader worker processes run.

Where it trains is the device policy's (`device=`, see `leanagent.device`);
the model is left there after training (Lightning would leave it on the CPU),
for the stage-end evaluation, EWC's Fisher and whatever comes next.

Then either train it once on a list of examples,

    fit(model, examples, TrainOptions(epochs=1))

or progressively over repositories (the lifelong part):

    train_progressive(build=lambda ckpt: MyModel.load(ckpt) if ckpt else MyModel.new(),
                      stages=[Stage("repo-a", examples_a), Stage("repo-b", examples_b)],
                      options=TrainOptions(), out_dir=run_folder,
                      on_stage_end=lambda model, stage_index, stage, folder: {...metrics...})

`train_progressive` trains stage k starting from the weights left by stage k-1,
mixes a `rehearsal_fraction` of every batch from earlier stages' examples, adds
the EWC penalty when `ewc_lambda > 0` (Fisher computed automatically at the
end of each stage), and writes each stage's checkpoint atomically (a temporary
folder renamed when complete) with `config.json` and whatever `on_stage_end`
writes into the folder (an index, `metrics.json`). A finished stage found on
disk is skipped, so a killed run continues where it stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import torch

from leanagent.device import Placement, placement as resolve_device
from leanagent.training.budget import TimeBudget
from leanagent.training.ewc import EwcState, compute_fisher
from leanagent.training.log_lines import batch_size_of
from leanagent.training.options import TrainOptions, to_dict  # TrainOptions is re-exported
from leanagent.training.rehearsal import RehearsalBatchSampler

DONE_MARKER = "config.json"  # written last inside the temporary folder, before the rename


@runtime_checkable
class Trainable(Protocol):
    """What a model gives the shared loop (it is also a torch.nn.Module)."""

    def collate(self, examples: list) -> Any: ...

    def loss(self, batch: Any) -> torch.Tensor: ...

    def save(self, folder: Path) -> None: ...


def resolve_precision(option: str, device: "str | Placement | None" = None) -> str:
    """bf16 on GPU (where it is fast and safe), full fp32 on CPU (where bf16 is slow and lossy)."""
    return resolve_device(device).train_precision(option)


def batch_tokens(options: TrainOptions, where: Placement) -> int:
    """The token budget per batch (0: fixed batch_size batches); None in the options: the device's."""
    return where.defaults.batch_tokens if options.batch_tokens is None else options.batch_tokens


def loader_workers(options: TrainOptions, where: Placement) -> int:
    """DataLoader worker processes; None in the options: the device's."""
    return where.defaults.loader_workers if options.loader_workers is None else options.loader_workers


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up from 1/warmup to 1, then constant (pure schedule)."""
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)


def _lightning():
    import pytorch_lightning as pl

    return pl


class _LitWrapper(_lightning().LightningModule):
    """A thin LightningModule around any `Trainable`, adding the EWC penalty."""

    def __init__(self, model: torch.nn.Module, options: TrainOptions, ewc: EwcState | None):
        super().__init__()
        self.model = model
        self.options = options
        self.ewc = ewc

    def training_step(self, batch, batch_idx):
        loss = self.model.loss(batch)
        size = batch_size_of(batch, self.options.batch_size)
        self.log("loss", loss.detach(), prog_bar=True, batch_size=size)
        if self.ewc is not None and self.options.ewc_lambda > 0:
            penalty = self.ewc.penalty(self.model)
            self.log("ewc", penalty.detach(), batch_size=size)
            loss = loss + self.options.ewc_lambda * penalty
        return loss

    def configure_optimizers(self):
        # Called once per stage: each repository gets a NEW optimizer on purpose.
        # Adam's moment estimates describe the previous repository's loss surface;
        # carrying them over would steer the first steps on the new repository by
        # stale curvature. A fresh optimizer with its own warm-up also makes a run
        # resumed from a checkpoint (which stores weights only) train exactly like
        # an uninterrupted one.
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=self.options.lr, weight_decay=self.options.weight_decay)
        warm = self.options.warmup_steps
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: warmup_factor(step, warm))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def make_trainer(options: TrainOptions, where: Placement | None = None, max_seconds: float | None = None,
                 total_steps: int | None = None):
    """A Lightning Trainer on `where` (default: the device policy's auto), stopping after `max_seconds`
    (default: options.max_minutes); without Lightning's bar, a progress line every 30 s (log_lines)."""
    import logging

    pl = _lightning()
    if not options.progress_bar:
        # Lightning's banners ("GPU available: ...") go to stderr on every stage; keep the CLI quiet.
        for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
            logging.getLogger(name).setLevel(logging.WARNING)
    where = resolve_device(where)
    accelerator, devices = where.lightning()
    kwargs: dict[str, Any] = dict(
        accelerator=accelerator, devices=devices, precision=where.train_precision(options.precision),
        max_epochs=options.epochs, max_steps=options.max_steps, logger=False,
        enable_checkpointing=False,  # checkpoints are ours: HF folders, written atomically
        enable_progress_bar=options.progress_bar, enable_model_summary=False,
        gradient_clip_val=options.grad_clip or None, num_sanity_val_steps=0)
    if not options.progress_bar:
        from leanagent.training.log_lines import log_lines

        kwargs["callbacks"] = [log_lines(total_steps)]
    if max_seconds is None and options.max_minutes is not None:
        max_seconds = options.max_minutes * 60
    if max_seconds is not None:
        kwargs["max_time"] = {"seconds": max(1, int(max_seconds))}
    return pl.Trainer(**kwargs)


def _fit_interruptibly(trainer, module, loader) -> None:
    """`trainer.fit`, except that Ctrl-C stays a KeyboardInterrupt.

    Lightning turns Ctrl-C into a "graceful shutdown": it ignores SIGINT from then on and calls
    `sys.exit(1)`, so the CLI would end silently with code 1 and the run would look failed. Give the
    caller its KeyboardInterrupt back (the run is recorded `interrupted` and resumes) and restore the
    Ctrl-C handler that Lightning switched off.
    """
    import signal

    handler = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(module, loader)
    except SystemExit:
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        if signal.getsignal(signal.SIGINT) is not handler:
            try:
                signal.signal(signal.SIGINT, handler)
            except ValueError:  # not the main thread: Lightning could not have changed it either
                pass


def batch_sampler(model: torch.nn.Module, examples: Sequence, replay: Sequence, options: TrainOptions,
                  where: Placement, seed: int, difficulty: Sequence[float | None] | None = None):
    """Token-budgeted, length-bucketed batches for a model that reports example sizes (`example_sizes`);
    fixed `batch_size` batches otherwise (see `leanagent.training.buckets`). With `difficulty` (one value
    per example) the new examples are served easy-first (`leanagent.curriculum.easy_first_bands`)."""
    budget = batch_tokens(options, where)
    sizes = getattr(model, "example_sizes", None)
    if sizes is not None and budget > 0:
        from leanagent.training.buckets import BucketBatchSampler

        return BucketBatchSampler(sizes(examples), sizes(replay), budget, options.rehearsal_fraction, seed=seed,
                                  difficulty=difficulty)
    return RehearsalBatchSampler(len(examples), len(replay), options.batch_size, options.rehearsal_fraction, seed=seed,
                              difficulty=difficulty)


def fit(model: torch.nn.Module, examples: Sequence, options: TrainOptions, *, replay: Sequence = (),
        ewc: EwcState | None = None, seed_offset: int = 0, device: "str | Placement | None" = None,
        max_seconds: float | None = None, difficulty: Sequence[float | None] | None = None) -> dict:
    """Train `model` in place on `examples` (+ `replay` mixed into every batch), on `device` (the device
    policy; default auto), for at most `max_seconds` (default: options.max_minutes). Returns stats.
    `difficulty` (one value per example) serves them easy-first when options.within_repo_order says so.

    The model is left on `device` in eval mode (Lightning moves it to the CPU when it finishes).
    """
    from torch.utils.data import DataLoader

    options.check()
    if not isinstance(model, Trainable):
        raise TypeError(f"{type(model).__name__} lacks collate/loss/save (see leanagent.training.loop)")
    where = resolve_device(device)
    pl = _lightning()
    pl.seed_everything(options.seed + seed_offset, verbose=False)
    data = list(examples) + list(replay)
    if options.within_repo_order != "easy-first" or difficulty is None or len(difficulty) != len(examples):
        difficulty = None
    sampler = batch_sampler(model, examples, replay, options, where, options.seed + seed_offset, difficulty)
    # A model with a picklable collator (tokenising into tensors) collates in worker processes, overlapping
    # with the GPU; other models collate in-process (the retriever's collate samples negatives from its rng).
    collator = model.collator() if hasattr(model, "collator") else model.collate
    workers = loader_workers(options, where) if hasattr(model, "collator") else 0
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=collator, num_workers=workers,
                        pin_memory=where.defaults.pin_memory, persistent_workers=workers > 0)
    # from_pretrained returns modules in eval mode and Lightning keeps each module's mode as it
    # finds it, so switch to training mode here (dropout on) for every model that plugs in.
    model.train(True)
    wrapper = _LitWrapper(model, options, ewc)
    total = options.epochs * len(sampler)  # the steps this stage is planned to take
    if options.max_steps and options.max_steps > 0:
        total = min(total, options.max_steps)
    trainer = make_trainer(options, where, max_seconds, total)
    started = time.monotonic()
    with warnings.catch_warnings():
        # Lightning's hint to add DataLoader workers: on the CPU they would take cores from training.
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")
        _fit_interruptibly(trainer, wrapper, loader)
    model.train(False)
    where.put(model)  # Lightning's teardown moved it to the CPU; evaluation, EWC and proving run here
    loss = trainer.callback_metrics.get("loss")
    steps = int(trainer.global_step)
    return {"steps": steps, "planned_steps": total, "seconds": round(time.monotonic() - started, 1),
            "last_loss": float(loss) if loss is not None else None, "batches_per_epoch": len(sampler),
            "device": where.device,
            # Only the optional wall-clock cap stops training before its steps: then the figures depend on
            # the machine's speed, and the report says so.
            "stopped_by_time": steps < total and (max_seconds is not None or options.max_minutes is not None)}


@dataclass
class Stage:
    """One repository's training examples in the progressive schedule."""

    name: str
    examples: Sequence
    difficulty: Sequence[float | None] | None = None
    """One value per example (its theorem's difficulty, None: infinite), for an easy-first stage."""

    @classmethod
    def of(cls, name: str, examples: Sequence, difficulty_of: dict) -> "Stage":
        """A stage whose examples carry `theorem_id`, with their difficulties from {theorem id: difficulty}."""
        return cls(name, examples, [difficulty_of.get(getattr(e, "theorem_id", None)) for e in examples])


@dataclass
class StageResult:
    index: int
    name: str
    folder: Path
    skipped: bool
    stats: dict = field(default_factory=dict)


def _fisher_plan(model, examples: Sequence, options: TrainOptions, where: Placement, seed: int):
    """EWC's Fisher batches under the training token budget (None: fixed batch_size batches)."""
    budget = batch_tokens(options, where)
    sizes = getattr(model, "example_sizes", None)
    if sizes is None or budget <= 0:
        return None
    from leanagent.training.buckets import fisher_batches

    return fisher_batches(sizes(examples), budget, options.ewc_batches, seed)


def stage_folder(out_dir: Path, index: int, name: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return out_dir / f"{index:02d}-{safe}"


def _atomic_write_stage(folder: Path, write: Callable[[Path], None]) -> None:
    """Fill a temporary sibling folder, then rename it: a killed run never leaves half a checkpoint."""
    tmp = folder.with_name(f".tmp-{folder.name}-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        write(tmp)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def train_progressive(build: Callable[[Path | None], torch.nn.Module], stages: Sequence[Stage],
                      options: TrainOptions, out_dir: Path, *, start_from: Path | None = None,
                      extra_config: dict | None = None,
                      on_stage_end: Callable[[torch.nn.Module, int, Stage, Path], dict | None] | None = None,
                      device: "str | Placement | None" = None, budget: TimeBudget | None = None,
                      evaluates: bool | None = None) -> list[StageResult]:
    """Train stage k from stage k-1's checkpoint; see the module docstring.

    Every stage trains on `device` (the device policy). `budget` (default: one made from
    options.max_minutes now) bounds the whole call: each stage trains for its share of what is left
    and, when `evaluates` (default: when there is an `on_stage_end`), leaves a share to the evaluation
    in `on_stage_end` (see `leanagent.training.budget`).
    """
    options.check()
    where = resolve_device(device)
    budget = budget if budget is not None else TimeBudget(options.max_minutes)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[StageResult] = []
    model: torch.nn.Module | None = None
    prev: Path | None = start_from
    ewc: EwcState | None = None
    for k, stage in enumerate(stages):
        folder = stage_folder(out_dir, k, stage.name)
        if (folder / DONE_MARKER).is_file():
            # Finished earlier (the run was interrupted later): reuse, do not retrain.
            prev, model = folder, None
            ewc = EwcState.load(folder) if options.ewc_lambda > 0 else None
            results.append(StageResult(k, stage.name, folder, skipped=True))
            continue
        if model is None:
            model = where.put(build(prev))
        replay = [ex for s in stages[:k] for ex in s.examples] if options.rehearsal_fraction > 0 else []
        left = sum(not (stage_folder(out_dir, j, s.name) / DONE_MARKER).is_file() for j, s in enumerate(stages)
                   if j >= k)
        seconds = budget.next_stage(left, evaluates=on_stage_end is not None if evaluates is None else evaluates)
        stats = fit(model, stage.examples, options, replay=replay, ewc=ewc, seed_offset=k, device=where,
                    max_seconds=seconds, difficulty=stage.difficulty) if len(stage.examples) else {"steps": 0, "note": "no training examples"}
        if options.ewc_lambda > 0 and len(stage.examples):
            # Online EWC: Fishers of successive repositories add up, the anchor is the latest weights.
            fisher = compute_fisher(model, stage.examples, options.batch_size, options.ewc_batches,
                                    seed=options.seed + k, batches=_fisher_plan(model, stage.examples, options,
                                                                                where, options.seed + k))
            ewc = EwcState.combine(ewc, fisher, model)

        def write(tmp: Path, model=model, stage=stage, stats=stats, k=k, ewc=ewc) -> None:
            model.save(tmp)
            if ewc is not None:
                ewc.save(tmp)
            metrics = on_stage_end(model, k, stage, tmp) if on_stage_end else None
            if metrics is not None:
                (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
            config = {"stage": {"index": k, "name": stage.name, "examples": len(stage.examples),
                                "from": str(prev) if prev else None},
                      "train": to_dict(options), "stats": stats, **(extra_config or {})}
            (tmp / DONE_MARKER).write_text(json.dumps(config, indent=2, sort_keys=True, default=str))

        _atomic_write_stage(folder, write)
        results.append(StageResult(k, stage.name, folder, skipped=False, stats=stats))
        prev = folder
    return results

