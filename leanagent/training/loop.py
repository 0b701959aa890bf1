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

Then either train it once on a list of examples,

    fit(model, examples, TrainOptions(epochs=1))

or progressively over repositories (the lifelong part):

    train_progressive(build=lambda ckpt: MyModel.load(ckpt) if ckpt else MyModel.new(),
                      stages=[Stage("repo-a", examples_a), Stage("repo-b", examples_b)],
                      options=TrainOptions(), out_dir=run_folder,
                      on_stage_end=lambda model, stage_index, stage, folder: {...metrics...})

`train_progressive` trains stage k starting from the weights left by stage k-1,
mixes a `replay_fraction` of every batch from earlier stages' examples, adds
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

from leanagent.training.ewc import EwcState, compute_fisher
from leanagent.training.options import TrainOptions, to_dict  # TrainOptions is re-exported
from leanagent.training.replay import ReplayBatchSampler

DONE_MARKER = "config.json"  # written last inside the temporary folder, before the rename


@runtime_checkable
class Trainable(Protocol):
    """What a model gives the shared loop (it is also a torch.nn.Module)."""

    def collate(self, examples: list) -> Any: ...

    def loss(self, batch: Any) -> torch.Tensor: ...

    def save(self, folder: Path) -> None: ...




def resolve_precision(option: str) -> str:
    """bf16 on GPU (where it is fast and safe), full fp32 on CPU (where bf16 is slow and lossy)."""
    if option != "auto":
        return option
    return "bf16-mixed" if torch.cuda.is_available() else "32-true"


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
        self.log("loss", loss.detach(), prog_bar=True, batch_size=self.options.batch_size)
        if self.ewc is not None and self.options.ewc_lambda > 0:
            penalty = self.ewc.penalty(self.model)
            self.log("ewc", penalty.detach(), batch_size=self.options.batch_size)
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


def make_trainer(options: TrainOptions):
    import logging

    pl = _lightning()
    if not options.progress_bar:
        # Lightning's banners ("GPU available: ...") go to stderr on every stage; keep the CLI quiet.
        for name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric"):
            logging.getLogger(name).setLevel(logging.WARNING)
    kwargs: dict[str, Any] = dict(
        accelerator="auto", devices=1, precision=resolve_precision(options.precision),
        max_epochs=options.epochs, max_steps=options.max_steps, logger=False,
        enable_checkpointing=False,  # checkpoints are ours: HF folders, written atomically
        enable_progress_bar=options.progress_bar, enable_model_summary=False,
        gradient_clip_val=options.grad_clip or None, num_sanity_val_steps=0)
    if options.max_minutes is not None:
        kwargs["max_time"] = {"seconds": max(1, int(options.max_minutes * 60))}
    return pl.Trainer(**kwargs)


def fit(model: torch.nn.Module, examples: Sequence, options: TrainOptions, *, replay: Sequence = (),
        ewc: EwcState | None = None, seed_offset: int = 0) -> dict:
    """Train `model` in place on `examples` (+ `replay` mixed into every batch). Returns stats."""
    from torch.utils.data import DataLoader

    options.check()
    if not isinstance(model, Trainable):
        raise TypeError(f"{type(model).__name__} lacks collate/loss/save (see leanagent.training.loop)")
    pl = _lightning()
    pl.seed_everything(options.seed + seed_offset, verbose=False)
    data = list(examples) + list(replay)
    sampler = ReplayBatchSampler(len(examples), len(replay), options.batch_size,
                                 options.replay_fraction, seed=options.seed + seed_offset)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=model.collate)
    # from_pretrained returns modules in eval mode and Lightning keeps each module's mode as it
    # finds it, so switch to training mode here (dropout on) for every model that plugs in.
    model.train(True)
    wrapper = _LitWrapper(model, options, ewc)
    trainer = make_trainer(options)
    started = time.monotonic()
    with warnings.catch_warnings():
        # Lightning's hint to add DataLoader workers: strings are collated in-process on purpose.
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*is deprecated.*")
        trainer.fit(wrapper, loader)
    model.train(False)
    loss = trainer.callback_metrics.get("loss")
    return {"steps": int(trainer.global_step), "seconds": round(time.monotonic() - started, 1),
            "last_loss": float(loss) if loss is not None else None, "batches_per_epoch": len(sampler)}


@dataclass
class Stage:
    """One repository's training examples in the progressive schedule."""

    name: str
    examples: Sequence


@dataclass
class StageResult:
    index: int
    name: str
    folder: Path
    skipped: bool
    stats: dict = field(default_factory=dict)


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
                      ) -> list[StageResult]:
    """Train stage k from stage k-1's checkpoint; see the module docstring."""
    options.check()
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
            model = build(prev)
        replay = [ex for s in stages[:k] for ex in s.examples] if options.replay_fraction > 0 else []
        stats = fit(model, stage.examples, options, replay=replay, ewc=ewc, seed_offset=k) \
            if len(stage.examples) else {"steps": 0, "note": "no training examples"}
        if options.ewc_lambda > 0 and len(stage.examples):
            # Online EWC: Fishers of successive repositories add up, the anchor is the latest weights.
            fisher = compute_fisher(model, stage.examples, options.batch_size, options.ewc_batches,
                                    seed=options.seed + k)
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

