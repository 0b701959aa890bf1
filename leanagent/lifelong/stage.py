"""One stage of `leanagent learn`: what the loop does for the i-th repository of the curriculum.

A stage is four recorded steps (`REPO_STEPS`): train the retriever, then the
generator, each from the previous stage's checkpoint on repositories 0..i
(earlier ones replayed, never a later one: the lifelong protocol); evaluate
both on every repository's test split (`stage_evaluation`); prove with the new
generator (`stage_proving`). A step a killed run already finished is skipped,
its stored details (the checkpoint folders) read back, so a resumed stage
continues where it stopped.
"""

from __future__ import annotations

from leanagent.lifelong.learn_run import LearnRun


def run_stage(run: LearnRun, i: int, repo: str, order: list[str]) -> None:
    """Stage `i` of the sequence `order`: learn `repo` (after 0..i-1), evaluate, prove."""
    from leanagent.lifelong.stage_evaluation import evaluate_stage
    from leanagent.lifelong.stage_proving import prove_stage

    seen = order[:i + 1]  # the lifelong protocol: stage i reads repositories 0..i only
    prefix = f"{i:02d}-{repo}"
    r = run.step(f"{prefix}/train-retriever", lambda: _train_retriever(run, repo, seen))
    g = run.step(f"{prefix}/train-generator", lambda: _train_generator(run, repo, seen))
    run.step(f"{prefix}/evaluate", lambda: evaluate_stage(run, i, repo, (r["folder"], g["folder"]), order))
    run.step(f"{prefix}/prove", lambda: prove_stage(run, i, repo, g["folder"], seen, order))


def _train_retriever(run: LearnRun, repo: str, seen: list[str]) -> dict:
    from leanagent.training.retriever import train_retriever

    cfg = run.cfg
    # No per-stage evaluation in the trainer: this loop's evaluate step fills the whole matrix row.
    st = train_retriever(run.db, seen, cfg.retriever, cfg.train, run.run_dir / "retriever",
                         run_name=f"learn-{run.runner.run_id}-retriever", device=run.device)["by_repo"][repo]
    return {"folder": st["folder"], "stats": st["stats"]}


def _train_generator(run: LearnRun, repo: str, seen: list[str]) -> dict:
    from leanagent.db.proofs import agent_proof_examples
    from leanagent.training.generator import train_generator

    cfg = run.cfg
    st = train_generator(run.db, seen, cfg.generator, cfg.generator_train(), run.run_dir / "generator",
                         retrieval=cfg.learn.generator_retrieval, run_name=f"learn-{run.runner.run_id}-generator",
                         device=run.device)["by_repo"][repo]
    return {"folder": st["folder"], "stats": st["stats"], "examples": st["examples"],
            # steps along agent proofs in the training data of this stage (replayed repos included)
            "agent_examples": sum(len(agent_proof_examples(run.db, r)) for r in seen)}
