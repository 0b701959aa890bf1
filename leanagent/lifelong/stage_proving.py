"""The prove step of `leanagent learn`: proof search with the generator a stage has just trained.

After stage i the loop proves repository i's targets: its `sorry` theorems
with Lean, or its held-out test theorems in replay. The proposers read only
the train split of the repositories learned up to stage i, so held-out targets
stay held out and what is proved can become training data. With prove_matrix
(replay only) the step proves every repository's held-out theorems instead,
and once more before the sequence with the untrained generator, filling one
row of the replay-proved matrix (PROVED) per step.
"""

from __future__ import annotations

from dataclasses import replace

from leanagent.lifelong.learn_run import PROVED, LearnRun


def prove_stage(run: LearnRun, index: int, repo: str | None, generator_folder: str | None, seen: list[str],
                order: list[str]) -> dict:
    """Prove repository `repo`'s targets after training on it; with prove_matrix, every repository's
    (row `index` of the replay-proved matrix; index START: the starting generator, no recorded step)."""
    from leanagent.db.runs import store_evaluation
    from leanagent.prover.campaign import Campaign, run_campaign

    lo = run.cfg.learn
    proposer = _proposer(run, generator_folder, seen)
    matrix = run.proves_matrix
    out: dict = {"proved": 0, "attempted": 0, "skipped": 0, "expansions": 0, "matrix": {}}
    for target in (order if matrix else [repo]):
        # In the matrix every cell proves its theorems again (retry): the same theorem under the same
        # model would otherwise be skipped, and a cell would count fewer targets.
        campaign = Campaign(env=run.env, theorems="test" if run.env == "replay" else "sorry", repos=[target],
                            limit=lo.prove_limit, workers=lo.workers, ray_address=lo.ray_address, pool=lo.pool,
                            proposer=proposer, search=run.cfg.search(), polish=run.cfg.polish(),
                            device=run.device.device,
                            retry=matrix, baselines=target == repo)
        result = run_campaign(run.db, campaign, run_id=run.runner.run_id,
                              on_result=lambda res, tot, t=target: run.emit(
                                  event="attempt", repo=t, theorem=res.theorem.full_name, outcome=res.outcome))
        if matrix:
            out["matrix"][target] = [result.proved, result.attempted]
            if result.attempted:
                store_evaluation(run.db, run.runner.run_id, PROVED, index, repo, target,
                                 100.0 * result.proved / result.attempted)
        if target == repo:
            out.update(proved=result.proved, attempted=result.attempted, skipped=result.skipped,
                       expansions=result.expansions, baselines=result.baselines,
                       left_out=result.left_out.get(target, {}))
        out.update(model=result.model, theorems=campaign.theorems)
    return out


def _proposer(run: LearnRun, generator_folder: str | None, seen: list[str]):
    """The resolved proposer of the step: the stage's generator (with the proposers `learn.proposer`
    names), or, for the starting row (`generator_folder` None), an untrained generator alone."""
    if generator_folder is not None:
        # The proposers read the recorded steps of the repositories learned so far (never a later one), of
        # their train split: held-out targets stay held out, and what is proved can become training data.
        return run.cfg.proposer(run.db, checkpoint=generator_folder, source_split="train",
                                source_repos=",".join(seen))
    from leanagent.generator.model_io import new_model

    folder = run.run_dir / "start" / "generator"
    if not (folder / "generator.json").is_file():
        new_model(run.cfg.generator, seed=run.cfg.train.seed).save(folder)
    return replace(run.cfg.proposer(run.db, checkpoint=str(folder), source_split="train"), proposer="model")
