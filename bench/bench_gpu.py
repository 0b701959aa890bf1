"""The models on the device: training, evaluation, indexing and proving speed, CPU and GPU in one run.

For the CPU and, when CUDA is present, the first GPU (the device policy's
`cpu` and `cuda`), on the real sample (or synthetic states without it):

1. generator training: examples/s and peak memory (GPU: torch's peak
   allocation; CPU: peak RSS of this process) through the real training path
   (`leanagent.training.loop.fit`: token-budgeted length buckets, DataLoader
   workers on a GPU, bf16-mixed there), at --max-input-bytes (1,536 as in the
   issue's target) and, on a GPU, once more at ReProver's 2,300 bytes for the
   memory target (<= 24 GB). Each run stops after --train-seconds.
2. generator evaluation: held-out steps/s of `tactic_accuracy` (beam search,
   top-10, BM25 premises as `train generator` uses them).
3. retriever indexing: premises/s of the dense encoder (MiniLM) building the
   premise index.
4. proving: expansions/s of best-first search in replay mode with the model
   proposer through `prove_theorems` (the same checkpoint on both devices; expand
   batch and concurrent searches per device: 8 and 8 on a GPU, 1 and 1 on the
   CPU, or --searches), and the GPU's utilisation while it runs (when NVML is
   available).

Targets (issue 12, one H100): training >= 300 examples/s for the 40M scratch
model (--d-model 512 --num-layers 6 --num-heads 8 --d-ff 2048, the default
here) at 1,536 input bytes; peak GPU memory <= 24 GB at 2,300 bytes; 100
held-out steps evaluated in <= 15 s; proving expansions/s >= 5x the CPU figure.

    python bench/bench_gpu.py [--train-seconds 60] [--eval-steps 100] [--cpu-eval-steps 10] [--devices cpu,cuda]
    python bench/bench_gpu.py --train-devices cuda --no-memory-check   # short: train once, on the GPU
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch


class PeakRss:
    """Peak resident memory of this process while the block runs (sampled every 50 ms)."""

    def __enter__(self):
        import psutil

        self.proc, self.peak, self.stop = psutil.Process(), 0, threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self.stop.wait(0.05)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


class GpuUtilisation:
    """Mean and max utilisation of GPU 0 while the block runs, from NVML (None when it is not installed)."""

    def __enter__(self):
        self.samples, self.stop = [], threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handle, self.nvml = pynvml.nvmlDeviceGetHandleByIndex(0), pynvml
        except Exception:  # noqa: BLE001 - NVML missing or unusable: report n/a
            self.handle = None
            return self
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def _watch(self):
        while not self.stop.is_set():
            self.samples.append(self.nvml.nvmlDeviceGetUtilizationRates(self.handle).gpu)
            self.stop.wait(0.1)

    def __exit__(self, *exc):
        self.stop.set()
        if self.handle is not None:
            self.thread.join()

    def text(self) -> str:
        if not self.samples:
            return "GPU utilisation n/a (pip install nvidia-ml-py)"
        return f"GPU utilisation mean {sum(self.samples) / len(self.samples):.0f}%, max {max(self.samples)}%"


def load_data(args):
    """(db, train RecordedSteps, held-out RecordedSteps, theorem rows to prove, source) from the sample."""
    from leanagent.db.engine import open_db
    from leanagent.db.ingest import store_repo
    from leanagent.db.proofs import select_theorems
    from leanagent.db.training_data import resolve_repos
    from leanagent.settings import sample_path
    from leanagent.sources.leandojo_format import read_dataset
    from leanagent.training.generator import examples_for

    sample = sample_path()
    if not (sample / "random" / "val.json").is_file():
        raise SystemExit(f"bench_gpu needs the shared sample at {sample} (set LEANAGENT_SAMPLE)")
    db = open_db(f"sqlite:///{Path(args.tmp) / 'bench.sqlite'}")
    store_repo(db, read_dataset(sample))
    repo = resolve_repos(db, None)[0]
    rows = select_theorems(db, "test", with_steps=True)[:args.prove_theorems]
    return db, examples_for(db, repo, "train"), examples_for(db, repo, "test"), rows, str(sample)


def gen_options(args, max_input_bytes: int):
    from leanagent.generator.options import GeneratorOptions

    return GeneratorOptions(d_model=args.d_model, num_layers=args.num_layers, num_heads=args.num_heads,
                            d_ff=args.d_ff, max_input_bytes=max_input_bytes, num_premises=args.num_premises)


def train_speed(args, device: str, db, train_steps, max_input_bytes: int, save_to: Path | None = None) -> dict:
    """Examples/s and peak memory of `fit` on `device` for --train-seconds."""
    from leanagent.generator.model import TacticModel
    from leanagent.training.generator import generator_retriever, to_gen_examples
    from leanagent.training.loop import TrainOptions, fit

    options = gen_options(args, max_input_bytes)
    retriever, texts = generator_retriever(db, "bm25", options)
    examples = to_gen_examples(train_steps, options, retriever, texts)
    model = TacticModel.create(options, seed=0)
    seen, first = [0], [None]
    loss = model.loss

    def counting_loss(batch):
        if first[0] is None:
            first[0] = time.perf_counter()
        seen[0] += int(batch["input_ids"].shape[0])
        return loss(batch)

    model.loss = counting_loss
    train = TrainOptions(epochs=1000, lr=1e-3, warmup_steps=10, replay_fraction=0.0)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    with PeakRss() as rss:
        fit(model, examples, train, device=device, max_seconds=args.train_seconds)
    end = time.perf_counter()
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else rss.peak / 2**30
    model.loss = loss
    if save_to is not None:
        model.save(save_to)
    rate = seen[0] / max(1e-9, end - first[0]) if first[0] else 0.0
    return {"examples_per_s": rate, "examples": seen[0], "peak_gib": peak,
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6}


def eval_speed(args, device: str, db, ckpt: Path, held_out, steps: int) -> dict:
    from leanagent.generator.evaluate import tactic_accuracy
    from leanagent.generator.model import RetrievalAugmentedGenerator, TacticModel
    from leanagent.device import placement
    from leanagent.training.generator import generator_retriever

    model = placement(device).put(TacticModel.load(ckpt), inference=True)
    retriever, texts = generator_retriever(db, "bm25", model.options)
    gen = RetrievalAugmentedGenerator(model, retriever, texts)
    chosen = held_out[:steps]
    t0 = time.perf_counter()
    out = tactic_accuracy(gen, chosen, k=10, batch=args.eval_batch)
    secs = time.perf_counter() - t0
    return {"steps": out["steps"], "seconds": secs, "steps_per_s": out["steps"] / secs, "top10": out["top_k"]}


def index_speed(device: str, db) -> dict:
    from leanagent.db.training_data import premise_corpus
    from leanagent.device import placement
    from leanagent.retrieval.index import PremiseIndex
    from leanagent.retrieval.model import DualEncoder, RetrieverOptions

    corpus = premise_corpus(db)
    where = placement(device)
    model = where.put(DualEncoder.create(corpus, RetrieverOptions(encoder="minilm"), device=where), inference=True)
    model.embed_premises([p.text for p in corpus[:64]])  # warm-up (kernels, allocator)
    t0 = time.perf_counter()
    emb = model.embed_premises([p.text for p in corpus])
    PremiseIndex.build(emb, [p.id for p in corpus])
    secs = time.perf_counter() - t0
    return {"premises": len(corpus), "seconds": secs, "premises_per_s": len(corpus) / secs}


def prove_speed(args, device: str, db, ckpt: Path, rows) -> dict:
    """Expansions/s of the real proving path (`prove_theorems` in-process: one worker that searches
    --searches theorems at once, default per device, its generator calls merged into one batch)."""
    from leanagent.device import placement
    from leanagent.generator.options import ProposerOptions
    from leanagent.data import TheoremRef
    from leanagent.prover.search import SearchConfig
    from leanagent.prover.pool import prove_theorems
    from leanagent.prover.workers import WorkerSpec

    where = placement(device)
    searches = args.searches or where.defaults.searches
    config = SearchConfig(num_sampled_tactics=args.num_tactics, max_expansions=args.max_expansions,
                          timeout=args.prove_seconds, expand_batch=where.defaults.expand_batch)
    spec = WorkerSpec(env="replay", db_url=db.url, device=device, search=config, searches=searches,
                      proposer=ProposerOptions(proposer="model", checkpoint=str(ckpt), retrieval="bm25",
                                               source_split="train"))
    results = []
    t0 = [0.0]

    def refs():  # handed out lazily: no new theorem after --prove-seconds
        t0[0] = time.perf_counter()
        for r in rows:
            if time.perf_counter() - t0[0] > args.prove_seconds:
                return
            yield TheoremRef.of(r)

    with GpuUtilisation() if where.is_cuda else _Nothing() as util:
        prove_theorems(spec, refs(), results.append, workers=0)
    secs = time.perf_counter() - t0[0]
    exp = sum(r.expansions for r in results)
    model_time = sum(r.time_model for r in results)
    return {"expansions": exp, "seconds": secs, "expansions_per_s": exp / secs, "theorems": len(results),
            "proved": sum(r.outcome == "proved" for r in results), "searches": searches,
            "model_share": model_time / secs / searches if secs else 0.0, "expand_batch": config.expand_batch,
            "util": util.text() if where.is_cuda else ""}


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", default=None, help="comma-separated (default: cpu, plus cuda when present)")
    ap.add_argument("--d-model", type=int, default=512)
    ap.add_argument("--num-layers", type=int, default=6)
    ap.add_argument("--num-heads", type=int, default=8)
    ap.add_argument("--d-ff", type=int, default=2048)
    ap.add_argument("--num-premises", type=int, default=5, help="BM25 premises in the input (the issue's run: 5)")
    ap.add_argument("--max-input-bytes", type=int, default=1536)
    ap.add_argument("--train-seconds", type=float, default=60.0, help="training time per device and input size")
    ap.add_argument("--eval-steps", type=int, default=100, help="held-out steps evaluated on a GPU")
    ap.add_argument("--cpu-eval-steps", type=int, default=10, help="held-out steps evaluated on the CPU")
    ap.add_argument("--eval-batch", type=int, default=16)
    ap.add_argument("--prove-theorems", type=int, default=40)
    ap.add_argument("--prove-seconds", type=float, default=60.0, help="proving time per device")
    ap.add_argument("--num-tactics", type=int, default=16)
    ap.add_argument("--max-expansions", type=int, default=20)
    ap.add_argument("--train-devices", default=None,
                    help="comma-separated devices whose training speed is measured (default: all; the last "
                         "device always trains the checkpoint that evaluation and proving use)")
    ap.add_argument("--no-memory-check", action="store_true", help="skip the GPU run at 2,300 input bytes")
    ap.add_argument("--searches", type=int, default=None,
                    help="theorems searched at once while proving (default per device: 8 on a GPU, 1 on the CPU)")
    args = ap.parse_args()
    devices = args.devices.split(",") if args.devices else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        args.tmp = tmp
        db, train_steps, held_out, rows, source = load_data(args)
        print(f"data: {source}: {len(train_steps)} train steps, {len(held_out)} held-out steps, "
              f"{len(rows)} test theorems; model d{args.d_model}x{args.num_layers} h{args.num_heads} ff{args.d_ff}; "
              f"torch threads {torch.get_num_threads()}")
        ckpt = Path(tmp) / "gen"
        # One checkpoint for evaluation and proving on every device: trained on the fastest one.
        trainer = devices[-1]
        results: dict[str, dict] = {}
        measured = args.train_devices.split(",") if args.train_devices else devices
        for device in reversed(devices):
            r = results.setdefault(device, {})
            if device != trainer and device not in measured:
                continue
            r["train"] = train_speed(args, device, db, train_steps, args.max_input_bytes,
                                     save_to=ckpt if device == trainer else None)
            t = r["train"]
            mem = "peak GPU memory" if device.startswith("cuda") else "peak RSS"
            print(f"[{device}] generator training ({t['params_m']:.0f}M params, {args.max_input_bytes} input bytes): "
                  f"{t['examples_per_s']:.1f} examples/s over {t['examples']} examples, {mem} {t['peak_gib']:.2f} GiB",
                  flush=True)
            if device.startswith("cuda") and not args.no_memory_check:
                big = train_speed(args, device, db, train_steps, 2300)
                ok = "PASS" if big["peak_gib"] <= 24 else "FAIL"
                print(f"[{device}] at 2,300 input bytes: {big['examples_per_s']:.1f} examples/s, peak GPU memory "
                      f"{big['peak_gib']:.2f} GiB (target <= 24: {ok}); at 1,536 bytes target >= 300 examples/s: "
                      f"{'PASS' if t['examples_per_s'] >= 300 else 'FAIL'}", flush=True)
        for device in devices:
            r = results[device]
            steps = args.eval_steps if device.startswith("cuda") else args.cpu_eval_steps
            e = r["eval"] = eval_speed(args, device, db, ckpt, held_out, steps)
            extra = ""
            if device.startswith("cuda"):
                extra = f"; 100 steps in {100 / e['steps_per_s']:.1f}s (target <= 15 s: " \
                        f"{'PASS' if 100 / e['steps_per_s'] <= 15 else 'FAIL'})"
            print(f"[{device}] generator evaluation: {e['steps']} steps in {e['seconds']:.1f}s = "
                  f"{e['steps_per_s']:.2f} steps/s (top-10 {e['top10']:.1f}%){extra}", flush=True)
            i = r["index"] = index_speed(device, db)
            print(f"[{device}] retriever indexing (MiniLM): {i['premises']} premises in {i['seconds']:.2f}s = "
                  f"{i['premises_per_s']:.0f} premises/s", flush=True)
            p = r["prove"] = prove_speed(args, device, db, ckpt, rows)
            print(f"[{device}] proving (replay, model proposer, {args.num_tactics} tactics, {p['searches']} "
                  f"searches at once, expand batch {p['expand_batch']}): {p['theorems']} theorems, "
                  f"{p['expansions']} expansions in {p['seconds']:.1f}s = "
                  f"{p['expansions_per_s']:.2f} expansions/s, model {100 * p['model_share']:.0f}% of the time, "
                  f"proved {p['proved']} {p['util']}", flush=True)
        if "cpu" in results and len(results) > 1:
            gpu = [d for d in results if d != "cpu"][0]
            ratio = results[gpu]["prove"]["expansions_per_s"] / max(1e-9, results["cpu"]["prove"]["expansions_per_s"])
            print(f"proving speed-up {gpu}/cpu: {ratio:.1f}x (target >= 5x: {'PASS' if ratio >= 5 else 'FAIL'})")
            if "train" in results["cpu"]:
                train = results[gpu]["train"]["examples_per_s"] / max(1e-9, results["cpu"]["train"]["examples_per_s"])
                print(f"training speed-up {gpu}/cpu: {train:.0f}x")
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
