"""The dual encoder as a `Trainable` for the shared loop: contrastive loss with several positives.

One shared encoder embeds proof states and premises. A batch holds B states,
each with one sampled gold premise plus hard negatives (from the theorem's own
file, defined before it, and other accessible premises). The loss is softmax
cross-entropy over all premises in the batch, except that every premise that
is gold for a state is removed from that state's denominator: another
example's positive is only a negative when it is not also ours.
"""

from __future__ import annotations

import json
import random
from bisect import bisect_left
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from leanagent.data import PremiseItem, RecordedStep
from leanagent.errors import ModelError
from leanagent.retrieval.access import Accessibility
from leanagent.retrieval.encoder import Encoder
from leanagent.retrieval.options import RetrieverOptions  # noqa: F401  (re-exported)

ENCODER_DIR = "encoder"
RETRIEVER_FILE = "retriever.json"




@dataclass(frozen=True)
class TrainPair:
    """One (state, gold premise) training pair; `positives` are all gold corpus rows of the state."""

    state: str
    positive: int
    positives: frozenset
    file_path: str
    theorem_start: tuple[int, int]
    theorem_id: int | None = None  # the step's theorem: its difficulty orders an easy-first stage


def training_pairs(examples: Sequence[RecordedStep], row_of: dict[int, int]) -> list[TrainPair]:
    """One pair per (step, gold premise), as ReProver does."""
    pairs = []
    for ex in examples:
        rows = [row_of[p] for p in ex.premise_ids if p in row_of]
        gold = frozenset(rows)
        pairs.extend(TrainPair(ex.state, r, gold, ex.file_path, ex.theorem_start, ex.theorem_id) for r in rows)
    return pairs


def multi_positive_loss(q: torch.Tensor, p: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """q (B, d), p (P, d) unit rows; labels (B, P) bool gold; column i is state i's sampled positive."""
    sim = q @ p.T / temperature  # (B, P)
    b = q.shape[0]
    own = torch.zeros_like(labels)
    own[torch.arange(b), torch.arange(b)] = True  # (B, P): the sampled positive of each state
    sim = sim.masked_fill(labels & ~own, float("-inf"))  # other gold premises are not negatives
    return F.cross_entropy(sim, torch.arange(b, device=sim.device))


class DualEncoder(torch.nn.Module):
    """Trainable retriever: `collate`, `loss`, `save` for `leanagent.training.loop`."""

    def __init__(self, encoder: Encoder, corpus: Sequence[PremiseItem], options: RetrieverOptions,
                 access: Accessibility | None = None, seed: int = 0):
        super().__init__()
        self.encoder = encoder
        self.options = options
        self.texts = [p.text for p in corpus]
        self.access = access or Accessibility(corpus)
        self.rng = random.Random(seed)
        # Per file: rows sorted by definition position, for "same file, defined before" negatives.
        by_file: dict[str, list[tuple[tuple[int, int], int]]] = defaultdict(list)
        for row, p in enumerate(corpus):
            by_file[p.path].append((p.start or (0, 0), row))
        self._in_file = {f: sorted(v) for f, v in by_file.items()}

    # -- building and saving -------------------------------------------------------------
    @classmethod
    def create(cls, corpus, options: RetrieverOptions, access=None, seed: int = 0,
               from_folder: Path | None = None, device=None) -> "DualEncoder":
        """A new dual encoder from `options.encoder` (`auto` resolved for `device`, the device policy), or
        from a saved retriever folder. It is built on the CPU: the caller places it."""
        if from_folder is not None:
            spec = load_options(from_folder)
            options = RetrieverOptions(**{**asdict(options), "encoder": str(Path(from_folder) / ENCODER_DIR),
                                          "max_state_len": spec.max_state_len,
                                          "max_premise_len": spec.max_premise_len})
        return cls(Encoder.load(options, device), corpus, options, access, seed)

    def save(self, folder: Path) -> None:
        self.encoder.save(folder / ENCODER_DIR)
        (folder / RETRIEVER_FILE).write_text(json.dumps(asdict(self.options), indent=2, sort_keys=True))

    # -- training ------------------------------------------------------------------------
    def _negatives(self, pair: TrainPair) -> list[int]:
        n, out = self.options.num_negatives, []
        earlier = self._in_file.get(pair.file_path, [])
        earlier = earlier[:bisect_left(earlier, (pair.theorem_start, -1))]
        in_file = [r for _, r in earlier if r not in pair.positives]
        out.extend(self.rng.sample(in_file, min(len(in_file), self.options.num_in_file_negatives, n)))
        for _ in range(20 * n):  # rejection sampling of accessible premises; bounded, never loops forever
            if len(out) >= n:
                break
            r = self.rng.randrange(len(self.texts))
            if r in pair.positives or r in out:
                continue
            ok = self.access.allowed(pair.file_path, pair.theorem_start, np.array([r]))
            if ok is None or bool(ok[0]):
                out.append(r)
        return out

    def collate(self, pairs: list[TrainPair]) -> dict:
        rows = [p.positive for p in pairs]  # column i = state i's sampled positive
        for p in pairs:
            rows.extend(self._negatives(p))
        labels = torch.tensor([[r in p.positives for r in rows] for p in pairs], dtype=torch.bool)  # (B, P)
        return {"states": [p.state for p in pairs], "premises": [self.texts[r] for r in rows], "labels": labels}

    def loss(self, batch: dict) -> torch.Tensor:
        q = self.encoder.encode(batch["states"], self.options.max_state_len)  # (B, d)
        p = self.encoder.encode(batch["premises"], self.options.max_premise_len)  # (P, d)
        return multi_positive_loss(q, p, batch["labels"].to(q.device), self.options.temperature)

    # -- inference -----------------------------------------------------------------------
    def embed_states(self, states: Sequence[str]) -> np.ndarray:
        return self.encoder.embed(states, self.options.max_state_len)  # (Q, d)

    def embed_premises(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.embed(texts, self.options.max_premise_len)  # (N, d)

    def digest(self) -> str:
        """Fingerprint of the weights and input lengths (names the model in the index metadata).

        Not the encoder's name: a checkpoint reloaded from its folder is the same model."""
        import hashlib

        h = hashlib.blake2b(digest_size=16)
        h.update(f"{self.options.max_premise_len}".encode())
        for name, t in self.encoder.model.state_dict().items():
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().float().numpy().tobytes())
        return h.hexdigest()


def load_options(folder: Path) -> RetrieverOptions:
    path = Path(folder) / RETRIEVER_FILE
    if not path.is_file() or not (Path(folder) / ENCODER_DIR).is_dir():
        raise ModelError(f"{folder} is not a retriever checkpoint (no {RETRIEVER_FILE} and {ENCODER_DIR}/)",
                         fix="pass a folder written by `leanagent train retriever`")
    data = json.loads(path.read_text())
    names = {f.name for f in fields(RetrieverOptions)}
    return RetrieverOptions(**{k: v for k, v in data.items() if k in names})
