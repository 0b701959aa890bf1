"""Search overhead: how fast the best-first search itself is, and its share of a normal run.

1. Throughput (target >= 2,000 expansions/s on one core). A generator that
   returns precomputed tactics instantly and the replay environment over a
   synthetic record: random proof trees where, at every state, a few of the
   proposed tactics are recorded (new states) and the rest are errors. All
   time is search + replay look-ups. Baseline in the same run: the bare loop
   (generator call + replay look-ups, no tree, no heap, no policy), so the
   ratio shows what the tree and policy cost.
2. Share of a normal run (target < 5%): the real sample's held-out split in
   replay mode with the kNN proposer (MiniLM on CPU), or `--proposer merged
   --checkpoint DIR` for the default proposer with a trained generator.
   Prints time in model / replay / search.

    python bench/bench_search_overhead.py [--tactics 64] [--theorems 100] [--proposer knn]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

from leanagent.data import TheoremRef
from leanagent.prover.replay import ReplayEnv, ReplayIndex
from leanagent.prover.search import BestFirstSearch, SearchConfig


def synthetic_record(n_theorems: int, depth: int, branching: int, tactics: int, seed: int = 0):
    """(ReplayIndex, {state: [(tactic, logprob)]}) for random proof trees."""
    rng = random.Random(seed)
    steps, proposals = [], {}
    for t in range(n_theorems):
        frontier = [(f"t{t}:root ⊢ goal", 0)]
        idx = 0
        while frontier:
            state, d = frontier.pop()
            cands = [(f"tac_{rng.randrange(10**6)}", -0.05 * (i + 1) - rng.random()) for i in range(tactics)]
            good = rng.sample(range(tactics), min(branching, tactics))
            for j, i in enumerate(good):
                # Only the deepest path of the first child ends the proof; others dead-end.
                after = "no goals" if d + 1 >= depth and j == 0 else f"{state}/{i}"
                steps.append((t, idx, cands[i][0], state, after))
                idx += 1
                if after != "no goals" and d + 1 < depth:
                    frontier.append((after, d + 1))
            proposals[state] = cands
    return ReplayIndex.from_steps(steps), proposals


class InstantGenerator:
    name = "instant"

    def __init__(self, proposals):
        self.proposals = proposals

    def generate(self, states, num, targets=None):
        return [self.proposals.get(s, [])[:num] for s in states]


def throughput(args) -> None:
    torch.set_num_threads(1)
    index, proposals = synthetic_record(args.synthetic, depth=args.depth, branching=2, tactics=args.tactics)
    env, gen = ReplayEnv(index), InstantGenerator(proposals)
    refs = [TheoremRef(t, "synthetic", "S.lean", f"t{t}") for t in range(args.synthetic)]
    search = BestFirstSearch(gen, env, config=SearchConfig(num_sampled_tactics=args.tactics,
                                                           max_expansions=args.max_expansions))
    t0 = time.perf_counter()
    expansions = proved = 0
    for ref in refs:
        res = search.search(ref)
        expansions += res.expansions
        proved += res.outcome == "proved"
    t_search = time.perf_counter() - t0

    # Baseline: the same generator calls and replay look-ups in a bare breadth-first loop.
    t0 = time.perf_counter()
    bare = 0
    for ref in refs:
        queue = [env.start(ref)]
        while queue and bare < expansions:
            st = queue.pop()
            bare += 1
            for tac, _ in gen.generate([st.text], args.tactics)[0]:
                r = env.run_tac(st, tac)
                if r.state is not None and r.kind.value == "state":
                    queue.append(r.state)
    t_bare = time.perf_counter() - t0
    rate, bare_rate = expansions / t_search, bare / t_bare
    print(f"synthetic: {args.synthetic} theorems, {args.tactics} tactics/expansion, depth {args.depth}; "
          f"proved {proved}")
    print(f"search:   {expansions} expansions in {t_search:.2f}s = {rate:,.0f} expansions/s "
          f"({rate * args.tactics:,.0f} tactics/s)  target >= 2,000 expansions/s: "
          f"{'PASS' if rate >= 2000 else 'FAIL'}")
    print(f"baseline: bare loop (no tree/heap/policy) {bare_rate:,.0f} expansions/s; search/bare = {rate / bare_rate:.2f}x")


def normal_run(args) -> None:
    torch.set_num_threads(1)  # one core, as the target says; also avoids OpenMP spinning on a busy host
    from leanagent.db.engine import open_db
    from leanagent.db.ingest import store_repo
    from leanagent.db.proofs import select_theorems
    from leanagent.generator.options import ProposerOptions
    from leanagent.prover.proposers import load_proposer
    from leanagent.settings import sample_path
    from leanagent.sources.leandojo_format import read_dataset

    sample = sample_path()
    if not (sample / "random" / "val.json").is_file():
        print(f"normal run skipped: no shared sample at {sample} (set LEANAGENT_SAMPLE)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        store_repo(db, read_dataset(sample))
        rows = select_theorems(db, "test", with_steps=True)[:args.theorems]
        gen = load_proposer(ProposerOptions(proposer=args.proposer, source_split="train",
                                             checkpoint=args.checkpoint), db)
        env = ReplayEnv(ReplayIndex.from_db(db))
        search = BestFirstSearch(gen, env, config=SearchConfig(num_sampled_tactics=64, max_expansions=50))
        tm = tl = ts = 0.0
        proved = exp = 0
        for r in rows:
            res = search.search(TheoremRef.of(r))
            tm, tl, ts = tm + res.time_model, tl + res.time_lean, ts + res.time_search
            proved += res.outcome == "proved"
            exp += res.expansions
        total = tm + tl + ts
        frac = ts / total if total else 0.0
        print(f"normal run (replay, {gen.name}, 64 tactics x 50 expansions): {len(rows)} test theorems, "
              f"proved {proved}, {exp} expansions")
        print(f"  time: model {tm:.2f}s, replay {tl:.2f}s, search {ts:.2f}s; search overhead = {100 * frac:.2f}% "
              f"(target < 5%: {'PASS' if frac < 0.05 else 'FAIL'})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tactics", type=int, default=64, help="tactics per expansion in the throughput test")
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--synthetic", type=int, default=200, help="synthetic theorems")
    ap.add_argument("--max-expansions", type=int, default=100)
    ap.add_argument("--theorems", type=int, default=100, help="real test theorems in the normal run")
    ap.add_argument("--proposer", default="knn", help="proposer of the normal run (merged needs --checkpoint)")
    ap.add_argument("--checkpoint", help="generator checkpoint for --proposer merged/model")
    ap.add_argument("--skip-normal", action="store_true")
    args = ap.parse_args()
    throughput(args)
    if not args.skip_normal:
        normal_run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
