"""Prover quality on an evaluation-only set, in REPLAY mode, at a fixed budget.

Honest by construction: the shared sample is imported as two repositories cut
from it by file, with nothing in common:
  sample   every area except the held-out globs (hash split), the only data
           any model or proposer learns from or reads;
  heldout  the held-out areas (default: Order, Logic, SetTheory, Init),
           imported with `--split test`: evaluation-only, so it never feeds
           training, kNN, frequency or templates.
The targets are heldout's theorems with recorded steps. Replay judges them
(see leanagent/prover/replay.py for exactly what it accepts): a tactic counts
when it is the target's recorded one at that state, or another theorem's
recorded one that would be legal there. No proposer ever sees a target's own
steps. Side by side, proved / attempted for:
  model         the ByT5 generator alone, trained here on `sample` (BM25 premises)
  knn           kNN over sample's recorded states (MiniLM), templates filled by BM25
  knn-noret     kNN without retrieval
  merged        model + kNN (the default proposer)
  merged-noret  merged with retrieval off everywhere
  frequency     the 64 most frequent sample tactics at every node (baseline)
TheoremRef: merged beats frequency.

    python bench/bench_prover_quality.py [--train-minutes 3] [--limit N] [--expansions 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from leanagent.generator.options import ProposerOptions

HELDOUT = ["Mathlib/Order/**", "Mathlib/Logic/**", "Mathlib/SetTheory/**", "Mathlib/Init/**"]


def run_proposer(gen, env, refs, config) -> dict:
    from leanagent.prover.search import BestFirstSearch

    search = BestFirstSearch(gen, env, config=config)
    t0 = time.perf_counter()
    proved, exp, tm = 0, 0, 0.0
    for ref in refs:
        res = search.search(ref)
        proved += res.outcome == "proved"
        exp += res.expansions
        tm += res.time_model
    return {"proved": proved, "n": len(refs), "expansions": exp, "seconds": time.perf_counter() - t0,
            "model_seconds": tm}


def train_model(db, repo: str, out: Path, minutes: float, retrieval: str, args) -> str:
    from leanagent.generator.options import GeneratorOptions
    from leanagent.training.evaluation import stage_evaluator
    from leanagent.training.generator import train_generator
    from leanagent.training.loop import TrainOptions

    opts = GeneratorOptions(d_model=args.d_model, num_layers=args.layers, num_heads=4, d_ff=4 * args.d_model,
                            max_input_bytes=args.max_input_bytes, max_output_bytes=args.max_output_bytes,
                            num_premises=args.num_premises if retrieval != "none" else 0)
    train = TrainOptions(epochs=1000, batch_size=16, lr=1e-3, warmup_steps=20, max_minutes=minutes)
    result = train_generator(db, [repo], opts, train, out, retrieval=retrieval,
                             evaluate=stage_evaluator(db, [repo], model="generator", limit=50, k=10))
    stage = result["by_repo"][repo]
    print(f"  trained ({retrieval}): {stage['stats'].get('steps')} steps in {stage['stats'].get('seconds')}s; "
          f"{repo} test tactic accuracy {stage['metrics']['per_repo'][repo]}", flush=True)
    return stage["folder"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heldout", action="append", default=None, metavar="GLOB",
                    help=f"file globs of the evaluation-only set (repeatable; default: {' '.join(HELDOUT)})")
    ap.add_argument("--tactics", type=int, default=64)
    ap.add_argument("--expansions", type=int, default=50)
    ap.add_argument("--limit", type=int, default=None, help="at most this many held-out theorems")
    ap.add_argument("--train-minutes", type=float, default=3.0, help="training time per model")
    ap.add_argument("--knn-encoder", default="minilm")
    ap.add_argument("--knn-neighbours", type=int, default=ProposerOptions.knn_neighbours)
    ap.add_argument("--knn-weight", type=float, default=0.5)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--max-input-bytes", type=int, default=512)
    ap.add_argument("--max-output-bytes", type=int, default=64)
    ap.add_argument("--num-premises", type=int, default=5)
    ap.add_argument("--skip", action="append", default=[],
                    help="skip a row (model, knn, knn-noret, merged, merged-noret, frequency)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids OpenMP spinning on a busy host)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)

    from leanagent.db.engine import open_db
    from leanagent.db.ingest import store_repo
    from leanagent.db.proofs import select_theorems
    from leanagent.generator.build import build_knn, build_model_generator
    from leanagent.generator.frequency import FrequencyProposer
    from leanagent.generator.merged import MergedProposer
    from leanagent.data import TheoremRef
    from leanagent.prover.proposers import proposer_data
    from leanagent.prover.replay import ReplayEnv, ReplayIndex
    from leanagent.prover.search import SearchConfig
    from leanagent.settings import sample_path
    from leanagent.sources.leandojo_format import read_dataset

    sample = sample_path()
    if not (sample / "random" / "val.json").is_file():
        print(f"skipped: no shared sample at {sample} (set LEANAGENT_SAMPLE)")
        return 0
    heldout = args.heldout or HELDOUT
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        store_repo(db, read_dataset(sample, name="sample", exclude=heldout))
        store_repo(db, read_dataset(sample, name="heldout", include=heldout, split="test"))
        rows = [r for r in select_theorems(db, "all", "heldout", with_steps=True) if r.status != "sorry"]
        rows = rows[:args.limit]
        refs = [TheoremRef.of(r) for r in rows]
        env = ReplayEnv(ReplayIndex.from_db(db))
        config = SearchConfig(num_sampled_tactics=args.tactics, max_expansions=args.expansions, timeout=3600)
        # Every split of `sample`, never `heldout` (evaluation-only repositories never feed proposers).
        base = ProposerOptions(source_split="all", source_repos="sample", knn_encoder=args.knn_encoder,
                               knn_neighbours=args.knn_neighbours, knn_weight=args.knn_weight)
        data = proposer_data(base, db)
        print(f"REPLAY evaluation on an evaluation-only set: {len(refs)} theorems of {', '.join(heldout)} "
              f"with recorded steps; proposers read {len(data.steps)} recorded steps of `sample` only; "
              f"budget {args.tactics} tactics x {args.expansions} expansions", flush=True)
        rows_out: dict[str, dict] = {}
        need_model = {"model", "merged", "merged-noret"} - set(args.skip)
        ckpt = ckpt_noret = None
        if need_model:
            ckpt = train_model(db, "sample", Path(tmp) / "gen", args.train_minutes, "bm25", args)
            if "merged-noret" not in args.skip:
                ckpt_noret = train_model(db, "sample", Path(tmp) / "gen-noret", args.train_minutes, "none", args)
        knn = build_knn(base, data) if {"knn", "merged"} - set(args.skip) else None
        knn_noret = build_knn(replace(base, retrieval="none"), data) if {"knn-noret", "merged-noret"} - set(
            args.skip) else None
        w = [1.0 - args.knn_weight, args.knn_weight]
        variants = {
            "model": lambda: build_model_generator(replace(base, checkpoint=ckpt), data),
            "knn": lambda: knn,
            "knn-noret": lambda: knn_noret,
            "merged": lambda: MergedProposer([build_model_generator(replace(base, checkpoint=ckpt), data), knn], w),
            "merged-noret": lambda: MergedProposer([build_model_generator(
                replace(base, checkpoint=ckpt_noret, retrieval="none", num_premises=0), data), knn_noret], w),
            "frequency": lambda: FrequencyProposer(data.steps, 64),
        }
        for name, make in variants.items():
            if name in args.skip:
                continue
            rows_out[name] = r = run_proposer(make(), env, refs, config)
            print(f"  {name:<13} proved {r['proved']:>3}/{r['n']} = {100 * r['proved'] / max(r['n'], 1):5.1f}%  "
                  f"({r['expansions']} expansions, {r['seconds']:.0f}s)", flush=True)
        from leanagent.prover.baselines import oracle_proves, tactic_owners

        owners = tactic_owners(env.index)
        rows_out["one-step own"] = {"proved": sum(r.num_steps == 1 for r in rows), "n": len(rows)}
        rows_out["oracle ceiling"] = {"proved": sum(oracle_proves(env.index, ref, owners) for ref in refs),
                                      "n": len(refs)}
        print("\nREPLAY results on the evaluation-only set (proved / attempted), beside the theorems with a "
              "one-step proof of their own and the oracle ceiling (any tactic `sample` recorded, tried everywhere):")
        print(f"{'proposer':<14} {'proved':>7} {'attempted':>10} {'fraction':>9}")
        for name, r in rows_out.items():
            print(f"{name:<14} {r['proved']:>7} {r['n']:>10} {r['proved'] / max(r['n'], 1):>9.3f}")
        if "merged" in rows_out and "frequency" in rows_out:
            m, f = rows_out["merged"]["proved"], rows_out["frequency"]["proved"]
            ratio = m / f if f else float("inf")
            print(f"merged vs frequency baseline: {m} vs {f} ({ratio:.2f}x) -> {'PASS' if m > f else 'FAIL'}")
        if "merged" in rows_out and "merged-noret" in rows_out:
            print(f"retrieval: merged {rows_out['merged']['proved']} vs merged without retrieval "
                  f"{rows_out['merged-noret']['proved']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
