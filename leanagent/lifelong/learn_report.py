"""The last step of `leanagent learn`: its report (summary.md, metrics.json, plots), rebuilt from the database.

Everything the report shows is read back from the run's rows: the lifelong
matrices from the stored evaluation cells (the starting row as the baselines),
the proved counts and the training statistics from the details of each
stage's steps. A resumed run and an uninterrupted one therefore write the same
report up to timings. The notes say what was proved and what the proposers
could see; `leanagent.lifelong.report` writes the files.
"""

from __future__ import annotations

from pathlib import Path

from leanagent.lifelong.learn_run import ACC, PROVED, R10, START, LearnRun


def write_learn_report(run: LearnRun, order: list[str]) -> Path:
    """Write the report of the finished sequence `order`, mark the run done; the path of its summary.md."""
    from leanagent.db.models import StepStatus
    from leanagent.lifelong.report import ReportData, training_notes, versions, write_report

    matrices, baselines, beside = _matrices(run, order)
    proved = {}
    for i, repo in enumerate(order):
        d = run.runner.details(f"{i:02d}-{repo}/prove") or {}
        proved[repo] = {"proved": d.get("proved", 0), "attempted": d.get("attempted", 0),
                        "baselines": d.get("baselines"), "left_out": d.get("left_out") or {}}
    agent = max([(run.runner.details(f"{i:02d}-{repo}/train-generator") or {}).get("agent_examples", 0)
                 for i, repo in enumerate(order)] or [0])
    what = "held-out test theorems" if run.env == "replay" else "sorry theorems"
    stats = {f"{repo}/{model}": (run.runner.details(f"{i:02d}-{repo}/train-{model}") or {}).get("stats") or {}
             for i, repo in enumerate(order) for model in ("retriever", "generator")}
    made_with = versions()
    seed = run.cfg.train.seed
    notes = _protocol_notes(what, agent, run.cfg.learn.eval_limit, seed) + training_notes(stats, seed, made_with)
    data = ReportData(title=f"leanagent learn, run {run.runner.run_id}", repos=order, matrices=matrices,
                      baselines=baselines, proved=proved, env=run.env, notes=notes, targets=what, **beside,
                      extra={"run_id": run.runner.run_id, "agent_examples": agent, "training": stats,
                             "seed": run.cfg.train.seed, "versions": made_with, "config": run.stored_config()})
    path = write_report(data, run.run_dir / "report")
    run.runner.finish(StepStatus.DONE, report_path=str(path))
    run.emit(event="report", path=str(path))
    return path


def _matrices(run: LearnRun, order: list[str]) -> tuple[dict, dict, dict]:
    """({metric: rows after each stage}, {metric: the starting row}, {"counts", "baseline_counts",
    "frequency"}: the ReportData fields of each cell's denominator and the frequency baseline beside tactic
    accuracy), cells None where not evaluated."""
    from leanagent.db.runs import evaluation_matrix
    from leanagent.training.evaluation import ACC_FREQUENCY, steps_metric

    def rows(metric: str) -> tuple[list, list]:
        cells = evaluation_matrix(run.db, run.runner.run_id, metric)
        return ([cells.get((START, repo)) for repo in order],
                [[cells.get((i, repo)) for repo in order] for i in range(len(order))])

    matrices, baselines, counts, baseline_counts = {}, {}, {}, {}
    for metric in (R10, ACC) + ((PROVED,) if run.proves_matrix else ()):
        baselines[metric], matrices[metric] = rows(metric)
        if metric != PROVED:  # replay-proved cells are over theorems; the curriculum table has their counts
            start_n, ns = rows(steps_metric(metric))
            baseline_counts[metric] = [int(n) if n is not None else None for n in start_n]
            counts[metric] = [[int(n) if n is not None else None for n in row] for row in ns]
    extra = {"counts": counts, "baseline_counts": baseline_counts, "frequency": {ACC: rows(ACC_FREQUENCY)[1]}}
    return matrices, baselines, extra


def _protocol_notes(what: str, agent: int, limit: int | None, seed: int) -> list[str]:
    """What the figures are measured on, and what the proposers and the training data could contain."""
    return [f"Proving targets: each repository's {what}.",
            "R@10 and tactic accuracy are on each repository's test split (theorem-level, as stored when "
            "the repository was imported; see `leanagent db stats`): "
            + (f"a sample of at most {limit} steps per repository, drawn with seed {seed}, the same steps in "
               "every row" if limit else "all its steps") + "; each cell gives the number of steps.",
            "Leave-one-out by theorem: no proposer ever used a target theorem's own recorded steps, and "
            "the proposers of each stage read only the repositories learned up to that stage.",
            "Agent proofs become training data only for theorems of a train split (sorry theorems included), "
            "with every state along the path; proofs of val/test theorems never do.",
            f"Generator training examples that came from the agent's own proofs: {agent}."]
