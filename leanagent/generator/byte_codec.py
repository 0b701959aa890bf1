"""ByT5's byte vocabulary, encoded with numpy, and the collator that runs in DataLoader workers.

ByT5's token ids are the UTF-8 bytes shifted by 3 (0 pad, 1 eos, 2 unk), and
every sequence ends with eos. `ByT5Tokenizer` produces the same ids but is
pure Python: about 35 ms for one 2,300-byte input, which alone would cap
training below 30 examples/s per core. Encoding here is a `bytes` -> numpy
shift. One difference, on purpose: a literal `</s>` or `<pad>` in a proof
state is read as its bytes, not as a special token.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

PAD, EOS, UNK = 0, 1, 2
OFFSET = 3        # token id = byte + 3
VOCAB = 256 + OFFSET
IGNORE = -100     # label value that the loss skips (padding)


def token_count(text: str, max_len: int) -> int:
    """Tokens of `text` once encoded (eos included), at most `max_len` (pure)."""
    return min(len(text.encode("utf-8")) + 1, max_len)


def encode_batch(texts: Sequence[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input ids (B, L), attention mask (B, L)), right-padded to the longest, each row <= max_len with eos.

    A text longer than max_len - 1 bytes keeps its first max_len - 1 bytes (as the HF tokenizer's
    truncation does), then eos.
    """
    rows = [np.frombuffer(t.encode("utf-8"), dtype=np.uint8)[:max_len - 1] for t in texts]
    width = max((len(r) for r in rows), default=0) + 1
    ids = np.full((len(rows), width), PAD, dtype=np.int64)  # (B, L)
    mask = np.zeros((len(rows), width), dtype=np.int64)  # (B, L)
    for i, r in enumerate(rows):
        n = len(r)
        ids[i, :n] = r.astype(np.int64) + OFFSET
        ids[i, n] = EOS
        mask[i, :n + 1] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def labels_batch(tactics: Sequence[str], max_bytes: int) -> torch.Tensor:
    """Target ids (B, T) with eos; padding is IGNORE so that the loss skips it."""
    ids, mask = encode_batch(tactics, max_bytes + 1)
    return ids.masked_fill(mask == 0, IGNORE)


def decode(ids: Sequence[int]) -> str:
    """Text of generated ids: specials dropped, invalid UTF-8 ignored (as ByT5Tokenizer.decode)."""
    data = bytes(int(i) - OFFSET for i in ids if OFFSET <= int(i) < VOCAB)
    return data.decode("utf-8", errors="ignore")


class ByteCollator:
    """Examples (with `.source`, `.tactic`) -> tensors; a small picklable object for DataLoader workers."""

    def __init__(self, max_input_bytes: int, max_output_bytes: int):
        self.max_input_bytes = max_input_bytes
        self.max_output_bytes = max_output_bytes

    def __call__(self, examples: Sequence) -> dict[str, torch.Tensor]:
        ids, mask = encode_batch([e.source for e in examples], self.max_input_bytes)
        return {"input_ids": ids, "attention_mask": mask,  # (B, L) each
                "labels": labels_batch([e.tactic for e in examples], self.max_output_bytes)}  # (B, T)

    def sizes(self, examples: Sequence) -> np.ndarray:
        """(N, 2) padded-size parts of each example: input tokens, target tokens (for length bucketing)."""
        return np.array([[token_count(e.source, self.max_input_bytes),
                          token_count(e.tactic, self.max_output_bytes + 1)] for e in examples],
                        dtype=np.int64).reshape(-1, 2)
