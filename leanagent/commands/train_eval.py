"""`train` and `eval`: `train retriever`, `eval retrieval` (+ the generator's subcommands)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from leanagent.commands import generation
from leanagent.errors import ConfigError, ModelError

RETRIEVER_DIR = "retriever"


def _load_yaml(path: str | None) -> dict:
    if not path:
        return {}
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or set(data) - {"train", "retriever", "index"}:
        raise ConfigError(f"{path} must be a mapping with sections train:, retriever: and/or index:")
    return data


def _retriever_options(args):
    """YAML sections first, then command-line options on top: one dataclass each."""
    from leanagent.retrieval.options import IndexOptions, RetrieverOptions
    from leanagent.training.options import TrainOptions, from_args, from_mapping

    data = _load_yaml(getattr(args, "config", None))
    train = from_args(TrainOptions, args, base=from_mapping(TrainOptions, data.get("train")))
    retr = from_args(RetrieverOptions, args, base=from_mapping(RetrieverOptions, data.get("retriever")))
    index = from_args(IndexOptions, args, prefix="index_", base=from_mapping(IndexOptions, data.get("index")))
    train.check()
    return train, retr, index


def run_train_retriever(args, ctx) -> int:
    from leanagent.db.training_data import resolve_repos
    from leanagent.training.budget import TimeBudget
    from leanagent.training.evaluation import stage_evaluator
    from leanagent.training.retriever import train_retriever

    train, retr, index = _retriever_options(args)
    where = generation._device(args)
    budget = TimeBudget(train.max_minutes)  # --max-minutes bounds the whole command, evaluation included
    db = ctx.db(create=False)  # nothing to train on or evaluate without one: say so, create nothing
    repos = resolve_repos(db, args.repos)
    start = Path(args.from_) if args.from_ else None
    if start is not None and not start.is_dir():
        raise ModelError(f"checkpoint {start} not found", fix="pass a stage folder written by `train retriever`")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out_dir = Path(args.out) if args.out else ctx.home / RETRIEVER_DIR / stamp
    evaluate = stage_evaluator(db, repos, model="retriever", log=ctx.event, budget=budget)
    result = train_retriever(db, repos, retr, train, out_dir, start_from=start, index_options=index,
                             evaluate=evaluate, log=ctx.event, device=where, budget=budget)

    def human() -> None:
        for st in result["stages"]:
            state = "reused" if st["skipped"] else f"{st['stats'].get('steps', 0)} steps"
            print(f"{st['repo']}: {state} -> {st['folder']}")
            for repo, m in ((st.get("metrics") or {}).get("per_repo") or {}).items():
                if m.get("R@10") is None:
                    print(f"  test {repo}: no test steps with annotated premises")
                else:
                    print(f"  test {repo}: R@1 {m['R@1']:.2f}%  R@10 {m['R@10']:.2f}%  MRR {m['MRR']:.2f}%")
        print(f"run {result['run_id']}; checkpoints in {out_dir}")

    ctx.emit(result, human)
    return 0


def _metrics_json(m: dict) -> dict:
    keys = ("R@1", "R@10", "MRR")
    return {**{k: m[k] for k in keys}, "steps": m["steps"],
            "per_repo": {repo: {k: v[k] for k in (*keys, "steps")} for repo, v in m["per_repo"].items()}}


def run_eval_retrieval(args, ctx) -> int:
    from leanagent.db.training_data import import_graph, premise_corpus, resolve_repos
    from leanagent.db.runs import latest_checkpoint
    from leanagent.training.evaluation import retrieval_metrics

    db = ctx.db(create=False)  # nothing to train on or evaluate without one: say so, create nothing
    repos = resolve_repos(db, args.repos)
    if args.baseline == "bm25":
        from leanagent.retrieval.access import Accessibility
        from leanagent.retrieval.bm25 import Bm25Retriever

        corpus = premise_corpus(db)
        retriever, name = Bm25Retriever(corpus, Accessibility(corpus, import_graph(db))), "bm25"
        checkpoint = None
    else:
        from leanagent.training.retriever import open_retriever

        ckpt = args.ckpt or latest_checkpoint(db, "retriever")
        if not ckpt:
            raise ModelError("no trained retriever in this database",
                             fix="run `leanagent train retriever` first, pass --ckpt DIR, or use --baseline bm25")
        from leanagent.training.provenance import check_overlap

        checkpoint = check_overlap(db, ckpt, repos, args.split, allow=args.allow_overlap)
        retriever, name = open_retriever(db, Path(ckpt), device=generation._device(args)), str(ckpt)
        if args.knn_weight:
            from leanagent.training.retriever import attach_knn_prior

            attach_knn_prior(retriever, db, repos, args.knn_weight)
            name += f" + kNN prior (weight {args.knn_weight})"
    m = _metrics_json(retrieval_metrics(retriever, db, repos, args.split))
    m["checkpoint"] = checkpoint

    def human() -> None:
        generation.print_checkpoint(checkpoint)
        print(f"retriever {name}, split {args.split}; R@1, R@10 and MRR in percent")
        print(f"{'repository':<32} {'R@1':>7} {'R@10':>7} {'MRR':>7} {'steps':>6}")
        for repo, v in m["per_repo"].items():
            print(f"{repo:<32} {v['R@1']:>7.2f} {v['R@10']:>7.2f} {v['MRR']:>7.2f} {v['steps']:>6}")
        print(f"{'overall':<32} {m['R@1']:>7.2f} {m['R@10']:>7.2f} {m['MRR']:>7.2f} {m['steps']:>6}")

    ctx.emit(m, human)
    return 0


def _add_train_retriever(train_sub, common) -> None:
    from leanagent.device import DeviceOptions
    from leanagent.retrieval.options import IndexOptions, RetrieverOptions
    from leanagent.training.options import TrainOptions, add_arguments

    p = train_sub.add_parser(
        "retriever", parents=[common], help="train the premise retriever progressively over repositories",
        description="Train the dual-encoder premise retriever on each repository's train split in order, "
                    "each from the previous checkpoint; after each repository, evaluate on the test split "
                    "of every repository so far (stored as the R@10[i][j] matrix).")
    p.add_argument("--repo", dest="repos", action="append", metavar="NAME",
                   help="repository to train on (repeatable, in this order; default: all, curriculum order)")
    p.add_argument("--from", dest="from_", metavar="CKPT", help="start from this retriever checkpoint folder")
    p.add_argument("--out", metavar="DIR", help="run folder (default: HOME/retriever/<UTC time>)")
    p.add_argument("--config", metavar="YAML", help="YAML with train:, retriever:, index: sections "
                                                    "(command-line options win)")
    add_arguments(p, TrainOptions, title="training options")
    add_arguments(p, RetrieverOptions, title="retriever options")
    add_arguments(p, IndexOptions, prefix="index_", title="index options")
    add_arguments(p, DeviceOptions, title="device")
    p.set_defaults(func=run_train_retriever)


def _add_eval_retrieval(eval_sub, common) -> None:
    from leanagent.db.training_data import SPLIT_CHOICES
    from leanagent.device import DeviceOptions
    from leanagent.training.options import add_arguments

    p = eval_sub.add_parser(
        "retrieval", parents=[common], help="premise retrieval R@1, R@10, MRR per repository and overall",
        description="Evaluate the retriever (or BM25) on tactic steps with annotated premises, as LeanDojo "
                    "does. With --json: {\"R@1\", \"R@10\", \"MRR\" (percentages), \"per_repo\": {...}}.")
    p.add_argument("--repo", dest="repos", action="append", metavar="NAME",
                   help="repository to evaluate (repeatable; default: all)")
    p.add_argument("--split", choices=SPLIT_CHOICES, default="test", help="which split (default: test)")
    p.add_argument("--baseline", choices=["bm25"], help="evaluate the BM25 baseline instead of the model")
    p.add_argument("--ckpt", metavar="DIR", help="retriever checkpoint folder (default: the latest trained)")
    p.add_argument("--allow-overlap", action="store_true",
                   help="evaluate a checkpoint even when it trained on evaluated theorems (every report says so)")
    p.add_argument("--knn-weight", type=float, default=0.0, metavar="W",
                   help="mix in the kNN premise prior from the train split's states with this weight "
                        "(leave-one-out; default 0: off)")
    add_arguments(p, DeviceOptions, title="device")
    p.set_defaults(func=run_eval_retrieval)


def register(subparsers, common) -> None:
    train = subparsers.add_parser("train", parents=[common], help="train the premise retriever or the tactic "
                                                                  "generator",
                                  description="Train a model progressively over repositories.")
    train_sub = train.add_subparsers(dest="train_command", metavar="MODEL", title="models")
    _add_train_retriever(train_sub, common)
    generation.add_train_generator(train_sub, common)

    ev = subparsers.add_parser("eval", parents=[common], help="evaluate retrieval or tactic generation",
                               description="Evaluate a trained model on recorded data.")
    eval_sub = ev.add_subparsers(dest="eval_command", metavar="TASK", title="tasks")
    _add_eval_retrieval(eval_sub, common)
    generation.add_eval_generator(eval_sub, common)

