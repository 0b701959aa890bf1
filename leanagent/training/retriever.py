"""Progressive retriever training over repositories.

Stage i trains on repository i's train split (from stage i-1's weights, with
replay and optional EWC: see `leanagent.training.loop`). At the end of each
stage the premise index is built into the checkpoint folder; evaluation is the
caller's (`evaluate`, normally `leanagent.training.evaluation.fill_matrix`,
which stores the lifelong matrix cells).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

from leanagent.db.engine import Database
from leanagent.db.runs import finish_run, record_checkpoint, start_run
from leanagent.db.curriculum_store import theorem_difficulties
from leanagent.db.training_data import import_graph, premise_corpus, step_examples
from leanagent.retrieval.access import Accessibility
from leanagent.retrieval.dense import DenseRetriever, open_dense
from leanagent.retrieval.index import IndexOptions
from leanagent.retrieval.knn import KnnPrior
from leanagent.retrieval.model import DualEncoder, RetrieverOptions
from leanagent.training.example_cache import retriever_pairs
from leanagent.training.loop import Stage, TrainOptions, stage_folder, train_progressive
from leanagent.training.options import to_dict

#: Called after each stage with (run id, stage index, repository, the stage's ready DenseRetriever);
#: what it returns is written to the stage's metrics.json.
StageEval = Callable[[int, int, str, DenseRetriever], "dict | None"]


def open_retriever(db: Database, folder: Path, index_options: IndexOptions | None = None,
                   model: DualEncoder | None = None, device=None) -> DenseRetriever:
    """A ready retriever from a checkpoint folder over the database's premise corpus, on `device`."""
    return open_dense(folder, premise_corpus(db), import_graph(db), index_options, model=model, device=device)


def attach_knn_prior(retriever: DenseRetriever, db: Database, repos: Sequence[str], weight: float,
                     neighbours: int = 10) -> int:
    """Give `retriever` a kNN premise prior over the train-split states of `repos`. Returns their number.

    Each recorded state carries its theorem id, so a query never gets votes from its own theorem's states.
    """
    examples = [e for repo in repos for e in step_examples(db, repo, "train")]
    rows = [[retriever.row_of[p] for p in e.premise_ids if p in retriever.row_of] for e in examples]
    retriever.prior = KnnPrior(retriever.model.embed_states([e.state for e in examples]), rows,
                               [e.theorem_id for e in examples], neighbours=neighbours)
    retriever.prior_weight = weight
    return len(examples)


def train_retriever(db: Database, repos: Sequence[str], options: RetrieverOptions, train: TrainOptions,
                    out_dir: Path, *, start_from: Path | None = None, run_name: str | None = None,
                    index_options: IndexOptions | None = None, evaluate: StageEval | None = None,
                    log: Callable[..., None] | None = None, device=None, budget=None) -> dict:
    """Train over `repos` in order; returns {"run_id", "stages": [...], "by_repo": {repo: stage}}.

    Each stage's checkpoint gets its premise index built; `evaluate`, when given, then sees the
    ready retriever (see `leanagent.training.evaluation.fill_matrix`). Everything runs on `device`
    (the device policy); `budget` (a `leanagent.training.budget.TimeBudget`, default: one from
    train.max_minutes) bounds training and evaluation together.
    """
    corpus, graph = premise_corpus(db), import_graph(db)
    access = Accessibility(corpus, graph)
    row_of = {p.id: r for r, p in enumerate(corpus)}
    stages = [Stage.of(repo, retriever_pairs(db, repo, row_of), theorem_difficulties(db, repo))
              for repo in repos]
    config = {"retriever": asdict(options), "train": to_dict(train), "repos": list(repos),
              "from": str(start_from) if start_from else None}
    run_id = start_run(db, "train", run_name or "retriever", config)
    log = log or (lambda **_: None)

    def build(prev: Path | None) -> DualEncoder:
        return DualEncoder.create(corpus, options, access, seed=train.seed, from_folder=prev, device=device)

    def on_stage_end(model: DualEncoder, k: int, stage: Stage, folder: Path) -> dict | None:
        # Builds the checkpoint's index, on the device the model was trained on; a stage that did not change
        # the weights (no training example) copies the previous checkpoint's instead of embedding the corpus.
        before = stage_folder(out_dir, k - 1, stages[k - 1].name) if k else start_from
        retriever = open_dense(folder, corpus, graph, index_options, model=model, device=device, reuse=before)
        return evaluate(run_id, k, stage.name, retriever) if evaluate is not None else None

    ok = False
    try:
        results = train_progressive(build, stages, train, out_dir, start_from=start_from,
                                    extra_config={"retriever": asdict(options), "run_id": run_id,
                                                  "repos": list(repos)},
                                    on_stage_end=on_stage_end, device=device, budget=budget,
                                    evaluates=evaluate is not None)
        from leanagent.training.provenance import record_stages

        record_stages(db, run_id, results, stages, start_from)  # what each stage folder trained on
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
    return {"run_id": run_id, "stages": out, "by_repo": {st["repo"]: st for st in out}}
