"""Progressive retriever training over repositories, with the lifelong R@10[i][j] matrix.

Stage i trains on repository i's train split (from stage i-1's weights, with
replay and optional EWC: see `leanagent.training.loop`). At the end of each
stage the premise index is built into the checkpoint folder and the retriever
is evaluated on the test split of every repository seen so far; each value is
stored as an `Evaluation` row (metric R@10, trained index i, evaluated repo j),
and the whole table goes to `metrics.json` next to the weights.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

from leanagent.db.engine import Database
from leanagent.db.training_data import (
    finish_run,
    import_graph,
    premise_corpus,
    record_checkpoint,
    start_run,
    step_examples,
    store_evaluation,
)
from leanagent.retrieval.access import Accessibility
from leanagent.retrieval.dense import DenseRetriever
from leanagent.retrieval.evaluate import evaluate
from leanagent.retrieval.index import IndexOptions, load_or_build
from leanagent.retrieval.knn import KnnPrior
from leanagent.retrieval.model import DualEncoder, RetrieverOptions, training_pairs
from leanagent.training.loop import Stage, TrainOptions, train_progressive
from leanagent.training.options import to_dict

INDEX_DIR = "index"
#: Metrics stored per lifelong matrix cell.
MATRIX_METRICS = ("R@1", "R@10", "MRR")


def open_retriever(db: Database, folder: Path, index_options: IndexOptions | None = None,
                   model: DualEncoder | None = None) -> DenseRetriever:
    """A ready retriever from a checkpoint folder; the index is rebuilt only if model or premises changed."""
    corpus = premise_corpus(db)
    access = Accessibility(corpus, import_graph(db))
    if model is None:
        model = DualEncoder.create(corpus, RetrieverOptions(), access, from_folder=folder)
    index, _ = load_or_build(Path(folder) / INDEX_DIR, model.digest(), [p.id for p in corpus],
                             [p.text for p in corpus], model.embed_premises, index_options,
                             model_name=model.options.encoder)
    return DenseRetriever(model, corpus, index, access)


def attach_knn_prior(retriever: DenseRetriever, db: Database, repos: Sequence[str], weight: float,
                     neighbours: int = 10) -> int:
    """Give `retriever` a kNN premise prior over the train-split states of `repos`. Returns their number.

    Leave-one-out keys are the step ids, so evaluating on the train split never lets a state vote for itself.
    """
    examples = [e for repo in repos for e in step_examples(db, repo, "train")]
    rows = [[retriever.row_of[p] for p in e.premise_ids if p in retriever.row_of] for e in examples]
    retriever.prior = KnnPrior(retriever.model.embed_states([e.state for e in examples]), rows,
                               [e.step_id for e in examples], neighbours=neighbours)
    retriever.prior_weight = weight
    return len(examples)


def train_retriever(db: Database, repos: Sequence[str], options: RetrieverOptions, train: TrainOptions,
                    out_dir: Path, *, start_from: Path | None = None, run_name: str | None = None,
                    eval_split: str | None = "test", index_options: IndexOptions | None = None,
                    log: Callable[..., None] | None = None) -> dict:
    """Train over `repos` in order; returns {"run_id", "stages": [{"repo", "folder", "metrics"}]}."""
    corpus = premise_corpus(db)
    access = Accessibility(corpus, import_graph(db))
    row_of = {p.id: r for r, p in enumerate(corpus)}
    stages = [Stage(repo, training_pairs(step_examples(db, repo, "train"), row_of)) for repo in repos]
    config = {"retriever": asdict(options), "train": to_dict(train), "repos": list(repos),
              "from": str(start_from) if start_from else None, "eval_split": eval_split}
    run_id = start_run(db, "train", run_name or "retriever", config)
    log = log or (lambda **_: None)

    def build(prev: Path | None) -> DualEncoder:
        return DualEncoder.create(corpus, options, access, seed=train.seed, from_folder=prev)

    def on_stage_end(model: DualEncoder, k: int, stage: Stage, folder: Path) -> dict:
        retriever = open_retriever(db, folder, index_options, model=model)  # builds the checkpoint's index
        if eval_split is None:  # the caller evaluates (e.g. `learn` fills the whole matrix itself)
            return {"split": None, "trained_index": k, "trained_repo": stage.name, "per_repo": {}}
        per_repo = {}
        for repo in repos[:k + 1]:
            m = evaluate(retriever, db, [repo], eval_split)
            for metric in MATRIX_METRICS:
                store_evaluation(db, run_id, metric, k, stage.name, repo, m[metric])
            per_repo[repo] = {key: m[key] for key in (*MATRIX_METRICS, "steps")}
            log(event="evaluated", trained=stage.name, index=k, repo=repo, **per_repo[repo])
        return {"split": eval_split, "trained_index": k, "trained_repo": stage.name, "per_repo": per_repo}

    ok = False
    try:
        results = train_progressive(build, stages, train, out_dir, start_from=start_from,
                                    extra_config={"retriever": asdict(options), "run_id": run_id,
                                                  "repos": list(repos)},
                                    on_stage_end=on_stage_end)
        ok = True
    finally:
        finish_run(db, run_id, ok)
    out = []
    for r in results:
        metrics_path = r.folder / "metrics.json"
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
        if not r.skipped:
            record_checkpoint(db, run_id, r.name, "retriever", str(r.folder.resolve()), config, metrics)
        log(event="stage", repo=r.name, folder=str(r.folder), skipped=r.skipped, **r.stats)
        out.append({"repo": r.name, "folder": str(r.folder), "skipped": r.skipped, "stats": r.stats,
                    "metrics": metrics})
    return {"run_id": run_id, "stages": out}
