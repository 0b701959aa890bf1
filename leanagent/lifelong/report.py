"""The run report: `summary.md`, `metrics.json` and PNG plots, written into one folder.

The report is rebuilt from what the database holds (matrices, proofs), so a
resumed run writes the same report as an uninterrupted one, up to timings.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leanagent.files import atomic_write
from leanagent.lifelong.metrics import count_with_interval, summarize, wilson_interval


@dataclass
class ReportData:
    title: str
    repos: list[str]                                 # curriculum order
    matrices: dict[str, list[list[float | None]]]    # metric -> T x T, row = after training on repos[i]
    baselines: dict[str, list[float | None]] = field(default_factory=dict)  # metric -> before any training
    proved: dict[str, dict[str, int]] = field(default_factory=dict)  # repo -> {"proved", "attempted"}
    env: str = "replay"
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    targets: str = "theorems"  # what was proved, for the summary: "held-out test theorems", "sorry theorems"
    counts: dict[str, list[list[int | None]]] = field(default_factory=dict)  # metric -> steps behind each cell
    baseline_counts: dict[str, list[int | None]] = field(default_factory=dict)  # metric -> of the starting row
    frequency: dict[str, list[list[float | None]]] = field(default_factory=dict)  # metric -> the frequency
    # baseline's cells on the same steps (tactic accuracy), measured in the same run

    def metrics(self) -> dict[str, Any]:
        return {name: summarize(R, self.baselines.get(name)) for name, R in self.matrices.items()}


#: Under a matrix whose cells carry denominators.
CELL_NOTE = ("Cells: percent of N test steps (`x of N`; a fixed-size seeded sample of each repository's, the "
             "same in every row), a 95% Wilson interval where N < 30 (R@10, a mean of per-step recalls, read as "
             "a proportion), and `[freq y]`: the frequency baseline (the most frequent training tactics of the "
             "repositories learned so far) on the same steps, in the same run.")

#: How the summary names a metric.
LABELS = {"R@10": "premise retrieval R@10", "tactic_acc": "tactic accuracy (exact match)",
          "replay_proved": "held-out theorems proved (replay)"}


def learned_lines(data: ReportData) -> list[str]:
    """What was learned, in two lines: each metric from the starting models to the end of the sequence,
    and what was proved. Means are over the repositories that have a value in both rows, so that the two
    figures compare the same test steps."""
    moves = []
    for name, R in data.matrices.items():
        if not R:
            continue
        start = data.baselines.get(name) or [None] * len(R[-1])
        pairs = [(b, e) for b, e in zip(start, R[-1]) if b is not None and e is not None]
        label = LABELS.get(name, name)
        if pairs:
            b, e = (sum(x) / len(pairs) for x in zip(*pairs))
            moves.append(f"{label} {b:.1f} → {e:.1f}" + _last_row_note(data, name))
        elif any(e is not None for e in R[-1]):
            moves.append(f"{label} {_mean(R[-1]):.1f} at the end" + _last_row_note(data, name))
    first = ("From the starting models to after the last repository (mean over repositories, percent): "
             + "; ".join(moves) + ".") if moves else "No test step to evaluate on: nothing measured."
    proved = sum(p.get("proved", 0) for p in data.proved.values())
    tried = sum(p.get("attempted", 0) for p in data.proved.values())
    per = ", ".join(f"{r} {data.proved.get(r, {}).get('proved', 0)}/{data.proved.get(r, {}).get('attempted', 0)}"
                    for r in data.repos)
    ci = wilson_interval(proved, tried)
    shown = f" (95% interval {ci[0]:.0f}–{ci[1]:.0f}%)" if ci else ""
    second = f"Proved {proved} of {tried} {data.targets}{shown} ({per}), checked by {data.env}."
    left = left_out_text({k: sum((p.get("left_out") or {}).get(k, 0) for p in data.proved.values())
                          for k in LEFT_OUT})
    if left:
        second += f" Not attempted: {left}."
    base = [p["baselines"] for p in data.proved.values() if p.get("baselines")]
    if base:  # the same theorems, the same run: what a proposer that reads no state proves, and the ceiling
        total = {k: sum(b[k] for b in base) for k in ("of", "frequency", "one_step", "oracle")}
        second += (f" Beside it, on the same {total['of']} theorems in the same run (replay): the frequency "
                   f"baseline proved {total['frequency']}, {total['one_step']} have a one-step proof of their "
                   f"own, and the oracle ceiling (any tactic another theorem recorded) is {total['oracle']}.")
    return [first, second]


def _last_row_note(data: ReportData, name: str) -> str:
    """` (last row: 412 steps evaluated; frequency baseline 3.1 on the same steps)`: the denominator of the
    last row's cells and, where measured, the frequency baseline's mean over the same repositories; "" without."""
    R, n = data.matrices[name][-1], (data.counts.get(name) or [[]])[-1]
    steps = sum(k for x, k in zip(R, n) if x is not None and k)
    parts = [f"last row: {steps} steps evaluated"] if steps else []
    freq = (data.frequency.get(name) or [[]])[-1]
    pairs = [f for x, f in zip(R, freq) if x is not None and f is not None]
    if pairs:
        parts.append(f"frequency baseline {sum(pairs) / len(pairs):.1f} on the same steps")
    return f" ({'; '.join(parts)})" if parts else ""


def cell_text(x: float | None, n: int | None = None, freq: float | None = None) -> str:
    """A matrix cell as the summary prints it (pure): the percentage, the steps it is over, a 95% Wilson
    interval when they are fewer than 30 (the percentage read as a proportion of n steps), and the frequency
    baseline on the same steps when measured: `4.0 of 50 [freq 6.0]`, `12.5 of 8 (2–47%)`."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    text = f"{x:.1f}"
    if n:
        text += f" of {n}"
        if n < SMALL_N:
            lo, hi = wilson_interval(round(x * n / 100), n)
            text += f" ({lo:.0f}–{hi:.0f}%)"
    if freq is not None:
        text += f" [freq {freq:.1f}]"
    return text


#: Below this many steps a cell carries its interval.
SMALL_N = 30

#: Why a theorem of the proving set was not attempted (`leanagent.prover.campaign.CampaignResult.left_out`).
LEFT_OUT = {"no_steps": "have no recorded tactic step (term-mode proofs: replay cannot judge them)",
            "sorry": "are `sorry` theorems (replay cannot prove them)",
            "no_backend": "have no Lean backend for their repository's Lean version",
            "done_before": "were attempted before with the same model and budget",
            "over_limit": "are over --prove-limit"}


def left_out_text(counts: dict[str, int]) -> str:
    """`44 have no recorded tactic step (...); 2 are ...`: the reasons, largest first; "" when none."""
    parts = sorted(((n, k) for k, n in counts.items() if n), key=lambda x: -x[0])
    return "; ".join(f"{n} {LEFT_OUT.get(k, k)}" for n, k in parts)


def _mean(xs) -> float:
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs)


def _fmt(x: float | None, pct: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.1f}" if pct else f"{x:.3f}"


def write_report(data: ReportData, folder: str | Path) -> Path:
    """Write the report; returns the path of summary.md."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    metrics = data.metrics()
    payload = {"title": data.title, "env": data.env, "repositories": data.repos, "matrices": data.matrices,
               "baselines": data.baselines, "steps_evaluated": {"matrices": data.counts, "baselines": data.baseline_counts},
               "frequency": data.frequency, "lifelong": metrics, "proved": data.proved, **data.extra}
    atomic_write(folder / "metrics.json", json.dumps(payload, indent=2, default=str) + "\n")
    plots = _plots(data, folder)
    lines = [f"# {data.title}", ""]
    lines += ["## What was learned", ""] + [f"- {line}" for line in learned_lines(data)] + [""]
    lines += [f"Proofs were checked by **{data.env}**"
              + (" (recorded traces, not Lean)." if data.env == "replay" else "."), ""]
    lines += ["## Curriculum", "", "| # | repository | proved / attempted (95% interval) | frequency (same run) | one-step own "
              "proofs | oracle ceiling | not attempted |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for i, repo in enumerate(data.repos):
        p = data.proved.get(repo, {})
        b = p.get("baselines") or {}
        lines.append(f"| {i + 1} | {repo} | {count_with_interval(p.get('proved', 0), p.get('attempted', 0))} | "
                     + " | ".join(str(b.get(k, "n/a")) for k in ("frequency", "one_step", "oracle"))
                     + f" | {left_out_text(p.get('left_out') or {}) or '–'} |")
    for name, R in data.matrices.items():
        lines += ["", f"## {name} matrix (row: after training on, column: evaluated on; percent)", ""]
        lines.append("| after \\ on | " + " | ".join(data.repos) + " |")
        lines.append("| --- " * (len(data.repos) + 1) + "|")
        if name in data.baselines:
            start_n = data.baseline_counts.get(name) or [None] * len(data.repos)
            lines.append("| (start) | " + " | ".join(cell_text(x, k) for x, k in zip(data.baselines[name], start_n))
                         + " |")
        counts, freq = data.counts.get(name), data.frequency.get(name)
        for i, row in enumerate(R):
            ns = counts[i] if counts else [None] * len(row)
            fs = freq[i] if freq else [None] * len(row)
            lines.append(f"| {data.repos[i]} | " + " | ".join(cell_text(x, k, f) for x, k, f in zip(row, ns, fs))
                         + " |")
        if counts or freq:
            lines += ["", CELL_NOTE]
        m = metrics[name]
        lines += ["", "| average accuracy | backward transfer | forward transfer | forgetting | plasticity |",
                  "| --- | --- | --- | --- | --- |",
                  "| " + " | ".join(_fmt(m[k]) for k in ("average_accuracy", "backward_transfer", "forward_transfer",
                                                          "forgetting", "plasticity")) + " |"]
    if data.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in data.notes]
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    summary = folder / "summary.md"
    atomic_write(summary, "\n".join(lines) + "\n")
    return summary


def _plots(data: ReportData, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out: list[Path] = []
    n = len(data.repos)
    for name, R in data.matrices.items():
        if not n:
            break
        safe = name.replace("@", "at").replace("/", "_")
        label = LABELS.get(name, name)
        # Rows as in summary.md: the starting models first, then after each repository.
        base = data.baselines.get(name)
        rows = ([("(start)", base)] if base is not None else []) + [(data.repos[i], R[i]) for i in range(len(R))]
        grid = [[float("nan") if x is None else x for x in row] for _, row in rows]
        fig, ax = plt.subplots(figsize=(1.3 * n + 3.5, 0.7 * len(rows) + 2))
        cmap = plt.get_cmap("viridis").with_extremes(bad="#e8e8e8")  # no test step: grey "–", not a dark 0
        im = ax.imshow(grid, cmap=cmap, vmin=0, vmax=100, aspect="auto")
        ax.set_xticks(range(n), data.repos, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
        ax.set_yticks(range(len(rows)), [r for r, _ in rows])
        ax.set_xlabel("evaluated on (test split)")
        ax.set_ylabel("after training on")
        for i, row in enumerate(grid):
            for j, x in enumerate(row):
                text, color = ("–", "#555555") if x != x else (f"{x:.0f}", "white" if x < 60 else "black")
                ax.text(j, i, text, ha="center", va="center", color=color, fontsize=9)
        if base is not None:
            ax.axhline(0.5, color="white", linewidth=2)  # the starting row is no training step
        fig.colorbar(im, ax=ax, label="percent")
        ax.set_title(f"{label}")
        fig.tight_layout()
        out.append(folder / f"heatmap_{safe}.png")
        fig.savefig(out[-1], dpi=100)
        plt.close(fig)

        fig = _sequence_panels(plt, data.repos, rows, grid, f"{label} per repository over the sequence",
                               f"{name} (percent)")
        out.append(folder / f"sequence_{safe}.png")
        fig.savefig(out[-1], dpi=100)
        plt.close(fig)
    if n:
        fig, ax = plt.subplots(figsize=(7, 4))
        proved = [data.proved.get(r, {}).get("proved", 0) for r in data.repos]
        attempted = [data.proved.get(r, {}).get("attempted", 0) for r in data.repos]
        ax.bar(range(n), attempted, color="#cccccc", label="attempted")
        ax.bar(range(n), proved, color="#2a7", label="proved")
        for i, (p, a) in enumerate(zip(proved, attempted)):
            ax.text(i, max(a, p), f"{p} / {a}", ha="center", va="bottom", fontsize=9)
        ax.set_xticks(range(n), data.repos, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole theorems: no 0.5 ticks
        ax.set_ylim(0, max(attempted + [1]) * 1.15)
        ax.set_ylabel("theorems")
        ax.set_title(f"{data.targets} proved per repository ({data.env})")
        ax.legend()
        fig.tight_layout()
        out.append(folder / "proved.png")
        fig.savefig(out[-1], dpi=100)
        plt.close(fig)
    return out


def versions() -> dict[str, str]:
    """The versions a report's figures came from."""
    import platform

    import torch

    import leanagent

    return {"leanagent": leanagent.__version__, "torch": torch.__version__, "python": platform.python_version()}


def training_notes(stats: dict[str, dict], seed: int, versions: dict[str, str]) -> list[str]:
    """What the figures depend on: the seed, the optimizer steps of each stage, the versions, and every
    stage that the optional wall-clock cap cut short (its figures then depend on the machine) (pure)."""
    steps = ", ".join(f"{k} {v.get('steps')}" for k, v in stats.items() if v)
    cut = [k for k, v in stats.items() if v.get("stopped_by_time")]
    out = [f"Seed {seed}; optimizer steps per stage: {steps or 'none recorded'}; "
           + ", ".join(f"{k} {v}" for k, v in versions.items()) + ". Budgets count steps, so the same seed on "
           "the same data gives the same figures."]
    if cut:
        out.append("The wall-clock cap (train.max_minutes) cut these stages short, so their figures depend on the "
                   "machine's speed: " + ", ".join(f"{k} ({stats[k]['steps']} of {stats[k].get('planned_steps')} "
                                                   "steps)" for k in cut) + ".")
    return out


def _sequence_panels(plt, repos: list[str], rows: list, grid: list[list[float]], title: str, ylabel: str):
    """One small panel per evaluated repository (small multiples): the metric after each training step.

    One axis with a line per repository hid lines behind each other whenever values were equal (all at 0,
    say); separate panels with a shared scale never overlap."""
    m = len(repos)
    cols = min(m, 4)
    nrows = -(-m // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(2.6 * cols + 0.6, 2.2 * nrows + 0.9), sharey=True,
                             squeeze=False)
    xs = list(range(len(rows)))
    ticks = ["start" if r == "(start)" else str(i + (0 if rows[0][0] == "(start)" else 1))
             for i, (r, _) in enumerate(rows)]
    for j, repo in enumerate(repos):
        ax = axes[j // cols][j % cols]
        pts = [(x, grid[x][j]) for x in xs if grid[x][j] == grid[x][j]]  # NaN: not evaluated
        if pts:
            ax.plot(*zip(*pts), marker="o", markersize=4, color="#2a7")
        own = j + (1 if rows[0][0] == "(start)" else 0)  # the step that trained on this repository
        if own < len(rows):
            ax.axvline(own, color="#999999", linestyle=":", linewidth=1)
        ax.set_title(repo, fontsize=9)
        ax.set_ylim(-3, 103)  # percentages: a flat line at 0 stays a line at the bottom
        ax.set_xticks(xs, ticks, fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    for j in range(m, nrows * cols):
        axes[j // cols][j % cols].axis("off")
    for r in range(nrows):
        axes[r][0].set_ylabel(ylabel, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.supxlabel("after training on repository # (curriculum order; start: before any training; dotted: the panel's own repository)", fontsize=8)
    fig.tight_layout()
    return fig
