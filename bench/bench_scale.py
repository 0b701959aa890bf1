"""Scale: shared read-only proposer indexes, and the cost of one `learn` stage as repositories accumulate.

Synthetic repositories are renamed copies of the shared real sample (as in
bench/bench_db.py), written to a temporary folder: copy i prefixes every file
path, theorem name and premise (name and defining file) with `C<i>`, and every
recorded state with `c<i>`, so that no two copies share a premise, a file or a
state text (nothing is deduplicated away). Everything runs on the CPU.

Part A, proving workers (targets at 50 repositories / 100k theorems):
  - build: the driver's one-off build of the shared folder (`prepare_shared`: the
    recorded steps, MiniLM embeddings of every train state, the flat kNN state index,
    premise tables, accessibility arrays, BM25), timed (target <= 5 min);
  - one worker: a separate process that builds a `ProverWorker` over the folder
    (LeanInteract backend, which starts no Lean until a theorem is proved) and
    proposes tactics for 16 states; its peak RSS (target <= 2 GB);
  - 4 workers at once vs 1: the sum of their PSS (shared pages counted once) over
    one worker's PSS (target <= 1.5x); and one worker with 4 concurrent searches
    (`--searches-per-worker 4`: threads sharing one batching proposer) vs 1. The baseline is the same with workers that
    read the database themselves (`--baseline`: the way before the shared folder).

Part B, stage cost (target: < 1.3x from 10 to 40 repositories): for R in
--stage-repos, a database of R repositories of the same size; stages 0..R-2 are
already finished (their checkpoint folders exist, their examples are in the
example cache, as after a real run), then the time of one `train_generator` call
over all R repositories is measured: it skips the R-1 finished stages and trains
only the last one for --steps optimizer steps. "stage seconds" is that whole call
(building the BM25 retriever over the corpus, the examples of every seen
repository -- R-1 from the cache, 1 built --, the replay pool, the --steps
training steps, writing the checkpoint); "fit" is the training part alone. The
same call with the example cache switched off (every repository re-augmented, as
before) is the baseline.

    python bench/bench_scale.py --quick
    python bench/bench_scale.py --repos 50 --theorems 100000 --stage-repos 10,20,40
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = r"""
import json, os, sys, time
import psutil
import torch
torch.set_num_threads(1)
from leanagent.data import TheoremRef
from leanagent.generator.options import ProposerOptions
from leanagent.prover.workers import ProverWorker, WorkerSpec
args = json.loads(sys.argv[1])
spec = WorkerSpec(env="leaninteract", db_url=args["db"], device="cpu", threads=1,
                  proposer=ProposerOptions(**args["options"]), shared=args["shared"],
                  searches=args.get("searches", 1))
t0 = time.perf_counter()
worker = ProverWorker(spec)
start = time.perf_counter() - t0
states = args["states"]
t0 = time.perf_counter()
k = worker.searches
if k == 1:
    out = worker.generator.generate(states, 8, [TheoremRef.none()] * len(states))
else:  # k searches at once: k threads call the shared (batching) proposer together
    import threading
    parts = [states[i::k] for i in range(k)]
    outs = [None] * k
    def go(i):
        outs[i] = worker.generator.generate(parts[i], 8, [TheoremRef.none()] * len(parts[i]))
    threads = [threading.Thread(target=go, args=(i,)) for i in range(k)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    out = [row for o in outs for row in o]
gen = time.perf_counter() - t0
info = psutil.Process().memory_full_info()
# The peak of this process's own memory (VmHWM). Not ru_maxrss: Linux carries it over fork and exec, so a
# child started by a driver holding 10 GB would report 10 GB.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024
print(json.dumps({"peak_rss_mb": peak,
                  "rss_mb": info.rss / 2**20, "pss_mb": info.pss / 2**20, "uss_mb": info.uss / 2**20,
                  "startup_s": start, "generate_s": gen, "proposed": sum(map(len, out)),
                  "modules": sorted(m for m in sys.modules if not m.startswith("__"))}), flush=True)
sys.stdin.readline()  # stay alive until the driver has measured every worker at once
"""


def make_copies(sample: Path, work: Path, copies: int, per_repo: int, first: int = 0) -> list[Path]:
    """Renamed copies `first`..`copies - 1` of the sample (its first `per_repo` theorems each), as dataset
    folders."""
    theorems = json.loads((sample / "random" / "val.json").read_text())[:per_repo]
    meta = (sample / "metadata.json").read_text()
    out = []
    for i in range(first, copies):
        tag = f"C{i}"

        def prem(p):
            return {**p, "full_name": f"{tag}.{p['full_name']}", "def_path": f"{tag}/{p['def_path']}"}

        thms = []
        for t in theorems:
            tactics = []
            for tac in t.get("traced_tactics") or []:
                ann = tac.get("annotated_tactic")
                if isinstance(ann, list) and len(ann) == 2:
                    ann = [ann[0], [prem(p) for p in ann[1]]]
                tactics.append({**tac, "annotated_tactic": ann, "state_before": f"c{i} {tac['state_before']}",
                                "state_after": tac["state_after"] if tac["state_after"] == "no goals"
                                else f"c{i} {tac['state_after']}"})
            thms.append({**t, "file_path": f"{tag}/{t['file_path']}", "full_name": f"{tag}.{t['full_name']}",
                         "traced_tactics": tactics})
        folder = work / "copies" / f"copy-{i:02d}"
        (folder / "random").mkdir(parents=True, exist_ok=True)
        (folder / "random" / "val.json").write_text(json.dumps(thms))
        (folder / "metadata.json").write_text(meta)
        out.append(folder)
    return out


def make_db(url: str, folders: list[Path], first: int = 0) -> list[str]:
    from leanagent.db.engine import open_db
    from leanagent.db.ingest import store_repo
    from leanagent.sources.leandojo_format import read_dataset

    db = open_db(url)
    names = []
    for i, folder in enumerate(folders):
        names.append(f"repo-{first + i:02d}")
        store_repo(db, read_dataset(folder, name=names[-1]))
    db.dispose()
    return names


FLOOR = r"""
import importlib, json, sys
for name in json.loads(sys.argv[1])["modules"]:  # every module a worker had imported; nothing built or loaded
    try:
        importlib.import_module(name)
    except Exception:
        pass
print("{}", flush=True)
sys.stdin.readline()
"""


def run_workers(n: int, args: dict, code: str = WORKER) -> list[dict]:
    """Start n worker processes at once; each reports after building and proposing; then all stop."""
    procs = [subprocess.Popen([sys.executable, "-c", code, json.dumps(args)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(n)]
    reports = [json.loads(p.stdout.readline()) for p in procs]
    # Measured again while all n are alive: PSS divides the shared pages between them.
    import psutil

    for r, p in zip(reports, procs):
        info = psutil.Process(p.pid).memory_full_info()
        r["pss_all_mb"], r["uss_all_mb"] = info.pss / 2**20, info.uss / 2**20
    for p in procs:
        p.stdin.write("\n")
        p.stdin.flush()
        p.wait()
    return reports


def part_a(a, work: Path, copies: list[Path]) -> None:
    from leanagent.db.engine import open_db
    from leanagent.db.training_data import step_examples
    from leanagent.generator.options import ProposerOptions
    from leanagent.prover.proposers import prepare_shared

    url = f"sqlite:///{work / 'a.sqlite'}"
    t0 = time.perf_counter()
    names = make_db(url, copies)
    print(f"imported {len(names)} repositories in {time.perf_counter() - t0:.1f}s", flush=True)
    options = ProposerOptions(proposer="knn", retrieval="bm25", knn_encoder=a.encoder, source_split="train")
    db = open_db(url, create=False)
    t0 = time.perf_counter()
    resolved, folder = prepare_shared(options, db, device="cpu")
    build = time.perf_counter() - t0
    meta = json.loads((Path(folder) / "meta.json").read_text())
    states = [e.state for e in step_examples(db, names[-1], "test")[:16]]
    db.dispose()
    size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / 2**20
    print(f"shared folder: {meta['steps']:,} steps, {meta['premises']:,} premises, {size:.0f} MB on disk")
    rate = meta["steps"] / build
    print(f"build (encoder {a.encoder}, CPU, {os.cpu_count()} cores): {build:.1f}s = {rate:.1f} steps/s"
          f"   (target <= 300 s at 100k theorems)")
    if a.theorems < 100_000:
        per_theorem = meta["steps"] / a.theorems
        est = 100_000 * per_theorem / rate
        print(f"  EXTRAPOLATION (not measured): at 100k theorems (~{100_000 * per_theorem:,.0f} train steps at "
              f"this run's {per_theorem:.2f} per theorem) the build would take ~{est / 60:.0f} min at this rate")
    wargs = {"db": url, "options": {**resolved.__dict__}, "shared": folder, "states": states}
    one = run_workers(1, wargs)[0]
    four = run_workers(4, wargs)
    print(f"one worker (shared folder): peak RSS {one['peak_rss_mb']:.0f} MB (target <= 2048), "
          f"PSS {one['pss_all_mb']:.0f} MB, start-up {one['startup_s']:.1f}s, 16 states proposed in "
          f"{one['generate_s']:.1f}s")
    total4 = sum(r["pss_all_mb"] for r in four)
    print(f"4 workers (shared folder): total PSS {total4:.0f} MB vs one {one['pss_all_mb']:.0f} MB: "
          f"{total4 / one['pss_all_mb']:.2f}x (target <= 1.5x); peak RSS each "
          f"{', '.join('%.0f' % r['peak_rss_mb'] for r in four)} MB")
    # The floor: bare processes that import every module a worker ended up importing (torch, transformers
    # and what from_pretrained pulls in, faiss, bm25s, lean_interact, leanagent) and load nothing. Their
    # private pages (the Python objects of the modules, the libraries' relocations) are per process whatever
    # the workers share, so n worker processes can never use less than n of these.
    f1 = run_workers(1, {"modules": one["modules"]}, FLOOR)[0]["pss_all_mb"]
    f4 = sum(r["pss_all_mb"] for r in run_workers(4, {"modules": one["modules"]}, FLOOR))
    print(f"  floor, bare processes importing the {len(one['modules'])} modules a worker imports: "
          f"1: PSS {f1:.0f} MB, 4: {f4:.0f} MB ({f4 / f1:.2f}x); the workers above the floor: one "
          f"{one['pss_all_mb'] - f1:.0f} MB, 4: {total4 - f4:.0f} MB ({(total4 - f4) / max(one['pss_all_mb'] - f1, 1e-9):.2f}x)")
    # The other way to prove 4 theorems at once: one worker process, 4 concurrent searches (threads with
    # their own environments) sharing one batching proposer (`--searches-per-worker 4`).
    threaded = run_workers(1, {**wargs, "searches": 4})[0]
    print(f"1 worker x 4 concurrent searches: PSS {threaded['pss_all_mb']:.0f} MB = "
          f"{threaded['pss_all_mb'] / one['pss_all_mb']:.2f}x one worker with one search; peak RSS "
          f"{threaded['peak_rss_mb']:.0f} MB, 16 states proposed in {threaded['generate_s']:.1f}s")
    fork_pool(url, names[-1], resolved, folder, a.fork_theorems)
    # Incremental: one more repository, then the shared folder again. The kNN state embeddings are
    # cached per text (leanagent.generator.embed_cache), so only the new repository's states are encoded.
    per = min(2000, -(-a.theorems // a.repos))  # as main() made the first copies
    extra = make_copies(Path(a.sample), work / "a-extra", a.repos + 1, per, first=a.repos)
    make_db(url, extra, first=a.repos)
    db = open_db(url, create=False)
    t0 = time.perf_counter()
    _, folder2 = prepare_shared(options, db, device="cpu")
    again = time.perf_counter() - t0
    meta2 = json.loads((Path(folder2) / "meta.json").read_text())
    db.dispose()
    print(f"rebuild after adding repository {a.repos + 1} ({meta2['steps'] - meta['steps']:,} new steps of "
          f"{meta2['steps']:,}): {again:.1f}s vs {build:.1f}s for the first build = {again / build:.2f}x")
    if a.baseline:
        base_args = {**wargs, "shared": None}
        b1 = run_workers(1, base_args)[0]
        b4 = run_workers(4, base_args)
        btot = sum(r["pss_all_mb"] for r in b4)
        print(f"baseline (each worker reads the database; kNN embeddings from the warm cache): one worker peak RSS "
              f"{b1['peak_rss_mb']:.0f} MB, PSS {b1['pss_all_mb']:.0f} MB, start-up {b1['startup_s']:.1f}s; "
              f"4 workers total PSS {btot:.0f} MB = {btot / b1['pss_all_mb']:.2f}x one")
        print(f"ratio shared vs baseline: one worker peak RSS {one['peak_rss_mb'] / b1['peak_rss_mb']:.2f}x, "
              f"4 workers total PSS {total4 / btot:.2f}x")


def fork_pool(url: str, repo: str, options, folder: str, count: int) -> None:
    """The forking pool (`--pool fork`, the local CPU default), on the real proving path: `count` test
    theorems of `repo` proved in REPLAY by 1 and by 4 workers forked from one host, which loaded the kNN
    proposer (the shared folder) and the replay index once. Memory: the PSS of the host and its workers,
    summed, sampled after every result once each worker has had a theorem; the largest sample."""
    import psutil

    from leanagent.db.engine import open_db
    from leanagent.db.proofs import select_theorems
    from leanagent.data import TheoremRef
    from leanagent.prover.search import SearchConfig
    from leanagent.prover.pool import prove_theorems
    from leanagent.prover.workers import WorkerSpec

    db = open_db(url, create=False)
    rows = select_theorems(db, "test", repo=repo, with_steps=True)[:count]
    db.dispose()
    refs = [TheoremRef.of(r) for r in rows]
    spec = WorkerSpec(env="replay", db_url=url, proposer=options, shared=folder, device="cpu", threads=1,
                      search=SearchConfig(num_sampled_tactics=16, max_expansions=10))
    out = {}
    for n in (1, 4):
        seen, peak = [], [0.0]

        def on_result(res, n=n, seen=seen, peak=peak):
            seen.append(res.outcome)
            if len(seen) >= n:
                procs = [p for p in psutil.Process().children(recursive=True)
                         if "resource_tracker" not in " ".join(p.cmdline())]
                peak[0] = max(peak[0], sum(p.memory_full_info().pss for p in procs) / 2**20)

        stats = prove_theorems(spec, refs, on_result, workers=n, pool="fork")
        out[n] = peak[0]
        print(f"fork pool, {n} worker(s): {len(refs)} test theorems (REPLAY), proved {seen.count('proved')}, "
              f"start-up {stats['startup_seconds']:.1f}s, proving {stats['prove_seconds']:.1f}s; host + workers "
              f"PSS {peak[0]:.0f} MB", flush=True)
    print(f"fork pool: 4 workers {out[4]:.0f} MB vs 1 worker {out[1]:.0f} MB = {out[4] / out[1]:.2f}x "
          f"(target <= 1.5x)")


def part_b(a, work: Path, sample: Path) -> None:
    from leanagent.db.engine import open_db
    from leanagent.generator.model import GeneratorOptions, TacticModel
    from leanagent.training import example_cache
    from leanagent.training.generator import train_generator
    from leanagent.training.loop import DONE_MARKER, stage_folder
    from leanagent.training.options import TrainOptions

    sizes = [int(x) for x in a.stage_repos.split(",")]
    copies = make_copies(sample, work / "b", max(sizes), a.stage_theorems)
    options = GeneratorOptions(d_model=32, num_layers=1, num_heads=2, d_ff=64, num_premises=3,
                               max_input_bytes=512)
    train = TrainOptions(max_steps=a.steps, epochs=1000, batch_size=8, batch_tokens=0, replay_fraction=0.25,
                         progress_bar=False, max_minutes=None)
    template = work / "b" / "stage-template"
    TacticModel.create(options, seed=0).save(template)
    real_cached = example_cache.cached
    rows = {}
    for r in sizes:
        url = f"sqlite:///{work / 'b' / f'stage-{r}.sqlite'}"
        names = make_db(url, copies[:r])
        db = open_db(url, create=False)
        row = {}
        for mode, rep in [(m, i) for i in range(a.repeat) for m in ("cache", "baseline")]:
            out = work / "b" / f"run-{r}-{mode}-{rep}"
            for k, name in enumerate(names[:-1]):  # stages 0..R-2 finished, as after a real run
                folder = stage_folder(out, k, name)
                shutil.copytree(template, folder)
                (folder / DONE_MARKER).write_text("{}")
            if mode == "cache":
                example_cache.cached = real_cached
                from leanagent.generator.build import ProposerData  # noqa: F401  (import cost out of the timing)
                from leanagent.training.generator import generator_retriever

                retriever, texts = generator_retriever(db, "bm25", options)
                for name in names[:-1]:  # what the earlier stages left in the cache
                    example_cache.generator_examples(db, name, options, "bm25", retriever, texts)
            else:
                example_cache.cached = lambda kind, db_, repo, shape, build, *x, **y: build()
            t0 = time.perf_counter()
            res = train_generator(db, names, options, train, out, retrieval="bm25", device="cpu")
            seconds = time.perf_counter() - t0
            last = res["stages"][-1]
            got = {"seconds": seconds, "fit": last["stats"].get("seconds"), "steps": last["stats"].get("steps"),
                   "examples": last["examples"]}
            got["prep"] = seconds - (got["fit"] or 0.0)
            if mode not in row or got["seconds"] < row[mode]["seconds"]:
                row[mode] = got  # the fastest of --repeat runs: the machine is shared
        example_cache.cached = real_cached
        db.dispose()
        rows[r] = row
        c, b = row["cache"], row["baseline"]
        print(f"{r:3d} repositories: last stage {c['seconds']:6.1f}s (fit {c['fit']}s, {c['steps']} steps, "
              f"{c['examples']} new examples; the rest {c['prep']:.1f}s)   baseline without the example cache "
              f"{b['seconds']:6.1f}s (fit {b['fit']}s; the rest {b['prep']:.1f}s)", flush=True)
    lo, hi = min(sizes), max(sizes)
    for mode in ("cache", "baseline"):
        ratio = rows[hi][mode]["seconds"] / rows[lo][mode]["seconds"]
        prep = rows[hi][mode]["prep"] / max(rows[lo][mode]["prep"], 1e-9)
        note = " (target < 1.3x)" if mode == "cache" else ""
        print(f"growth {lo} -> {hi} repositories, {mode}: whole stage {ratio:.2f}x{note}; "
              f"outside the training steps {prep:.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repos", type=int, default=50, help="part A: synthetic repositories")
    ap.add_argument("--theorems", type=int, default=100_000, help="part A: theorems in all (per repo <= 2,000)")
    ap.add_argument("--encoder", default="minilm", help="part A: kNN state encoder")
    ap.add_argument("--baseline", action="store_true", help="part A: also workers that read the database")
    ap.add_argument("--fork-theorems", type=int, default=40, help="part A: theorems the fork pool proves")
    ap.add_argument("--stage-repos", default="10,20,40", help="part B: repository counts")
    ap.add_argument("--stage-theorems", type=int, default=100, help="part B: theorems per repository")
    ap.add_argument("--steps", type=int, default=20, help="part B: training steps of the last stage")
    ap.add_argument("--repeat", type=int, default=3, help="part B: runs per point (the fastest is kept)")
    ap.add_argument("--skip", choices=["a", "b"], action="append", default=[])
    ap.add_argument("--quick", action="store_true", help="a small run: 4 x 200 theorems; stages 4,8,16 x 60")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (databases, caches) and say where")
    ap.add_argument("--home", metavar="DIR", help="LEANAGENT_HOME for caches and shared folders (default: a "
                    "fresh one in the temporary folder). One a kept earlier run filled makes part A quick, "
                    "but its build figure then leaves out the embedding")
    a = ap.parse_args()
    if a.quick:
        a.repos, a.theorems, a.stage_repos, a.stage_theorems, a.steps = 4, 800, "4,8,16", 60, 10
    from leanagent.settings import sample_path

    sample = sample_path()
    if not (sample / "random" / "val.json").is_file():
        print(f"skipped: no shared sample at {sample} (set LEANAGENT_SAMPLE)")
        return 0
    import torch

    torch.set_num_threads(2)
    work = Path(tempfile.mkdtemp(prefix="leanagent-bench-scale-"))
    # Caches and shared folders: nothing of the user's.
    os.environ["LEANAGENT_HOME"] = a.home or str(work / "home")
    if a.home:
        print(f"caches from {a.home}: the build figure leaves out what they already hold (NOT a first build)")
    try:
        if "a" not in a.skip:
            per = min(2000, -(-a.theorems // a.repos))
            print(f"== A: {a.repos} repositories x {per} theorems = {a.repos * per:,} theorems", flush=True)
            a.sample = str(sample)
            part_a(a, work, make_copies(sample, work / "a", a.repos, per))
        if "b" not in a.skip:
            print(f"\n== B: last learn stage (generator), repositories of {a.stage_theorems} theorems, "
                  f"{a.steps} training steps", flush=True)
            part_b(a, work, sample)
    finally:
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
