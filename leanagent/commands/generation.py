"""`train generator` and `eval generator`, attached to the `train` and `eval` groups of train_eval.py."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

GENERATOR_DIR = "generator"


def _device(args):
    """The device policy's placement for --device (see leanagent.device)."""
    from leanagent.device import DeviceOptions, placement
    from leanagent.training.options import from_args

    return placement(from_args(DeviceOptions, args).device)


def add_train_generator(train_subparsers, common) -> None:
    from leanagent.device import DeviceOptions
    from leanagent.generator.options import GeneratorOptions
    from leanagent.training.options import TrainOptions
    from leanagent.training.options import add_arguments

    p = train_subparsers.add_parser(
        "generator", parents=[common], help="train the tactic generator progressively over repositories",
        description="Train the retrieval-augmented tactic generator (ByT5, or a causal LM: --model smollm2-135m, "
                    "a .gguf file or a Hugging Face folder) on each repository's train split in "
                    "order, each from the previous checkpoint (replay mixture and EWC as for the retriever). "
                    "After each repository, tactic accuracy on the test split of every repository so far is "
                    "stored (lifelong matrix) and the checkpoint is recorded for `prove`. Options left open "
                    "take the device's defaults (leanagent.device): on the CPU, learn's small model over the "
                    "proof state alone (no premises), small batches and a step budget per repository.")
    p.add_argument("--repo", dest="repos", action="append", metavar="NAME",
                   help="repository to train on (repeatable, in this order; default: all, curriculum order)")
    p.add_argument("--from", dest="from_", metavar="CKPT", help="start from this generator checkpoint folder")
    p.add_argument("--out", metavar="DIR", help="run folder (default: HOME/generator/<UTC time>)")
    p.add_argument("--retrieval", choices=("bm25", "dense", "none"), default="bm25",
                   help="premises prepended to the input (default bm25)")
    p.add_argument("--eval-k", type=int, default=10, help="k of the top-k accuracy (default 10)")
    p.add_argument("--eval-limit", type=int, default=200, help="test steps evaluated per repository (default 200)")
    add_arguments(p, TrainOptions, title="training options")
    add_arguments(p, GeneratorOptions, title="generator options")
    add_arguments(p, DeviceOptions, title="device")
    p.set_defaults(func=run_train)


def add_eval_generator(eval_subparsers, common) -> None:
    from leanagent.db.training_data import SPLIT_CHOICES
    from leanagent.device import DeviceOptions
    from leanagent.generator.options import ProposerOptions
    from leanagent.training.options import add_arguments

    p = eval_subparsers.add_parser(
        "generator", parents=[common], help="tactic exact match and top-k accuracy on a split",
        description="Propose tactics for the recorded states of a split and compare with the recorded tactic "
                    "(normalised). No proposer ever uses the evaluated theorem's own recorded steps (leave-one-out by theorem). With --json: "
                    "{\"exact_match\", \"top_k\" (percentages), \"k\", \"steps\", \"per_repo\": {...}}.")
    p.add_argument("--repo", dest="repos", action="append", metavar="NAME",
                   help="repository to evaluate (repeatable; default: all)")
    p.add_argument("--split", choices=SPLIT_CHOICES, default="test", help="which split (default: test)")
    p.add_argument("--k", type=int, default=10, help="k of the top-k accuracy (default 10)")
    p.add_argument("--limit", type=int, default=None, help="evaluate at most this many steps per repository")
    p.add_argument("--compare", action="append", metavar="PROPOSER", default=[],
                   help="also evaluate this proposer on the same steps, side by side (repeatable): knn, "
                        "frequency, or a generator alone (a checkpoint folder, hub name, byt5-small, "
                        "smollm2-135m or a .gguf file) with the same retrieval; with --json under \"compared\"")
    p.add_argument("--allow-overlap", action="store_true",
                   help="evaluate a checkpoint even when it trained on evaluated theorems (every report says so)")
    add_arguments(p, ProposerOptions, title="proposer options")
    add_arguments(p, DeviceOptions, title="device")
    p.set_defaults(func=run_eval)


def train_options(args, where) -> tuple:
    """(TrainOptions, GeneratorOptions) of `train generator`, checked: the command line over the defaults of
    the device `where` (a Placement; on the CPU learn's small model over the proof state alone, small batches
    and a step budget: leanagent.device)."""
    from leanagent.generator.options import GeneratorOptions
    from leanagent.training.options import TrainOptions, from_args

    train = from_args(TrainOptions, args, base=TrainOptions(**where.defaults.generator_train))
    options = from_args(GeneratorOptions, args, base=GeneratorOptions(**where.defaults.generator))
    train.check()
    options.check()
    return train, options


def run_train(args, ctx) -> int:
    from leanagent.db.training_data import resolve_repos
    from leanagent.errors import ModelError
    from leanagent.training.budget import TimeBudget
    from leanagent.training.evaluation import stage_evaluator
    from leanagent.training.generator import train_generator

    where = _device(args)
    train, options = train_options(args, where)
    budget = TimeBudget(train.max_minutes)  # --max-minutes bounds the whole command, evaluation included
    db = ctx.db(create=False)  # nothing to train on or evaluate without one: say so, create nothing
    repos = resolve_repos(db, args.repos)
    start = Path(args.from_) if args.from_ else None
    if start is not None and not start.is_dir():
        raise ModelError(f"checkpoint {start} not found", fix="pass a stage folder written by `train generator`")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out_dir = Path(args.out) if args.out else ctx.home / GENERATOR_DIR / stamp
    evaluate = stage_evaluator(db, repos, model="generator", limit=args.eval_limit, k=args.eval_k, log=ctx.event,
                               budget=budget)
    result = train_generator(db, repos, options, train, out_dir, retrieval=args.retrieval, start_from=start,
                             evaluate=evaluate, device=where, budget=budget)

    def human() -> None:
        for st in result["stages"]:
            state = "reused" if st["skipped"] else f"{st['stats'].get('steps', 0)} steps on {st['examples']} examples"
            print(f"{st['repo']}: {state} -> {st['folder']}")
            for repo, m in ((st.get("metrics") or {}).get("per_repo") or {}).items():
                if m.get("tactic_acc") is None:
                    print(f"  test {repo}: no test steps")
                else:
                    print(f"  test {repo}: exact {m['tactic_acc']:.1f}%  top-{args.eval_k} {m['tactic_top_k']:.1f}%"
                          + (f" of {m['tactic_acc/n']} steps" if "tactic_acc/n" in m else "")
                          + (f"; frequency baseline {m['tactic_acc_frequency']:.1f}% on the same steps"
                             if m.get("tactic_acc_frequency") is not None else ""))
            if (st.get("metrics") or {}).get("limited_by_time"):
                print("  (evaluation stopped at the --max-minutes budget: figures over the steps it reached)")
        print(f"run {result['run_id']}; checkpoints in {out_dir}")

    ctx.emit(result, human)
    return 0


def _accuracy(proposer, name: str, db, repos, args) -> dict:
    """Exact match and top-k of one proposer over the split's steps of every repository."""
    from leanagent.generator.evaluate import tactic_accuracy
    from leanagent.training.generator import examples_for

    per, hit1, hitk, n = {}, 0.0, 0.0, 0
    for repo in repos:
        steps = examples_for(db, repo, args.split)[:args.limit]
        m = tactic_accuracy(proposer, steps, args.k)
        per[repo] = m
        hit1 += m["exact_match"] * m["steps"]
        hitk += m["top_k"] * m["steps"]
        n += m["steps"]
    return {"exact_match": hit1 / n if n else 0.0, "top_k": hitk / n if n else 0.0, "k": args.k, "steps": n,
            "split": args.split, "proposer": name, "per_repo": per}


def _compared(options, spec: str):
    """ProposerOptions for a --compare value: a proposer name, or a generator to run alone."""
    from dataclasses import replace

    if spec in ("knn", "frequency", "merged", "model"):
        return replace(options, proposer=spec)
    return replace(options, proposer="model", checkpoint=spec)


def checkpoint_check(db, options, repos, split: str, allow: bool) -> dict | None:
    """The generator checkpoint a proposer evaluates on `split`, named with its run; refuses one that
    trained on the evaluated theorems (`leanagent.training.provenance`). None: no checkpoint is used."""
    from leanagent.training.provenance import check_overlap

    if options.proposer not in ("model", "merged") or options.checkpoint is None:
        return None
    return check_overlap(db, options.checkpoint, repos, split, allow=allow)


def print_checkpoint(info: dict | None) -> None:
    """One line naming the checkpoint (and a warning when it overlaps the evaluated theorems)."""
    if info is None:
        return
    line = f"checkpoint {info['checkpoint']}"
    if info.get("provenance") == "unknown":
        line += " (no provenance recorded: cannot tell what it trained on)"
    print(line)
    if info.get("warning"):
        print(f"warning: {info['warning']}")


def run_eval(args, ctx) -> int:
    from leanagent.db.training_data import resolve_repos
    from leanagent.errors import ConfigError
    from leanagent.generator.options import ProposerOptions, proposer_name
    from leanagent.prover.proposers import load_proposer, resolve
    from leanagent.training.options import from_args

    if args.k < 1:
        raise ConfigError("--k must be at least 1")
    db = ctx.db(create=False)  # nothing to train on or evaluate without one: say so, create nothing
    repos = resolve_repos(db, args.repos)
    options = resolve(from_args(ProposerOptions, args), db)
    where = _device(args)
    checkpoint = checkpoint_check(db, options, repos, args.split, args.allow_overlap)
    result = _accuracy(load_proposer(options, db, device=where), proposer_name(options), db, repos, args)
    result["checkpoint"] = checkpoint
    compared = []
    for spec in args.compare:
        other = resolve(_compared(options, spec), db)
        compared.append(_accuracy(load_proposer(other, db, device=where), proposer_name(other), db, repos, args))
    if compared:
        result["compared"] = compared

    def human() -> None:
        print_checkpoint(checkpoint)
        print(f"split {args.split}; accuracies in percent")
        print(f"{'proposer':<44} {'repository':<24} {'exact':>7} {'top-' + str(args.k):>7} {'steps':>6}")
        for res in [result] + compared:
            for repo, v in res["per_repo"].items():
                print(f"{res['proposer'][:44]:<44} {repo[:24]:<24} {v['exact_match']:>7.1f} {v['top_k']:>7.1f} "
                      f"{v['steps']:>6}")
            print(f"{res['proposer'][:44]:<44} {'overall':<24} {res['exact_match']:>7.1f} {res['top_k']:>7.1f} "
                  f"{res['steps']:>6}")

    ctx.emit(result, human)
    return 0
