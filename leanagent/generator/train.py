"""Training and evaluating the tactic generator on recorded steps.

Training is progressive over repositories through the shared loop
(`leanagent.training.loop.train_progressive`): stage i trains on repository
i's train split from stage i-1's weights, with the same replay mixture and
EWC options as the retriever. The input of every example is built exactly as
at proof time (`augment_state` with the same retriever), so training and
search see the same format. After each stage the checkpoint is recorded and
tactic accuracy on the test split of every repository so far is stored as
lifelong-matrix cells.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

from leanagent.db.records import mentions_sorry
from leanagent.generator.model import GeneratorOptions, GenExample, TacticModel, augment_state
from leanagent.prover.env import normalize_tactic

#: Metrics stored per lifelong-matrix cell (Evaluation.metric).
ACC_METRIC, TOPK_METRIC = "tactic_acc", "tactic_top_k"


def examples_for(db, repo: str, split: str) -> list:
    """Recorded steps (StepExample) of a repository's split, without sorry tactics.

    The train split also gets the steps along the agent's own proofs (see
    `leanagent.db.proofs.agent_proof_examples`): found proofs become training data.
    """
    from leanagent.db.proofs import agent_proof_examples
    from leanagent.db.training_data import step_examples

    steps = [e for e in step_examples(db, repo, split, with_premises_only=False) if not mentions_sorry(e.tactic)]
    if split in ("train", "all"):
        steps += agent_proof_examples(db, repo)
    return steps


def to_gen_examples(steps: Sequence, options: GeneratorOptions, retriever=None,
                    texts: dict | None = None, batch: int = 64) -> list[GenExample]:
    """Model inputs as at proof time: top premises from the retriever prepended to the state."""
    if retriever is None or options.num_premises <= 0:
        return [GenExample(augment_state(e.state, [], options.max_input_bytes), e.tactic) for e in steps]
    from leanagent.retrieval.base import Query

    out = []
    for i in range(0, len(steps), batch):
        chunk = steps[i:i + batch]
        hits = retriever.retrieve([Query(e.state) for e in chunk], options.num_premises)
        for e, hs in zip(chunk, hits):
            prem = [texts[h.premise_id] for h in hs if h.premise_id in texts]
            out.append(GenExample(augment_state(e.state, prem, options.max_input_bytes), e.tactic))
    return out


def tactic_accuracy(proposer, steps: Sequence, k: int = 10, batch: int = 16,
                    leave_one_out: bool = False) -> dict:
    """Exact match of the top tactic and top-k accuracy (whitespace-normalised), in percent."""
    from leanagent.generator.merged import generate_with_keys

    hit1 = hitk = 0
    for i in range(0, len(steps), batch):
        chunk = steps[i:i + batch]
        keys = [e.step_id for e in chunk] if leave_one_out else None
        props = generate_with_keys(proposer, [e.state for e in chunk], k, keys)
        for e, cands in zip(chunk, props):
            want = normalize_tactic(e.tactic)
            got = [normalize_tactic(t) for t, _ in cands[:k]]
            hit1 += bool(got) and got[0] == want
            hitk += want in got
    n = len(steps)
    return {"exact_match": 100.0 * hit1 / n if n else 0.0, "top_k": 100.0 * hitk / n if n else 0.0,
            "k": k, "steps": n}


def train_generator(db, repos: Sequence[str], options: GeneratorOptions, train, out_dir: Path, *,
                    retrieval: str = "bm25", start_from: Path | None = None, eval_k: int = 10,
                    eval_limit: int = 200, log: Callable[..., None] | None = None) -> dict:
    """Train over `repos` in order; returns {"run_id", "stages": [{"repo", "folder", "metrics", ...}]}."""
    from leanagent.db.training_data import finish_run, record_checkpoint, start_run, store_evaluation
    from leanagent.generator.factory import make_retriever
    from leanagent.generator.model import RetrievalAugmentedGenerator
    from leanagent.training.loop import Stage, train_progressive
    from leanagent.training.options import to_dict

    options.check()
    retriever, texts = make_retriever(db, retrieval if options.num_premises > 0 else "none")
    config = {"generator": asdict(options), "train": to_dict(train), "retrieval": retrieval, "repos": list(repos)}
    run_id = start_run(db, "train", "train-generator", config)
    stages = [Stage(r, to_gen_examples(examples_for(db, r, "train"), options, retriever, texts)) for r in repos]
    tests = {r: examples_for(db, r, "test")[:eval_limit] for r in repos}

    def build(ckpt: Path | None) -> TacticModel:
        return TacticModel.load(ckpt) if ckpt else TacticModel.create(options, seed=train.seed)

    def on_stage_end(model, k, stage, folder) -> dict:
        if eval_limit <= 0:  # the caller evaluates (e.g. `learn` fills the whole matrix itself)
            return {"per_repo": {}}
        gen = RetrievalAugmentedGenerator(model, retriever, texts)
        per = {r: tactic_accuracy(gen, tests[r], eval_k) for r in repos[:k + 1]}
        for r, m in per.items():
            store_evaluation(db, run_id, ACC_METRIC, k, stage.name, r, m["exact_match"])
            store_evaluation(db, run_id, TOPK_METRIC, k, stage.name, r, m["top_k"])
        if log:
            log(event="generator_stage", repo=stage.name, metrics=per)
        return {"per_repo": per}

    ok = False
    try:
        results = train_progressive(build, stages, train, out_dir, start_from=start_from,
                                    extra_config={"generator": asdict(options), "retrieval": retrieval},
                                    on_stage_end=on_stage_end)
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
    return {"run_id": run_id, "stages": out}
