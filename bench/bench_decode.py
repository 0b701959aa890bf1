"""Wall time of one `propose` call of the T5 generator, against the code before issue 29 in the same run.

Paths, on the same weights (issue 29):
- `reference`: the old code (every cached key rotated again at every step, cos/sin recomputed; Hugging
  Face's `generate`), from tests/generator/decode_reference.py;
- `rotary`: today's rotary attention (keys rotated once before caching), still through `generate`: the
  rotary change alone;
- `decode`: `TacticModel.propose` (leanagent.generator.seq2seq: encoder and cross-attention keys once per
  state, settled states leave the batch), tactics up to max_output_bytes;
- `decode+cut`: the same, tactics cut at the checkpoint's 99th percentile of training tactic lengths.

Each row: seconds per call, the split into encoder / decoder forward / search bookkeeping, the ratio against
`reference`, and whether the proposals are identical to the reference's (same tactics, same order).
Models: learn's CPU generator (`cpu`, leanagent.device) and the 40M GPU configuration (`40m`); untrained
(tactics run to the length limit) and, with --train-steps > 0, trained for that many steps on the sample.

    python bench/bench_decode.py [--models cpu,40m] [--states 1,8,32] [--beams 16,64] [--train-steps 300]
                                 [--max-seconds 120] [--threads 2]

A reference call estimated over --max-seconds (from the same model's smaller calls) is skipped and says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
#: The 40M scratch model of the GPU benchmarks (bench/bench_gpu.py).
SIZES_40M = dict(d_model=512, num_layers=6, num_heads=8, d_ff=2048)


def _reference():
    spec = importlib.util.spec_from_file_location("decode_reference", ROOT / "tests" / "generator" /
                                                  "decode_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sample_steps(path: Path) -> list[tuple[str, str]]:
    """(state, tactic) of every traced tactic of the sample, in file order."""
    data = json.loads((path / "random" / "val.json").read_text())
    return [(t["state_before"], t["tactic"]) for th in data for t in th["traced_tactics"]
            if "sorry" not in t["tactic"]]


def options_for(name: str):
    from leanagent.device import defaults_for
    from leanagent.generator.options import GeneratorOptions

    if name == "cpu":
        return GeneratorOptions(**defaults_for("cpu").generator)  # learn's and train generator's CPU model
    return GeneratorOptions(**SIZES_40M)


class HookClock:
    """Seconds inside the encoder and the decoder (+ lm_head) of a T5 under `generate`, by forward hooks."""

    def __init__(self, model):
        self.encoder = self.decoder = 0.0
        self.handles = []
        for mod, part in ((model.encoder, "encoder"), (model.decoder, "decoder"), (model.lm_head, "decoder")):
            self.handles.append(mod.register_forward_pre_hook(lambda m, a, part=part: self._start(part)))
            self.handles.append(mod.register_forward_hook(lambda m, a, o, part=part: self._stop(part)))

    def _start(self, part):
        self.t0 = time.perf_counter()

    def _stop(self, part):
        setattr(self, part, getattr(self, part) + time.perf_counter() - self.t0)

    def close(self):
        for h in self.handles:
            h.remove()


def run_path(path: str, model, old, ref, states, beams: int):
    """(seconds, {encoder, decoder, search}, proposals) of one call."""
    from leanagent.generator.seq2seq import Timing

    t0 = time.perf_counter()
    if path in ("reference", "rotary"):
        target = old if path == "reference" else model
        clock = HookClock(target.model)
        try:
            out = ref.generate_propose(target, states, beams)
        finally:
            clock.close()
        total = time.perf_counter() - t0
        split = {"encoder": clock.encoder, "decoder": clock.decoder,
                 "search": total - clock.encoder - clock.decoder}
        return total, split, out
    timing = Timing()
    cut = model.max_tactic_bytes
    model.max_tactic_bytes = None if path == "decode+cut" else model.options.max_output_bytes
    try:
        out = model.propose(states, beams, timing=timing)
    finally:
        model.max_tactic_bytes = cut
    total = time.perf_counter() - t0
    return total, {"encoder": timing.encoder, "decoder": timing.decoder, "search": total - timing.encoder
                   - timing.decoder}, out


def trained(model, steps, n: int):
    """`model` fitted for n optimizer steps (batches of 8) on the sample's (state, tactic) pairs."""
    from leanagent.generator.model import GenExample, augment_state
    from leanagent.training.loop import fit
    from leanagent.training.options import TrainOptions

    ex = [GenExample(augment_state(s, [], model.options.max_input_bytes), t) for s, t in steps]
    fit(model, ex, TrainOptions(batch_size=8, batch_tokens=0, lr=1e-3, warmup_steps=10, max_steps=n, epochs=100))
    return model


def bench_model(name: str, label: str, model, args, steps, ref, rows: list) -> None:
    """Every (beams, states, path) row of one model; states come from the held-out half of the sample."""
    from leanagent.generator.model import tactic_percentile

    half = len(steps) // 2
    model.tactic_bytes_p99 = tactic_percentile([t for _, t in steps[:half]])  # the training half's
    model.eval()
    print(f"{name} {label}: tactics cut at {model.tactic_limit} bytes by decode+cut (99th percentile "
          f"{model.tactic_bytes_p99}, max_output_bytes {model.options.max_output_bytes})")
    old = ref.reference(model)
    pool = list(dict.fromkeys(s for s, _ in steps[half:]))  # the held-out half's distinct states
    per_state: dict[tuple, float] = {}
    for beams in args.beams:
        for n in args.states:
            states = pool[:n]
            base = None
            for path in ("reference", "rotary", "decode", "decode+cut"):
                est = per_state.get((path, beams), 0.0) * n
                if path in ("reference", "rotary") and est > args.max_seconds:
                    print(f"{name:<4} {label:<9} {beams:>3} {n:>3} {path:<10} skipped (about {est:.0f} s)")
                    continue
                secs, split, out = run_path(path, model, old, ref, states, beams)
                per_state[(path, beams)] = max(per_state.get((path, beams), 0.0), secs / n)
                tactics = [[t for t, _ in row] for row in out]
                if path == "reference":
                    base = (secs, tactics)
                same = "-" if base is None else ("yes" if tactics == base[1] else "NO")
                ratio = f"{base[0] / secs:5.2f}x" if base is not None else "   - "
                length = sum(len(r[0][0].encode()) for r in out if r) / max(1, sum(1 for r in out if r))
                print(f"{name:<4} {label:<9} {beams:>3} {n:>3} {path:<10} {secs:8.2f} s  enc {split['encoder']:6.2f}"
                      f"  dec {split['decoder']:7.2f}  search {split['search']:6.2f}  {ratio}  same {same:<3}"
                      f"  best tactic {length:4.1f} B", flush=True)
                rows.append({"model": name, "checkpoint": label, "beams": beams, "states": n, "path": path,
                             "seconds": round(secs, 3), **{k: round(v, 3) for k, v in split.items()},
                             "same_as_reference": same})


def main() -> None:
    from leanagent.generator.model import TacticModel
    from leanagent.settings import sample_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="cpu,40m", help="comma-separated: cpu, 40m")
    ap.add_argument("--states", default="1,8,32")
    ap.add_argument("--beams", default="16,64")
    ap.add_argument("--train-steps", type=int, default=300,
                    help="steps of the 'trained' checkpoint (cpu model only; 0: untrained only)")
    ap.add_argument("--max-seconds", type=float, default=120.0, help="skip a generate call estimated over this")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's choice)")
    ap.add_argument("--sample", type=Path, default=None)
    args = ap.parse_args()
    args.states = [int(x) for x in args.states.split(",")]
    args.beams = [int(x) for x in args.beams.split(",")]
    if args.threads:
        torch.set_num_threads(args.threads)
    ref = _reference()
    steps = sample_steps(args.sample or sample_path())
    print(f"torch threads {torch.get_num_threads()}; {len(steps)} sample steps")
    print(f"{'':<4} {'ckpt':<9} {'k':>3} {'B':>3} {'path':<10} {'seconds':>10}")
    rows: list = []
    for name in args.models.split(","):
        opts = options_for(name)
        model = TacticModel.create(opts, seed=0)
        bench_model(name, "untrained", model, args, steps, ref, rows)
        if args.train_steps > 0 and name == "cpu":
            t0 = time.perf_counter()
            model = trained(TacticModel.create(opts, seed=0), steps[:len(steps) // 2], args.train_steps)
            print(f"trained {args.train_steps} steps in {time.perf_counter() - t0:.0f} s")
            bench_model(name, "trained", model, args, steps, ref, rows)
        elif name != "cpu":
            print(f"{name}: trained checkpoint skipped (training it takes too long on a CPU)")
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
