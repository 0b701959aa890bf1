"""A toy `Trainable` for the shared loop: linear regression on fixed points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch


class ToyModel(torch.nn.Module):
    """y = w x + b; examples are (x, y) pairs."""

    def __init__(self, w: float = 0.0):
        super().__init__()
        self.lin = torch.nn.Linear(1, 1)
        with torch.no_grad():
            self.lin.weight.fill_(w)
            self.lin.bias.zero_()

    def collate(self, examples):
        x = torch.tensor([[e[0]] for e in examples])  # (B, 1)
        y = torch.tensor([[e[1]] for e in examples])  # (B, 1)
        return x, y

    def loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.lin(x), y)

    def save(self, folder: Path) -> None:
        (folder / "toy.json").write_text(json.dumps({"w": self.lin.weight.item(), "b": self.lin.bias.item()}))

    @classmethod
    def load(cls, folder: Path | None) -> "ToyModel":
        m = cls()
        if folder is not None:
            data = json.loads((folder / "toy.json").read_text())
            with torch.no_grad():
                m.lin.weight.fill_(data["w"])
                m.lin.bias.fill_(data["b"])
        return m


@pytest.fixture
def toy():
    return ToyModel
