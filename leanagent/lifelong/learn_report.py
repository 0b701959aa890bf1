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

    matrices, baselines = _matrices(run, order)
    proved = {}
    for i, repo in enumerate(order):
        d = run.runner.details(f"{i:02d}-{repo}/prove") or {}
        proved[repo] = {"proved": d.get("proved", 0), "attempted": d.get("attempted", 0),
                        "baselines": d.get("baselines")}
    agent = max([(run.runner.details(f"{i:02d}-{repo}/train-generator") or {}).get("agent_examples", 0)
                 for i, repo in enumerate(order)] or [0])
    what = "held-out test theorems" if run.env == "replay" else "sorry theorems"
    stats = {f"{repo}/{model}": (run.runner.details(f"{i:02d}-{repo}/train-{model}") or {}).get("stats") or {}
             for i, repo in enumerate(order) for model in ("retriever", "generator")}
    made_with = versions()
    notes = _protocol_notes(what, agent) + training_notes(stats, run.cfg.train.seed, made_with)
    data = ReportData(title=f"leanagent learn, run {run.runner.run_id}", repos=order, matrices=matrices,
                      baselines=baselines, proved=proved, env=run.env, notes=notes, targets=what,
                      extra={"run_id": run.runner.run_id, "agent_examples": agent, "training": stats,
                             "seed": run.cfg.train.seed, "versions": made_with, "config": run.stored_config()})
    path = write_report(data, run.run_dir / "report")
    run.runner.finish(StepStatus.DONE, report_path=str(path))
    run.emit(event="report", path=str(path))
    return path


def _matrices(run: LearnRun, order: list[str]) -> tuple[dict, dict]:
    """({metric: rows after each stage}, {metric: the starting row}), cells None where not evaluated."""
    from leanagent.db.runs import evaluation_matrix

    matrices, baselines = {}, {}
    for metric in (R10, ACC) + ((PROVED,) if run.proves_matrix else ()):
        cells = evaluation_matrix(run.db, run.runner.run_id, metric)
        baselines[metric] = [cells.get((START, repo)) for repo in order]
        matrices[metric] = [[cells.get((i, repo)) for repo in order] for i in range(len(order))]
    return matrices, baselines


def _protocol_notes(what: str, agent: int) -> list[str]:
    """What the figures are measured on, and what the proposers and the training data could contain."""
    return [f"Proving targets: each repository's {what}.",
            "R@10 and tactic accuracy are on each repository's test split (theorem-level, as stored when "
            "the repository was imported; see `leanagent db stats`).",
            "Leave-one-out by theorem: no proposer ever used a target theorem's own recorded steps, and "
            "the proposers of each stage read only the repositories learned up to that stage.",
            "Agent proofs become training data only for theorems of a train split (sorry theorems included), "
            "with every state along the path; proofs of val/test theorems never do.",
            f"Generator training examples that came from the agent's own proofs: {agent}."]
