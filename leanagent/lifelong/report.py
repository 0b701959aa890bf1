"""The run report: `summary.md`, `metrics.json` and PNG plots, written into one folder.

The report is rebuilt from what the database holds (matrices, proofs), so a
resumed run writes the same report as an uninterrupted one, up to timings.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leanagent.lifelong.metrics import summarize


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

    def metrics(self) -> dict[str, Any]:
        return {name: summarize(R, self.baselines.get(name)) for name, R in self.matrices.items()}


def _fmt(x: float | None, pct: bool = True) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.1f}" if pct else f"{x:.3f}"


def atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_report(data: ReportData, folder: str | Path) -> Path:
    """Write the report; returns the path of summary.md."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    metrics = data.metrics()
    payload = {"title": data.title, "env": data.env, "repositories": data.repos, "matrices": data.matrices,
               "baselines": data.baselines, "lifelong": metrics, "proved": data.proved, **data.extra}
    atomic_write(folder / "metrics.json", json.dumps(payload, indent=2, default=str) + "\n")
    plots = _plots(data, folder)
    lines = [f"# {data.title}", ""]
    lines += [f"Proofs were checked by **{data.env}**"
              + (" (recorded traces, not Lean)." if data.env == "replay" else "."), ""]
    lines += ["## Curriculum", "", "| # | repository | proved / attempted |", "| --- | --- | --- |"]
    for i, repo in enumerate(data.repos):
        p = data.proved.get(repo, {})
        lines.append(f"| {i + 1} | {repo} | {p.get('proved', 0)} / {p.get('attempted', 0)} |")
    for name, R in data.matrices.items():
        lines += ["", f"## {name} matrix (row: after training on, column: evaluated on; percent)", ""]
        lines.append("| after \\ on | " + " | ".join(data.repos) + " |")
        lines.append("| --- " * (len(data.repos) + 1) + "|")
        if name in data.baselines:
            lines.append("| (start) | " + " | ".join(_fmt(x) for x in data.baselines[name]) + " |")
        for i, row in enumerate(R):
            lines.append(f"| {data.repos[i]} | " + " | ".join(_fmt(x) for x in row) + " |")
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

    out: list[Path] = []
    n = len(data.repos)
    for name, R in data.matrices.items():
        if not n:
            break
        grid = [[float("nan") if x is None else x for x in row] for row in R]
        fig, ax = plt.subplots(figsize=(1.2 * n + 3, 1.0 * n + 2))
        im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=max(100.0, *[x for r in grid for x in r if x == x]))
        ax.set_xticks(range(n), data.repos, rotation=45, ha="right")
        ax.set_yticks(range(n), data.repos)
        ax.set_xlabel("evaluated on")
        ax.set_ylabel("after training on")
        for i in range(n):
            for j in range(n):
                if grid[i][j] == grid[i][j]:
                    ax.text(j, i, f"{grid[i][j]:.0f}", ha="center", va="center", color="w", fontsize=8)
        fig.colorbar(im, ax=ax)
        ax.set_title(f"{name} matrix")
        fig.tight_layout()
        safe = name.replace("@", "at").replace("/", "_")
        out.append(folder / f"heatmap_{safe}.png")
        fig.savefig(out[-1], dpi=100)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(7, 4))
        for j, repo in enumerate(data.repos):
            xs = [i for i in range(j, n) if grid[i][j] == grid[i][j]]
            ax.plot(xs, [grid[i][j] for i in xs], marker="o", label=repo)
        ax.set_xticks(range(n), [f"{i + 1}" for i in range(n)])
        ax.set_xlabel("after training on repository #")
        ax.set_ylabel(name)
        ax.set_title(f"{name} per repository over the sequence")
        ax.legend(fontsize=7)
        fig.tight_layout()
        out.append(folder / f"sequence_{safe}.png")
        fig.savefig(out[-1], dpi=100)
        plt.close(fig)
    if n:
        fig, ax = plt.subplots(figsize=(7, 4))
        proved = [data.proved.get(r, {}).get("proved", 0) for r in data.repos]
        attempted = [data.proved.get(r, {}).get("attempted", 0) for r in data.repos]
        ax.bar(range(n), attempted, color="#cccccc", label="attempted")
        ax.bar(range(n), proved, color="#2a7", label="proved")
        ax.set_xticks(range(n), data.repos, rotation=45, ha="right")
        ax.set_title(f"theorems proved per repository ({data.env})")
        ax.legend()
        fig.tight_layout()
        out.append(folder / "proved.png")
        fig.savefig(out[-1], dpi=100)
        plt.close(fig)
    return out
