"""Evaluate any `Retriever` on the recorded tactic steps of some repositories."""

from __future__ import annotations

from typing import Sequence

from leanagent.db.engine import Database
from leanagent.db.training_data import StepExample, step_examples
from leanagent.retrieval.base import Query, Retriever
from leanagent.retrieval.metrics import aggregate

#: Retrieved list length for MRR (ReProver retrieves 100).
EVAL_K = 100


def queries_for(examples: Sequence[StepExample]) -> list[Query]:
    return [Query(e.state, e.file_path, e.theorem_start, e.step_id) for e in examples]


def evaluate_examples(retriever: Retriever, examples: Sequence[StepExample], k: int = EVAL_K,
                      batch_size: int = 256) -> dict:
    results = []
    for i in range(0, len(examples), batch_size):
        chunk = examples[i:i + batch_size]
        hits = retriever.retrieve(queries_for(chunk), k)
        results.extend((e.repo, [h.premise_id for h in hs], e.premise_ids) for e, hs in zip(chunk, hits))
    return aggregate(results)


def evaluate(retriever: Retriever, db: Database, repos: Sequence[str], split: str = "test",
             k: int = EVAL_K) -> dict:
    """{"R@1", "R@10", "MRR" (percentages), "steps", "per_repo": {...}} over steps with gold premises."""
    examples = [e for repo in repos for e in step_examples(db, repo, split)]
    return evaluate_examples(retriever, examples, k)
