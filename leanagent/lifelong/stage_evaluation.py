"""The evaluate step of `leanagent learn`: one row of the R@10 and tactic-accuracy matrices.

After stage i the retriever and the generator are evaluated on the test split
of every repository of the sequence, learned yet or not; once before the
sequence the starting retriever (the pretrained encoder) is too (a new
generator's tactic accuracy is not measured: see `evaluate_stage`). Each cell is stored with the run
(`leanagent.training.evaluation.fill_matrix`), so the report reads the
lifelong matrices, forward and backward transfer included, from the database;
the step's details hold the same row for the run's record.
"""

from __future__ import annotations

from pathlib import Path

from leanagent.lifelong.learn_run import ACC, R10, LearnRun


def evaluate_stage(run: LearnRun, index: int, trained: str | None, folders: tuple[str, str] | None,
                   order: list[str]) -> dict:
    """R@10 and tactic accuracy on every repository's test split, stored as the cells of row `index`, each
    with its denominator; beside tactic accuracy, the frequency baseline's on the same steps.

    `trained`: the repository learned last (None: the starting models); `folders`: the retriever's and the
    generator's checkpoints (None: build the starting models). Each repository is evaluated on a fixed-size
    sample of its test steps (learn.eval_limit, drawn with train.seed: the same steps in every row).
    """
    from leanagent.generator.model import RetrievalAugmentedGenerator
    from leanagent.training.evaluation import ACC_FREQUENCY, fill_matrix, frequency_baseline, steps_metric
    from leanagent.training.generator import generator_retriever

    cfg = run.cfg
    dense, tactic_model = _models(run, folders)
    gen = baseline = None
    # The starting generator would be new (random weights): its tactic accuracy is not measured (None, "–").
    # Decoding its beams to full length took minutes of a 20-minute run on the sample, to learn that nothing
    # matches; the frequency baseline beside every later cell is the comparison that means something.
    if tactic_model is not None:
        run.device.put(tactic_model, inference=True)
        gen = RetrievalAugmentedGenerator(tactic_model, *generator_retriever(
            run.db, cfg.learn.generator_retrieval, cfg.generator, run.device))
        baseline = frequency_baseline(run.db, order[:index + 1])
    cells: dict[str, dict[str, float | None]] = {}
    for repo in order:
        # Exact match of the best of learn.eval_beams beams, as the prover ranks tactics (not greedy decoding).
        # The dense retriever embeds the premise corpus once, when its index is built (open_dense: the
        # checkpoint's index is reused as long as the weights did not change), never per repository.
        got = fill_matrix(run.db, run.runner.run_id, index, trained, [repo], retriever=dense, generator=gen,
                          baseline=baseline, limit=cfg.learn.eval_limit, seed=cfg.train.seed,
                          k=cfg.learn.eval_beams)
        for metric in (R10, ACC, ACC_FREQUENCY):
            for key in (metric, steps_metric(metric)):
                if key in got:
                    cells.setdefault(key, {})[repo] = got[key][repo]
        run.emit(event="evaluated", after=trained or "(start)", on=repo,
                 **{k: got[k][repo] for k in (R10, ACC, ACC_FREQUENCY, steps_metric(R10), steps_metric(ACC))
                    if k in got})
    return cells


def _models(run: LearnRun, folders: tuple[str, str] | None) -> tuple:
    """(dense retriever, tactic model): loaded from `folders`; when None, the starting retriever (the
    pretrained encoder) and no tactic model."""
    from leanagent.generator.model_io import load_model
    from leanagent.training.retriever import open_retriever

    if folders is not None:
        return (open_retriever(run.db, Path(folders[0]), device=run.device),
                load_model(Path(folders[1]), device=run.device))
    # The starting models: the pretrained encoder, a new generator.
    from leanagent.db.training_data import import_graph, premise_corpus
    from leanagent.retrieval.access import Accessibility
    from leanagent.retrieval.model import DualEncoder

    cfg = run.cfg
    corpus = premise_corpus(run.db)
    start = run.run_dir / "start"
    start.mkdir(parents=True, exist_ok=True)
    model = DualEncoder.create(corpus, cfg.retriever, Accessibility(corpus, import_graph(run.db)),
                               seed=cfg.train.seed, device=run.device)
    return open_retriever(run.db, start, model=model, device=run.device), None
