"""`leanagent nightly`: a cron job that keeps up with the repositories.

Under the database's run lock (no nightly or learn run overlaps it; a dead run's lock is taken over):
fetch every git entry and re-trace only repositories with new commits (agent
proofs of theorems that still exist are kept by `store_repo`), continue
training on what changed from the newest checkpoints, then spend what is
left of the time budget proving `sorry` theorems not yet proved, newest
repositories first. Writes a report that says what changed since the last night.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from leanagent.db.engine import Database
from leanagent.errors import ConfigError
from leanagent.lifelong.learn_options import Emit, LearnConfig, resolve_env

_UNITS = {"h": 3600, "m": 60, "s": 1}


def parse_budget(text: str) -> float:
    """`6h`, `90m`, `1h30m`, `45s` or plain seconds -> seconds."""
    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise ConfigError(f"cannot read the time budget {text!r}", fix="write it like 6h, 90m, 1h30m or 45s")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def nightly(db: Database, repos_file: str | Path, home: Path, cfg: LearnConfig, budget_seconds: float, *,
            emit: Emit | None = None, device: str | None = None) -> Path:
    """One night (see the module docstring); every model runs on `device` (`leanagent.device`)."""
    from leanagent.config import load_repos
    from leanagent.db.stats import repo_snapshot
    from leanagent.lifelong.lock import run_lock
    from leanagent.lifelong.runs import Runner

    emit = emit or (lambda **_: None)
    deadline = time.monotonic() + budget_seconds
    repos_file = Path(repos_file).resolve()
    with run_lock(db, home, "nightly") as lock:  # per database, shared with learn (lifelong/lock.py)
        if lock.took_over:
            emit(event="lock", took_over=lock.took_over)
        config = load_repos(repos_file)
        env = resolve_env(cfg.learn.env)
        # A nightly run that was killed continues; one that finished is followed by a new run.
        runner = Runner.start(db, "nightly", str(repos_file),
                              {**cfg.as_dict(), "repos_file": str(repos_file), "env": env,
                               "budget_seconds": budget_seconds}, unfinished_only=True)
        run_dir = Path(home) / f"nightly-{runner.run_id}"
        emit(event="run", run_id=runner.run_id, resumed=runner.resumed, env=env, folder=str(run_dir))
        before = runner.step("snapshot/before", lambda: {"repos": repo_snapshot(db)})[0]["repos"]
        changed = _sync(db, runner, config, home, emit, cfg.learn.tracer, max(1, cfg.learn.workers))
        if changed:
            _train(db, runner, run_dir, cfg, changed, emit, device)
        proved = runner.step("prove", lambda: _prove(db, cfg, env, deadline, emit, device))[0]
        after = repo_snapshot(db)
        path = _report(run_dir, runner, before, after, changed, proved, env)
        from leanagent.db.models import StepStatus

        runner.finish(StepStatus.DONE, report_path=str(path))
        emit(event="report", path=str(path))
        return path


def _sync(db, runner, config, home, emit, tracer: str | None = None, workers: int = 1) -> list[str]:
    from leanagent.sources.sync import cache_dir, sync_entry

    cache = cache_dir(config, Path(home))
    changed = []
    for entry in config.enabled():
        details, _ = runner.step(f"sync/{entry.repo_name}", lambda e=entry: sync_entry(db, e, cache=cache,
                                                                       tracer=tracer, workers=workers).as_dict())
        emit(event="synced", repo=entry.repo_name, action=details.get("action"))
        if details.get("action") in ("created", "updated"):
            changed.append(entry.repo_name)
    return changed


def _train(db, runner, run_dir: Path, cfg: LearnConfig, changed: list[str], emit, device=None) -> None:
    """Continue from the newest checkpoints on the repositories that changed, on `device`."""
    from leanagent.db.runs import latest_checkpoint
    from leanagent.training.evaluation import stage_evaluator
    from leanagent.training.generator import train_generator
    from leanagent.training.retriever import train_retriever

    from leanagent.training.budget import TimeBudget

    def retriever() -> dict:
        start = latest_checkpoint(db, "retriever")
        budget = TimeBudget(cfg.train.max_minutes)  # shared by training and its evaluations
        out = train_retriever(db, changed, cfg.retriever, cfg.train, run_dir / "retriever",
                              start_from=Path(start) if start else None, run_name=f"nightly-{runner.run_id}",
                              evaluate=stage_evaluator(db, changed, model="retriever", budget=budget), device=device,
                              budget=budget)
        return {"from": start, "folders": [s["folder"] for s in out["stages"]]}

    def generator() -> dict:
        start = latest_checkpoint(db, "generator")
        budget = TimeBudget(cfg.generator_train().max_minutes)
        out = train_generator(db, changed, cfg.generator, cfg.generator_train(), run_dir / "generator",
                              retrieval=cfg.learn.generator_retrieval, start_from=Path(start) if start else None,
                              evaluate=stage_evaluator(db, changed, model="generator", limit=cfg.learn.eval_limit,
                                                       k=cfg.learn.eval_beams, seed=cfg.train.seed, budget=budget),
                              device=device, budget=budget)
        return {"from": start, "folders": [s["folder"] for s in out["stages"]]}

    runner.step("train-retriever", retriever)
    runner.step("train-generator", generator)


def _prove(db, cfg: LearnConfig, env: str, deadline: float, emit, device=None) -> dict:
    from leanagent.db.training_data import repo_names_newest_first
    from leanagent.prover.campaign import Campaign, run_campaign

    if env == "replay":
        # Replay answers only recorded tactics, and a sorry theorem has no recorded proof.
        return {"proved": 0, "attempted": 0, "note": "replay cannot prove sorry theorems; install Lean"}
    repos = repo_names_newest_first(db)
    from leanagent.prover.proposers import resolve
    from leanagent.training.provenance import read

    lo = cfg.learn
    # Train-split steps only, so that what it proves can become training data.
    proposer = resolve(cfg.proposer(db, source_split="train"), db)
    campaign = Campaign(env=env, theorems="sorry", repos=repos, workers=lo.workers, ray_address=lo.ray_address,
                        pool=lo.pool, deadline=deadline, proposer=proposer, search=cfg.search(),
                        polish=cfg.polish(),
                        device=device or "auto")
    result = run_campaign(db, campaign, on_result=lambda res, tot: emit(event="attempt", theorem=res.theorem.full_name,
                                                                         outcome=res.outcome))
    prov = read(proposer.checkpoint)  # the checkpoint it proved with, and the run that made it
    return {**result.as_dict(), "checkpoint": prov.describe() if prov else proposer.checkpoint}


def _report(run_dir: Path, runner, before: dict, after: dict, changed: list[str], proved: dict, env: str) -> Path:
    from leanagent.files import atomic_write

    run_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# leanagent nightly, run {runner.run_id}", "", f"Environment: **{env}**.", "",
             "## What changed since the last night", "",
             "| repository | commit | theorems | open sorry | agent proofs |", "| --- | --- | --- | --- | --- |"]
    for name in sorted(after):
        a, b = after[name], before.get(name)

        def delta(key: str) -> str:
            if b is None:
                return f"{a[key]} (new)"
            d = a[key] - b[key]
            return f"{a[key]} ({d:+d})" if d else str(a[key])

        commit = (a["commit"] or "")[:12]
        if b is not None and b["commit"] != a["commit"]:
            commit = f"{(b['commit'] or '')[:12]} → {commit}"
        lines.append(f"| {name}{' *' if name in changed else ''} | {commit} | {delta('theorems')} | "
                     f"{delta('sorry')} | {delta('agent_proofs')} |")
    lines += ["", "`*`: re-traced and trained tonight.", "",
              f"Proving: {proved.get('proved', 0)} proved of {proved.get('attempted', 0)} attempted"
              + (f" ({proved['note']})" if proved.get("note") else "") + "."
              + (f" Generator checkpoint: {proved['checkpoint']}." if proved.get("checkpoint") else "")]
    path = run_dir / "report" / "summary.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    import json

    atomic_write(path.parent / "metrics.json", json.dumps(
        {"run_id": runner.run_id, "env": env, "changed": changed, "before": before, "after": after,
         "proved": proved}, indent=2, default=str) + "\n")
    atomic_write(path, "\n".join(lines) + "\n")
    return path
