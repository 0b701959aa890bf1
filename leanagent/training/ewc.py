"""Elastic weight consolidation (optional), with the Fisher computed automatically.

Penalty: sum_i F_i (theta_i - theta*_i)^2 / 2, where F is the diagonal
(empirical) Fisher information of the repositories trained so far and theta*
the weights at the end of the last one. Stored next to the checkpoint with
safetensors (tensors only, no pickles).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

EWC_FILE = "ewc.safetensors"


def _params(model: torch.nn.Module) -> dict[str, torch.nn.Parameter]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def compute_fisher(model: torch.nn.Module, examples: Sequence, batch_size: int, max_batches: int,
                   seed: int = 0, batches: Sequence[Sequence[int]] | None = None) -> dict[str, torch.Tensor]:
    """Diagonal empirical Fisher: the mean squared gradient of the loss over up to `max_batches` batches.

    Batch gradients (not per-example ones) are used: it is the usual cheap
    approximation, and the same model code computes it without a special path.
    It runs where the model is (the training loop has placed it), in bf16
    autocast on a bf16 GPU. `batches` (lists of example indices, e.g. the
    token-budgeted ones of `leanagent.training.buckets`) replace the default
    `batch_size` batches of a seeded shuffle.
    """
    from leanagent.device import autocast_for

    params = _params(model)
    fisher = {n: torch.zeros_like(p, dtype=torch.float32) for n, p in params.items()}
    if batches is None:
        order = list(range(len(examples)))
        random.Random(seed).shuffle(order)
        order = order[:batch_size * max_batches]
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    was_training = model.training
    model.train(True)
    n = 0
    for idx in list(batches)[:max_batches]:
        batch = model.collate([examples[i] for i in idx])
        model.zero_grad(set_to_none=True)
        with autocast_for(model):
            loss = model.loss(batch)
        loss.backward()
        for name, p in params.items():
            if p.grad is not None:
                fisher[name] += p.grad.detach().float() ** 2
        n += 1
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {k: v / max(n, 1) for k, v in fisher.items()}


@dataclass
class EwcState:
    fisher: dict[str, torch.Tensor]
    anchor: dict[str, torch.Tensor]

    @classmethod
    def combine(cls, previous: "EwcState | None", fisher: dict[str, torch.Tensor],
                model: torch.nn.Module) -> "EwcState":
        anchor = {n: p.detach().float().clone() for n, p in _params(model).items()}
        if previous is not None:
            fisher = {n: f + previous.fisher[n].to(f.device) if n in previous.fisher else f
                      for n, f in fisher.items()}
        return cls(fisher, anchor)

    def penalty(self, model: torch.nn.Module) -> torch.Tensor:
        total = None
        for name, p in _params(model).items():
            if name not in self.fisher:
                continue
            if self.fisher[name].device != p.device:  # once: a stored state is loaded on the CPU
                self.fisher[name] = self.fisher[name].to(p.device)
                self.anchor[name] = self.anchor[name].to(p.device)
            f = self.fisher[name]
            term = (f * (p.float() - self.anchor[name]) ** 2).sum()
            total = term if total is None else total + term
        if total is None:
            return torch.zeros(())
        return total / 2

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        data = {f"fisher.{k}": v.contiguous().cpu() for k, v in self.fisher.items()}
        data.update({f"anchor.{k}": v.contiguous().cpu() for k, v in self.anchor.items()})
        save_file(data, str(folder / EWC_FILE))

    @classmethod
    def load(cls, folder: Path) -> "EwcState | None":
        path = folder / EWC_FILE
        if not path.is_file():
            return None
        from safetensors.torch import load_file

        data = load_file(str(path))
        fisher = {k[len("fisher."):]: v for k, v in data.items() if k.startswith("fisher.")}
        anchor = {k[len("anchor."):]: v for k, v in data.items() if k.startswith("anchor.")}
        return cls(fisher, anchor)
