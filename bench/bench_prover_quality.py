"""Prover quality on the real sample's held-out split, in REPLAY mode, at a fixed budget.

Replay: tactics are checked against the recorded traces, not Lean (a tactic
counts only if it is exactly the recorded one after whitespace normalisation),
so these are lower bounds on what real Lean would accept.

Test theorems: the `random_split` test split of the shared sample, those with
recorded steps. Budget: `--tactics` per expansion (64) and `--expansions` (50)
per theorem. Side by side, the fraction of test theorems proved by:
  model      the ByT5 generator alone (trained here for --train-minutes on the
             train split with BM25 premises, or --checkpoint)
  knn        the kNN proposer alone (MiniLM state embeddings over train steps;
             neighbours' tactic templates filled with BM25-retrieved premises)
  knn-noret  kNN without retrieval (neighbours' tactics verbatim)
  merged     model + kNN mixture (the default proposer)
  merged-noret  merged with retrieval off everywhere: model trained and run
             without premises, kNN without template filling
  frequency  the 64 most frequent training tactics at every node (baseline)
Target: merged beats frequency.

    python bench/bench_prover_quality.py [--train-minutes 4] [--checkpoint DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from leanagent.generator.factory import ProposerOptions
from leanagent.prover.env import TheoremRef
from leanagent.prover.replay import ReplayEnv, ReplayIndex
from leanagent.prover.search import BestFirstSearch, SearchConfig


def run_proposer(gen, env, refs, config) -> dict:
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
    from leanagent.generator.model import GeneratorOptions
    from leanagent.generator.train import train_generator
    from leanagent.training.loop import TrainOptions

    opts = GeneratorOptions(d_model=args.d_model, num_layers=args.layers, num_heads=4, d_ff=4 * args.d_model,
                            max_input_bytes=args.max_input_bytes, max_output_bytes=args.max_output_bytes,
                            num_premises=args.num_premises if retrieval != "none" else 0)
    train = TrainOptions(epochs=1000, batch_size=16, lr=1e-3, warmup_steps=20, max_minutes=minutes)
    result = train_generator(db, [repo], opts, train, out, retrieval=retrieval, eval_limit=50)
    stage = result["stages"][-1]
    print(f"  trained ({retrieval}): {stage['stats'].get('steps')} steps in {stage['stats'].get('seconds')}s; "
          f"test tactic accuracy {stage['metrics']['per_repo'][repo]}", flush=True)
    return stage["folder"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tactics", type=int, default=64)
    ap.add_argument("--expansions", type=int, default=50)
    ap.add_argument("--limit", type=int, default=None, help="at most this many test theorems")
    ap.add_argument("--train-minutes", type=float, default=3.0, help="training time per model")
    ap.add_argument("--checkpoint", help="use this generator checkpoint instead of training (both model rows)")
    ap.add_argument("--knn-encoder", default="minilm")
    ap.add_argument("--knn-neighbours", type=int, default=ProposerOptions.knn_neighbours)
    ap.add_argument("--knn-weight", type=float, default=0.5)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--max-input-bytes", type=int, default=512)
    ap.add_argument("--max-output-bytes", type=int, default=64)
    ap.add_argument("--num-premises", type=int, default=5)
    ap.add_argument("--skip", action="append", default=[], help="skip a row (model, knn, knn-noret, merged, merged-noret, frequency)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids OpenMP spinning on a busy host)")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)

    from leanagent.db.engine import open_db
    from leanagent.db.ingest import store_repo
    from leanagent.db.proofs import select_theorems
    from leanagent.generator.factory import build_knn, build_model_generator, recorded_steps
    from leanagent.generator.frequency import FrequencyProposer
    from leanagent.generator.merged import MergedProposer
    from leanagent.settings import sample_path
    from leanagent.sources.leandojo_format import read_dataset

    sample = sample_path()
    if not (sample / "random" / "val.json").is_file():
        print(f"skipped: no shared sample at {sample} (set LEANAGENT_SAMPLE)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        repo = store_repo(db, read_dataset(sample)).repo
        rows = select_theorems(db, "test", with_steps=True)[:args.limit]
        refs = [TheoremRef(r.id, r.repo, r.file_path, r.full_name) for r in rows]
        env = ReplayEnv(ReplayIndex.from_db(db))
        config = SearchConfig(num_sampled_tactics=args.tactics, max_expansions=args.expansions, timeout=3600)
        base = ProposerOptions(source_split="train", knn_encoder=args.knn_encoder,
                               knn_neighbours=args.knn_neighbours, knn_weight=args.knn_weight)
        print(f"REPLAY evaluation: {len(refs)} held-out test theorems with recorded steps; "
              f"budget {args.tactics} tactics x {args.expansions} expansions", flush=True)
        rows_out: dict[str, dict] = {}
        need_model = {"model", "merged", "merged-noret"} - set(args.skip)
        ckpt = ckpt_noret = args.checkpoint
        if need_model and ckpt is None:
            ckpt = train_model(db, repo, Path(tmp) / "gen", args.train_minutes, "bm25", args)
            if "merged-noret" not in args.skip:
                ckpt_noret = train_model(db, repo, Path(tmp) / "gen-noret", args.train_minutes, "none", args)
        knn = build_knn(base, db) if {"knn", "merged"} - set(args.skip) else None
        knn_noret = build_knn(replace(base, retrieval="none"), db) if {"knn-noret", "merged-noret"} - set(
            args.skip) else None
        w = [1.0 - args.knn_weight, args.knn_weight]
        variants = {
            "model": lambda: build_model_generator(replace(base, checkpoint=ckpt), db),
            "knn": lambda: knn,
            "knn-noret": lambda: knn_noret,
            "merged": lambda: MergedProposer([build_model_generator(replace(base, checkpoint=ckpt), db), knn], w),
            "merged-noret": lambda: MergedProposer([build_model_generator(
                replace(base, checkpoint=ckpt_noret, retrieval="none", num_premises=0), db), knn_noret], w),
            "frequency": lambda: FrequencyProposer([s.tactic for s in recorded_steps(db, "train")], 64),
        }
        for name, make in variants.items():
            if name in args.skip:
                continue
            rows_out[name] = r = run_proposer(make(), env, refs, config)
            print(f"  {name:<13} proved {r['proved']:>3}/{r['n']} = {100 * r['proved'] / r['n']:5.1f}%  "
                  f"({r['expansions']} expansions, {r['seconds']:.0f}s)", flush=True)
        print("\nREPLAY results (fraction of held-out test theorems proved):")
        print(f"{'proposer':<14} {'proved':>7} {'fraction':>9}")
        for name, r in rows_out.items():
            print(f"{name:<14} {r['proved']:>7} {r['proved'] / r['n']:>9.3f}")
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
