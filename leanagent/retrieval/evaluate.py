"""Evaluate any `Retriever` on recorded tactic steps (the database query lives in `leanagent.training.evaluation`)."""

from __future__ import annotations

import time
from typing import Sequence

from leanagent.data import RecordedStep
from leanagent.retrieval.base import Query, Retriever
from leanagent.retrieval.metrics import aggregate

#: Retrieved list length for MRR (ReProver retrieves 100).
EVAL_K = 100


def queries_for(examples: Sequence[RecordedStep]) -> list[Query]:
    return [Query.at(e.state, e.theorem) for e in examples]


def evaluate_examples(retriever: Retriever, examples: Sequence[RecordedStep], k: int = EVAL_K,
                      batch_size: int = 256, deadline: float | None = None) -> dict:
    """R@1, R@10, MRR over `examples`; with a `deadline` (time.monotonic()), no batch starts that would
    end after it (judging by the previous one) and the figures are over the steps evaluated."""
    results = []
    last = 0.0  # seconds the previous batch took
    for i in range(0, len(examples), batch_size):
        if deadline is not None and time.monotonic() + last >= deadline:
            break
        chunk = examples[i:i + batch_size]
        started = time.monotonic()
        hits = retriever.retrieve(queries_for(chunk), k)
        last = time.monotonic() - started
        results.extend((e.repo, [h.premise_id for h in hs], e.premise_ids) for e, hs in zip(chunk, hits))
    return aggregate(results)
