"""Training the tactic generator on recorded steps, progressively over repositories.

Training goes through the shared loop (`leanagent.training.loop.train_progressive`):
stage i trains on repository i's train split from stage i-1's weights, with the
same replay mixture and EWC options as the retriever. The input of every
example is built exactly as at proof time (`augment_state` with the same
retriever, premises accessible from the example's theorem), so training and
search see the same format. Evaluation is the caller's: pass `evaluate` (see
`leanagent.training.evaluation.fill_matrix`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

from leanagent.generator.model import GeneratorOptions, GenExample, augment_state, tactic_percentile
from leanagent.text import mentions_sorry

#: Called after each stage with (run id, stage index, repository, the model as a TacticProposer);
#: what it returns is written to the stage's metrics.json.
StageEval = Callable[[int, int, str, object], "dict | None"]


def examples_for(db, repo: str, split: str) -> list:
    """Recorded steps (RecordedStep) of a repository's split, without sorry tactics.

    The train split also gets the steps along the agent's own proofs of train-split theorems
    (see `leanagent.db.proofs.agent_proof_examples`): found proofs become training data.
    """
    from leanagent.db.proofs import agent_proof_examples
    from leanagent.db.training_data import step_examples

    steps = [e for e in step_examples(db, repo, split, with_premises_only=False) if not mentions_sorry(e.tactic)]
    if split in ("train", "all"):
        steps += agent_proof_examples(db, repo)
    return steps


def to_gen_examples(steps: Sequence, options: GeneratorOptions, retriever=None,
                    texts: dict | None = None, batch: int = 64) -> list[GenExample]:
    """Model inputs as at proof time: top premises accessible from each step's theorem, then the state."""
    if retriever is None or options.num_premises <= 0:
        return [GenExample(augment_state(e.state, [], options.max_input_bytes), e.tactic, e.theorem_id) for e in steps]
    from leanagent.retrieval.base import Query

    out = []
    for i in range(0, len(steps), batch):
        chunk = steps[i:i + batch]
        hits = retriever.retrieve([Query.at(e.state, e.theorem) for e in chunk], options.num_premises)
        for e, hs in zip(chunk, hits):
            prem = [texts[h.premise_id] for h in hs if h.premise_id in texts]
            out.append(GenExample(augment_state(e.state, prem, options.max_input_bytes), e.tactic, e.theorem_id))
    return out


def generator_retriever(db, kind: str, options: GeneratorOptions, device=None):
    """The premise retriever the generator reads, over the database's corpus: (retriever, texts)."""
    from leanagent.db.runs import latest_checkpoint
    from leanagent.db.training_data import import_graph, premise_corpus
    from leanagent.retrieval.build import make_retriever

    kind = kind if options.num_premises > 0 else "none"
    dense = latest_checkpoint(db, "retriever") if kind == "dense" else None
    return make_retriever(kind, premise_corpus(db), import_graph(db), dense, device=device)


def generator_examples(db, repo: str, options: GeneratorOptions, retrieval: str, retriever, texts, *,
                       corpus: str | None = None) -> list[GenExample]:
    """`to_gen_examples(examples_for(db, repo, "train"), ...)` through the example cache
    (`leanagent.training.example_cache`: stage i builds only repository i's examples).

    `retriever` may be a zero-argument callable returning (retriever, texts) (then `texts` is
    ignored): it is called only when the cache misses, so a stage whose repositories are all
    cached never builds the retriever's index.
    """
    from leanagent.training.example_cache import cached  # per call: a replaced `cached` (tests, bench) counts

    def build() -> list:
        r, t = retriever() if callable(retriever) and not hasattr(retriever, "retrieve") else (retriever, texts)
        return to_gen_examples(examples_for(db, repo, "train"), options, r, t)

    kind = retrieval if options.num_premises > 0 else "none"
    dense = None
    if kind == "dense":  # the checkpoint `generator_retriever` reads: its inputs change with it
        from leanagent.db.runs import latest_checkpoint

        dense = latest_checkpoint(db, "retriever")
    shape = {"retrieval": kind, "num_premises": options.num_premises, "max_input_bytes": options.max_input_bytes,
             "dense": dense}
    return cached("generator", db, repo, shape, build, GenExample, corpus=corpus)


def train_generator(db, repos: Sequence[str], options: GeneratorOptions, train, out_dir: Path, *,
                    retrieval: str = "bm25", start_from: Path | None = None, run_name: str | None = None,
                    evaluate: StageEval | None = None, device=None, budget=None) -> dict:
    """Train over `repos` in order; returns {"run_id", "stages": [...], "by_repo": {repo: stage}}.

    Training, the stage-end evaluation and the dense retriever (if any) run on `device` (the device
    policy). `budget` (a `leanagent.training.budget.TimeBudget`, default: one from train.max_minutes,
    started now) bounds the whole call, building the examples and evaluating included.
    """
    from leanagent.db.curriculum_store import theorem_difficulties
    from leanagent.db.runs import finish_run, record_checkpoint, start_run
    from leanagent.generator.model import RetrievalAugmentedGenerator
    from leanagent.training.budget import TimeBudget
    from leanagent.training.loop import Stage, train_progressive
    from leanagent.training.options import to_dict

    budget = budget if budget is not None else TimeBudget(train.max_minutes)
    options.check()
    retriever, texts = generator_retriever(db, retrieval, options, device)
    config = {"generator": asdict(options), "train": to_dict(train), "retrieval": retrieval, "repos": list(repos)}
    run_id = start_run(db, "train", run_name or "train-generator", config)
    stages = [Stage.of(r, generator_examples(db, r, options, retrieval, retriever, texts),
                       theorem_difficulties(db, r)) for r in repos]

    def build(ckpt: Path | None):  # a TacticModel or a CausalTacticModel (leanagent.generator.model_io)
        from leanagent.generator.model_io import load_model, new_model

        return load_model(ckpt, train=True, device=device) if ckpt else \
            new_model(options, seed=train.seed, train=True, device=device)

    def on_stage_end(model, k, stage, folder) -> dict:
        if hasattr(model, "save_decoding"):  # the T5 generator: its default tactic cut, from what it trained on
            model.tactic_bytes_p99 = tactic_percentile([e.tactic for st in stages[:k + 1] for e in st.examples])
            model.save_decoding(folder)
        if evaluate is None:
            return None
        return evaluate(run_id, k, stage.name, RetrievalAugmentedGenerator(model, retriever, texts))

    ok = False
    try:
        results = train_progressive(build, stages, train, out_dir, start_from=start_from,
                                    extra_config={"generator": asdict(options), "retrieval": retrieval},
                                    on_stage_end=on_stage_end, device=device, budget=budget,
                                    evaluates=evaluate is not None)
        from leanagent.training.provenance import record_stages

        record_stages(db, run_id, results, stages, start_from)  # what each stage folder trained on
        out = []
        for res in results:
            record_checkpoint(db, run_id, res.name, "generator", str(res.folder), config)
            metrics_file = Path(res.folder) / "metrics.json"
            metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
            out.append({"repo": res.name, "folder": str(res.folder), "skipped": res.skipped, "stats": res.stats,
                        "examples": len(stages[res.index].examples), "metrics": metrics})
        ok = True
    finally:
        finish_run(db, run_id, ok=ok)
    return {"run_id": run_id, "stages": out, "by_repo": {st["repo"]: st for st in out}}
