"""Worker scaling: 2 single-thread prover workers vs 1, on the sample's test split (same run), for each pool.

Every run proves the same held-out test theorems in REPLAY mode with the same
proposer and budget; each worker has one torch thread. Pools
(`leanagent.prover.forkpool`): `ray`, Ray actors of one CPU each (the baseline),
and `fork`, workers forked from one host process that loaded the proposer and
the replay index once. Worker start-up is timed separately: the target
compares proving time. TheoremRef: 2 workers >= 1.6x faster than 1; the fork pool
proves as fast as Ray.

    python bench/bench_ray_scale.py [--proposer knn] [--tactics 64] [--expansions 50] [--pools ray,fork]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--proposer", default="knn")
    ap.add_argument("--knn-encoder", default="minilm")
    ap.add_argument("--tactics", type=int, default=64)
    ap.add_argument("--expansions", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=1, help="prove the test split this many times per run")
    ap.add_argument("--pools", default="ray,fork", help="worker pools to measure, comma-separated")
    args = ap.parse_args()

    import ray

    from leanagent.db.engine import open_db
    from leanagent.db.ingest import store_repo
    from leanagent.db.proofs import select_theorems
    from leanagent.generator.options import ProposerOptions
    from leanagent.prover.proposers import load_proposer
    from leanagent.data import TheoremRef
    from leanagent.prover.search import SearchConfig
    from leanagent.prover.pool import prove_theorems
    from leanagent.prover.workers import WorkerSpec
    from leanagent.settings import sample_path
    from leanagent.sources.leandojo_format import read_dataset

    sample = sample_path()
    if not (sample / "random" / "val.json").is_file():
        print(f"skipped: no shared sample at {sample} (set LEANAGENT_SAMPLE)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        db = open_db(url)
        store_repo(db, read_dataset(sample))
        rows = select_theorems(db, "test", with_steps=True)
        refs = [TheoremRef.of(r) for r in rows] * args.repeat
        opts = ProposerOptions(proposer=args.proposer, knn_encoder=args.knn_encoder, source_split="train")
        load_proposer(opts, db)  # fills the kNN embedding cache once, so workers start alike
        spec = WorkerSpec(env="replay", db_url=url, proposer=opts, threads=1,
                          search=SearchConfig(num_sampled_tactics=args.tactics, max_expansions=args.expansions))
        pools = args.pools.split(",")
        if "ray" in pools:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}})
        times = {}
        for pool in pools:
            for n in (1, 2):
                proved = []
                stats = prove_theorems(spec, refs, lambda r: proved.append(r.outcome == "proved"), workers=n,
                                       pool=pool)
                times[pool, n] = stats["prove_seconds"]
                print(f"{pool}, {n} worker(s): {len(refs)} theorems (REPLAY), proved {sum(proved)}, "
                      f"proving {stats['prove_seconds']:.2f}s, start-up {stats['startup_seconds']:.2f}s", flush=True)
            speedup = times[pool, 1] / times[pool, 2]
            print(f"{pool}: speed-up 2 vs 1 worker: {speedup:.2f}x (target >= 1.6x: "
                  f"{'PASS' if speedup >= 1.6 else 'FAIL'})", flush=True)
        if "ray" in pools:
            ray.shutdown()
    if "ray" in pools and "fork" in pools:
        print(f"fork vs ray, proving time with 2 workers: {times['fork', 2] / times['ray', 2]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
