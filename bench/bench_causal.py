"""SmolLM2-135M (the [smollm] extra) against the scratch ByT5 generator after the same short fine-tune.

Target (issue 14): on the shared real sample, `eval generator` reports tactic top-k accuracy (k=8) on the
test split for SmolLM2 after a fixed short fine-tune, beside the scratch ByT5 generator trained with the
same wall-clock budget (learn's CPU sizes and learning rate) and the kNN proposer. Both generators read the
proof state alone (no premises), as `learn` does on the CPU. One process per command, through the CLI:

    python bench/bench_causal.py [--minutes 5] [--limit 100] [--k 8] [--sample PATH] [--device auto]

Prints one table and a JSON line. On a CPU expect minutes per model: a SmolLM2 step of 8 examples takes
several seconds, so a few minutes are a few dozen steps; on a GPU raise --minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from leanagent.settings import sample_path

#: learn's CPU generator sizes (leanagent.lifelong.learn_options.cpu_defaults), so the ByT5 row is learn's model.
BYT5 = ["--d-model", "128", "--num-layers", "2", "--num-heads", "4", "--d-ff", "512", "--lr", "1e-3"]
SMOL = ["--model", "smollm2-135m", "--lr", "1e-4"]
COMMON = ["--max-input-bytes", "512", "--max-output-bytes", "96", "--num-premises", "0", "--batch-size", "8",
          "--batch-tokens", "0", "--warmup-steps", "10", "--epochs", "100", "--eval-limit", "1", "--eval-k", "1"]


def leanagent(*args: str) -> dict:
    """Run `python -m leanagent ARGS --json`; its last JSON line."""
    out = subprocess.run([sys.executable, "-m", "leanagent", *args, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"leanagent {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="training budget of each model (wall clock)")
    ap.add_argument("--limit", type=int, default=100, help="test steps evaluated")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--sample", type=Path, default=None, help="the traced sample (default: the shared one)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--work", type=Path, default=None, help="keep the database and checkpoints here")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-causal-"))
    db = f"sqlite:///{work / 'db.sqlite'}"
    leanagent("import", str(args.sample or sample_path()), "--db", db, "--name", "sample")
    dev = ["--device", args.device]
    rows = {}
    for name, extra in (("smollm2-135m", SMOL), ("scratch-byt5", BYT5)):
        res = leanagent("train", "generator", "--db", db, "--out", str(work / name), "--max-minutes",
                        str(args.minutes), *COMMON, *extra, *dev)
        (stage,) = res["stages"]
        rows[name] = {"folder": stage["folder"], "steps": stage["stats"].get("steps"),
                      "last_loss": stage["stats"].get("last_loss"), "examples": stage["examples"]}
    ev = leanagent("eval", "generator", "--db", db, "--proposer", "model", "--checkpoint",
                   rows["smollm2-135m"]["folder"], "--compare", rows["scratch-byt5"]["folder"], "--compare", "knn",
                   "--compare", "frequency", "--k", str(args.k), "--limit", str(args.limit), "--split", "test", *dev)
    results = [ev] + ev.get("compared", [])
    labels = ["smollm2-135m", "scratch-byt5", "knn", "frequency"]
    print(f"{'proposer':<14} {'train steps':>11} {'last loss':>9} {'exact':>7} {'top-' + str(args.k):>7} "
          f"{'test steps':>10}")
    for label, res in zip(labels, results):
        r = rows.get(label, {})
        loss = f"{r['last_loss']:.3f}" if r.get("last_loss") is not None else "-"
        print(f"{label:<14} {r.get('steps', '-')!s:>11} {loss:>9} {res['exact_match']:>7.1f} {res['top_k']:>7.1f} "
              f"{res['steps']:>10}")
    print(json.dumps({"minutes": args.minutes, "k": args.k, "train": rows,
                      "eval": {label: {k: res[k] for k in ("exact_match", "top_k", "steps", "proposer")}
                               for label, res in zip(labels, results)}}))


if __name__ == "__main__":
    main()
