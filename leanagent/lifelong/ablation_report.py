"""The comparison of `leanagent ablate`: one table per measure, a verdict per variant, a plot.

Every run's `learn` report holds the five lifelong metrics of each matrix
(`metrics.json` -> `lifelong`). Here they are gathered per variant (mean, and
the range over seeds), and each variant is judged against the default by a
pure rule (`verdict`): it is *better* only when its average accuracy is, for
every seed, above every seed of the default and its forgetting is no worse than the default's
worst seed, *worse* when its average accuracy is below every seed of the
default, and *within spread* otherwise, seed by seed. With one seed of the default the
spread is a single point, so the rule then reads as a plain comparison. A
`better` (or `worse`) that one repository decides (`deciding_repository`: leave
it out and the seeds no longer all beat the other side's) is demoted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from leanagent.files import atomic_write
from leanagent.lifelong.metrics import _mean

#: The lifelong metrics, in table order (leanagent.lifelong.metrics.summarize's keys).
METRICS = ("average_accuracy", "backward_transfer", "forward_transfer", "forgetting", "plasticity")
HEADERS = ("average accuracy", "backward transfer", "forward transfer", "forgetting", "plasticity")
#: The measures compared: matrix name in the learn report -> how the table names it.
MEASURES = {"R@10": "premise retrieval R@10 (test split, percent)",
            "replay_proved": "held-out theorems proved in replay (percent)",
            "tactic_acc": "tactic accuracy, exact match (test split, percent)"}


@dataclass(frozen=True)
class RunResult:
    variant: str
    seed: int
    metrics_path: Path


@dataclass(frozen=True)
class Stat:
    """One metric of one variant over its seeds."""

    mean: float | None
    low: float | None
    high: float | None
    n: int

    def text(self) -> str:
        if self.mean is None:
            return "–"
        if self.n > 1:
            return f"{self.mean:.1f} [{self.low:.1f}, {self.high:.1f}]"
        return f"{self.mean:.1f}"


def stat(values: Sequence[float | None]) -> Stat:
    """Mean and range of the defined values (pure)."""
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return Stat(None, None, None, 0)
    return Stat(sum(xs) / len(xs), min(xs), max(xs), len(xs))


def gather(runs: Sequence[dict]) -> dict[str, dict[str, dict[str, Stat]]]:
    """{variant: {measure: {metric: Stat}}} from [{"variant", "lifelong": {measure: {metric: value}}}] (pure)."""
    by_variant: dict[str, list[dict]] = {}
    for r in runs:
        by_variant.setdefault(r["variant"], []).append(r)
    out: dict[str, dict[str, dict[str, Stat]]] = {}
    for variant, rs in by_variant.items():
        out[variant] = {m: {k: stat([(r["lifelong"].get(m) or {}).get(k) for r in rs]) for k in METRICS}
                        for m in MEASURES}
    return out


def verdict(variant: dict[str, Stat], default: dict[str, Stat]) -> str:
    """`better` | `worse` | `within spread` | `n/a` of one measure's metrics against the default's (pure)."""
    aa, base = variant["average_accuracy"], default["average_accuracy"]
    if aa.mean is None or base.mean is None:
        return "n/a"
    forgets, base_forgets = variant["forgetting"], default["forgetting"]
    # Seed by seed: `better` only when every seed of the variant beats every seed of the default (issue 15:
    # "across both seeds"), and no seed of it forgets more than the default's worst; `worse` symmetrically.
    no_worse_forgetting = forgets.high is None or base_forgets.high is None or forgets.high <= base_forgets.high
    if aa.low > base.high and no_worse_forgetting:
        return "better"
    if aa.high < base.low:
        return "worse"
    return "within spread"


def final_rows(data: dict) -> dict[str, dict[str, float | None]]:
    """{measure: {repository: value after the last stage}} of one learn report (pure): the row that
    average accuracy is the mean of."""
    repos, out = data.get("repositories", []), {}
    for measure, matrix in (data.get("matrices") or {}).items():
        if matrix:
            out[measure] = dict(zip(repos, matrix[-1]))
    return out


def deciding_repository(variant_rows: Sequence[dict], default_rows: Sequence[dict]) -> str | None:
    """The repository without which the variant's seeds would no longer all beat the default's on average
    accuracy, or None (pure). Average accuracy is a plain mean over repositories, so one repository with a
    handful of test theorems can swing it by tens of points; a verdict that one repository decides is not
    a finding. Each row is one seed's final row ({repository: value})."""
    def without(row: dict, repo: str) -> float | None:  # average accuracy's own mean (None and NaN undefined)
        return _mean([v for r, v in row.items() if r != repo])

    repos = sorted({r for row in [*variant_rows, *default_rows] for r, v in row.items() if v is not None})
    for repo in repos:
        ours = [without(row, repo) for row in variant_rows]
        base = [without(row, repo) for row in default_rows]
        if None in ours or None in base or not ours or not base:
            continue
        if min(ours) <= max(base):
            return repo
    return None


def read_runs(results: Sequence[RunResult]) -> list[dict]:
    out = []
    for r in results:
        data = json.loads(Path(r.metrics_path).read_text())
        out.append({"variant": r.variant, "seed": r.seed, "lifelong": data.get("lifelong", {}),
                    "final": final_rows(data), "proved": data.get("proved", {}),
                    "report": str(Path(r.metrics_path).parent / "summary.md")})
    return out


def proved_beside(runs: Sequence[dict], variant: str) -> dict[str, Stat] | None:
    """Over a variant's seeds: theorems proved at each repository's own stage (summed over repositories),
    and beside them the same run's baselines (`leanagent.prover.baselines`): {column: Stat} (pure)."""
    per_seed = []
    for r in runs:
        if r["variant"] != variant:
            continue
        cells = list(r.get("proved", {}).values())
        if not cells or not all(c.get("baselines") for c in cells):
            return None  # a run without baselines (a report from before they existed)
        per_seed.append({"proved": sum(c.get("proved", 0) for c in cells),
                         "attempted": sum(c.get("attempted", 0) for c in cells),
                         **{k: sum(c["baselines"][k] for c in cells) for k in ("frequency", "one_step", "oracle")}})
    if not per_seed:
        return None
    return {k: stat([s[k] for s in per_seed]) for k in ("proved", "attempted", "frequency", "one_step", "oracle")}


def judge(runs: Sequence[dict], table: dict, variant: str, default: str, measure: str) -> str:
    """The verdict of `variant` on `measure`; `better` or `worse` demoted when a single repository decides it."""
    text = verdict(table[variant][measure], table[default][measure])
    if text in ("better", "worse"):
        # Runs without a final row (a report from before final rows were kept) cannot be checked.
        rows = {v: [row for r in runs if r["variant"] == v if (row := r.get("final", {}).get(measure))]
                for v in (variant, default)}
        winner, loser = (variant, default) if text == "better" else (default, variant)
        repo = deciding_repository(rows[winner], rows[loser])
        if repo is not None:
            return f"within spread without {repo}"
    return text


def write_ablation_report(results: Sequence[RunResult], folder: str | Path, *, default: str,
                          variants: dict[str, dict]) -> Path:
    """ablation.md, ablation.json and ablation.png in `folder`; returns the path of ablation.md."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    runs = read_runs(results)
    table = gather(runs)
    names = [v for v in variants if v in table]
    verdicts = {m: {v: (judge(runs, table, v, default, m) if default in table and v != default else "")
                    for v in names} for m in MEASURES}
    payload = {"default": default, "variants": variants, "runs": runs,
               "summary": {v: {m: {k: table[v][m][k].__dict__ for k in METRICS} for m in MEASURES} for v in names},
               "verdicts": verdicts}
    atomic_write(folder / "ablation.json", json.dumps(payload, indent=2, default=str) + "\n")
    lines = ["# leanagent ablate", "",
             f"{len(runs)} runs of `learn`, each from the same database snapshot in its own folder. Values are "
             f"the mean over a variant's seeds, with their range in brackets. The verdict compares a variant's "
             f"average accuracy (and forgetting) with the default `{default}`'s, seed by seed: `better` only when "
             f"every seed of the variant is above every seed of the default and none forgets more than the "
             f"default's worst seed; `worse` when every seed is below every seed of the default. A variant with "
             f"one seed has no spread of its own: its verdict is a lead, not a finding. Average accuracy is a plain "
             f"mean over repositories, so a `better` or `worse` that leaving out one repository undoes reads `within spread "
             f"without R`.", ""]
    for measure, label in MEASURES.items():
        if all(table[v][measure]["average_accuracy"].mean is None for v in names):
            continue
        lines += [f"## {label}", "", "| variant | seeds | " + " | ".join(HEADERS) + " | verdict |",
                  "| --- " * (len(HEADERS) + 3) + "|"]
        for v in names:
            stats = table[v][measure]
            seeds = sum(r["variant"] == v for r in runs)
            lines.append(f"| {v} | {seeds} | " + " | ".join(stats[k].text() for k in METRICS)
                         + f" | {verdicts[measure][v] or '(default)'} |")
        lines.append("")
    beside = {v: proved_beside(runs, v) for v in names}
    if any(beside.values()):
        lines += ["## Held-out theorems proved at each repository's own stage, beside the same runs' baselines "
                  "(replay; sums over repositories, mean [range] over seeds)", "",
                  "| variant | seeds | proved | attempted | frequency | one-step own proofs | oracle ceiling |",
                  "| --- " * 7 + "|"]
        for v in names:
            if beside[v]:
                b = beside[v]
                lines.append(f"| {v} | {b['proved'].n} | " + " | ".join(
                    b[k].text() for k in ("proved", "attempted", "frequency", "one_step", "oracle")) + " |")
        lines.append("")
    lines += ["## Variants", ""] + [f"- `{v}`: {json.dumps(variants[v], sort_keys=True) or '{}'}" for v in names]
    lines += ["", "## Runs", ""] + [f"- `{r['variant']}` seed {r['seed']}: {r['report']}" for r in runs]
    plot = _plot(table, names, default, folder)
    if plot is not None:
        lines += ["", f"![ablation]({plot.name})"]
    path = folder / "ablation.md"
    atomic_write(path, "\n".join(lines) + "\n")
    return path


def _plot(table: dict, names: list[str], default: str, folder: Path) -> Path | None:
    """Average accuracy and forgetting per variant, one row of panels per measure, seed range as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measures = [m for m in MEASURES if any(table[v][m]["average_accuracy"].mean is not None for v in names)]
    if not measures or not names:
        return None
    fig, axes = plt.subplots(len(measures), 2, figsize=(max(8.0, 1.1 * len(names) + 4), 3.2 * len(measures)),
                             squeeze=False)
    for row, m in enumerate(measures):
        for col, (key, title) in enumerate((("average_accuracy", "average accuracy"), ("forgetting", "forgetting"))):
            ax = axes[row][col]
            stats = [table[v][m][key] for v in names]
            means = [s.mean if s.mean is not None else 0.0 for s in stats]
            err = [[(s.mean - s.low) if s.mean is not None else 0.0 for s in stats],
                   [(s.high - s.mean) if s.mean is not None else 0.0 for s in stats]]
            colors = ["#555555" if v == default else "#2a7" for v in names]
            ax.bar(range(len(names)), means, yerr=err, color=colors, capsize=3)
            ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
            ax.set_title(f"{m}: {title} (percent)", fontsize=9)
            ax.axhline(0, color="black", linewidth=0.5)
            ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"leanagent ablate (grey: the default, {default}; bars: seed range)", fontsize=10)
    fig.tight_layout()
    path = folder / "ablation.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
