"""`leanagent learn`: the lifelong loop, one recorded step at a time.

  sync every enabled repos.yaml entry -> curriculum -> evaluate the starting models ->
  for each repository in curriculum order:
      train the retriever, then the generator (from the previous checkpoint, with replay)
      evaluate both on the test split of every repository (the lifelong matrices)
      prove: `sorry` theorems with Lean, or the held-out test theorems in replay mode
  -> report (summary.md, metrics.json, plots)

Every step is a `RunStep` row; a killed run continues from the last finished
step when the same command runs again. Checkpoints are written to a temporary
folder and renamed (see `leanagent.training.loop`), so a half-written one is
never used. The report is rebuilt from the database, so a resumed run and an
uninterrupted one write the same report up to timings.

This module is the loop and what comes before the sequence (sync, curriculum,
the starting rows); one repository's steps are `stage.py` (evaluation in
`stage_evaluation.py`, proving in `stage_proving.py`), the options
`learn_options.py`, the report `learn_report.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from leanagent.db.engine import Database
from leanagent.errors import ConfigError
from leanagent.lifelong.learn_options import Emit, LearnConfig, check_pool, resolve_env
from leanagent.lifelong.learn_run import ACC, PROVED, R10, REPO_STEPS, START, LearnRun


def learn(db: Database, repos_file: str | Path, home: Path, cfg: LearnConfig, *, from_scratch: bool = False,
          emit: Emit | None = None, device: str | None = None, start_rows: Path | None = None) -> Path:
    """Run (or resume) the loop; returns the path of the report's summary.md.

    Every model runs on `device` (`auto|cpu|cuda|cuda:N`, the device policy of `leanagent.device`). It is
    not part of the run's options: a run started on a GPU may continue on the CPU. `start_rows`: a folder
    where the starting models' rows are shared with other runs that compute the same ones
    (`leanagent.lifelong.start_rows`; `leanagent ablate` passes one).
    """
    from leanagent.config import load_repos
    from leanagent.device import placement
    from leanagent.lifelong.learn_report import write_learn_report
    from leanagent.lifelong.lock import run_lock
    from leanagent.lifelong.runs import Runner
    from leanagent.lifelong.stage import run_stage

    emit = emit or (lambda **_: None)
    repos_file = Path(repos_file).resolve()
    config = load_repos(repos_file)
    env = resolve_env(cfg.learn.env)
    check_pool(cfg.learn.pool)
    resolved = {**cfg.as_dict(), "repos_file": str(repos_file), "env": env}
    # Where the Ray cluster runs is no option of the run (like `device`): a run may resume on another cluster.
    resolved["learn"].pop("ray_address", None)
    resolved["learn"].pop("pool", None)  # how workers start changes no result
    for name in ("polish", "polish_seconds"):  # nor does polishing: it adds variants for review, proves nothing
        resolved["learn"].pop(name, None)
    # The database's run lock (shared with nightly, across machines on PostgreSQL): two runs at once would
    # resume the same run and do its steps twice. A second one fails with LockHeldError (exit code 2).
    with run_lock(db, home, "learn") as lock:
        if lock.took_over:
            emit(event="lock", took_over=lock.took_over)
        runner = Runner.start(db, "learn", str(repos_file), resolved, from_scratch=from_scratch, same_config=True)
        run_dir = Path(home) / f"learn-{runner.run_id}"
        emit(event="run", run_id=runner.run_id, resumed=runner.resumed, env=env, folder=str(run_dir))
        run = LearnRun(db, runner, run_dir, cfg, env, emit, placement(device), start_rows)
        # The steps to come, as `pending`: `leanagent runs` then counts a killed run's steps right.
        runner.plan([f"sync/{e.repo_name}" for e in config.enabled()] + ["curriculum", "evaluate/start"]
                    + (["prove/start"] if run.proves_matrix else []))
        order = _prepare(run, config)
        runner.plan([f"{i:02d}-{repo}/{what}" for i, repo in enumerate(order) for what in REPO_STEPS])
        for i, repo in enumerate(order):
            run_stage(run, i, repo, order)
        return write_learn_report(run, order)


def _prepare(run: LearnRun, config) -> list[str]:
    """The steps before the sequence: sync every enabled entry, order them, the starting rows; the order."""
    from leanagent.curriculum import curriculum
    from leanagent.db.curriculum_store import difficulty_data, store_positions
    from leanagent.lifelong.stage_evaluation import evaluate_stage
    from leanagent.lifelong.stage_proving import prove_stage
    from leanagent.sources.sync import cache_dir, sync_entry

    cache = cache_dir(config, run.run_dir.parent)
    names = []
    for entry in config.enabled():
        names.append(entry.repo_name)
        run.step(f"sync/{entry.repo_name}",
                 lambda e=entry: sync_entry(run.db, e, cache=cache, tracer=run.cfg.learn.tracer,
                                            workers=max(1, run.cfg.learn.workers)).as_dict())
    if not names:
        raise ConfigError("repos.yaml enables no repository", fix="add an entry or set enabled: true")

    def order() -> dict:
        data = {k: v for k, v in difficulty_data(run.db).items() if k in names}
        ranked = curriculum(data, run.cfg.learn.order, seed=run.cfg.train.seed)
        store_positions(run.db, [r.name for r in ranked])
        return {"order": [r.name for r in ranked], "table": [r.as_dict() for r in ranked]}

    order_list = run.step("curriculum", order)["order"]
    run.step("evaluate/start", lambda: _shared_start(
        run, "evaluate", lambda: evaluate_stage(run, START, None, None, order_list)))
    if run.proves_matrix:
        run.step("prove/start", lambda: _shared_start(
            run, "prove", lambda: prove_stage(run, START, None, None, [], order_list)))
    return order_list


def _shared_start(run: LearnRun, step: str, compute: Callable[[], dict]) -> dict:
    """A starting row: computed, or with `start_rows` read from a run that computed the same one
    (`leanagent.lifelong.start_rows`); its cells are stored in this run either way."""
    from leanagent.db.runs import evaluation_matrix, store_evaluation
    from leanagent.lifelong import start_rows
    from leanagent.training.evaluation import MRR, R1, steps_metric

    metrics = (R1, R10, MRR, ACC) if step == "evaluate" else (PROVED,)
    metrics += tuple(steps_metric(m) for m in metrics if step == "evaluate")  # their denominators
    key = start_rows.start_key(run.db, run.cfg, run.env, run.device.kind, step) if run.start_rows else None
    hit = start_rows.load(run.start_rows, key)
    if hit is None:
        details = compute()
        cells = {m: {repo: v for (i, repo), v in evaluation_matrix(run.db, run.runner.run_id, m).items()
                     if i == START} for m in metrics}
        start_rows.save(run.start_rows, key, {"details": details, "cells": cells})
        return details
    for metric, row in hit["cells"].items():
        for repo, value in row.items():
            store_evaluation(run.db, run.runner.run_id, metric, START, None, repo, value)
    return {**hit["details"], "shared_from": key}
