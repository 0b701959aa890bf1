"""`learn`, `nightly`, `runs`."""

from __future__ import annotations

import sys
from pathlib import Path

SECTIONS = (("learn", "LearnOptions", ""), ("train", "TrainOptions", "train_"),
            ("retriever", "RetrieverOptions", "retriever_"), ("generator", "GeneratorOptions", "gen_"))


def _option_classes() -> dict:
    from leanagent.generator.options import GeneratorOptions
    from leanagent.lifelong.learn_options import LearnOptions
    from leanagent.retrieval.options import RetrieverOptions
    from leanagent.training.options import TrainOptions

    return {"LearnOptions": LearnOptions, "TrainOptions": TrainOptions, "RetrieverOptions": RetrieverOptions,
            "GeneratorOptions": GeneratorOptions}


def register(subparsers, common) -> None:
    classes = _option_classes()
    p = subparsers.add_parser(
        "learn", parents=[common], help="run the lifelong loop over repos.yaml",
        description="The lifelong loop: bring every enabled repos.yaml entry into the database, order the "
                    "repositories by the curriculum, then for each one train the retriever and the generator "
                    "from the previous checkpoint (with replay), evaluate both on every repository's test split, "
                    "and prove its sorry theorems (with Lean) or its held-out theorems (replay). Ends with a "
                    "report (summary.md, metrics.json, plots). Every step is recorded: after a crash or kill, "
                    "the same command continues from the last finished step. Model options start from small "
                    "CPU sizes (generator d_model 128, 2 layers; MiniLM retriever on CPU); a --config YAML "
                    "with sections learn/train/retriever/generator sets any option.")
    _loop_options(p, classes)
    p.add_argument("--from-scratch", action="store_true", help="start a new run instead of resuming the last one")
    p.set_defaults(func=run_learn)

    p = subparsers.add_parser(
        "ablate", parents=[common], help="run learn once per variant and compare their lifelong metrics",
        description="Which of the loop's methods helps, and by how much: `learn` once per variant of a variants "
                    "file (replay fraction, EWC, within-repository order, repository order, any option), every "
                    "run from one database snapshot in its own folder under --out, then one report: the five "
                    "lifelong metrics (average accuracy, backward and forward transfer, forgetting, plasticity) of "
                    "retrieval R@10, replay proving and tactic accuracy per variant, with the range over seeds, a "
                    "verdict against the default variant, and a plot. Resumable like learn: run the same command "
                    "again after a kill. --db is not used: each run keeps its own SQLite database in its folder, so "
                    "that no variant sees another's proofs. examples/ablation.yaml is the study of the README's "
                    "results section.")
    p.add_argument("--repos", required=True, metavar="FILE", help="repos.yaml listing the repositories")
    p.add_argument("--variants", required=True, metavar="YAML",
                   help="variants file: base (options for every variant), default (its name) and variants "
                        "(name -> learn/train/retriever/generator options and seeds)")
    p.add_argument("--out", metavar="DIR", help="folder of the snapshot, the runs and the report "
                                                "(default: HOME/ablate-<variants file name>)")
    p.add_argument("--only", nargs="+", metavar="VARIANT", help="run (and report) only these variants")
    from leanagent.device import DeviceOptions
    from leanagent.training.options import add_arguments

    add_arguments(p, DeviceOptions, title="device")
    p.set_defaults(func=run_ablate)

    p = subparsers.add_parser("runs", parents=[common], help="list runs and their steps",
                              description="Runs recorded in the database, newest first, with their steps.")
    p.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")
    p.add_argument("--steps", action="store_true", help="also list every step of each run")
    p.set_defaults(func=run_runs)

    p = subparsers.add_parser(
        "nightly", parents=[common], help="fetch, re-trace, train and prove within a time budget (for cron)",
        description="For cron. Takes the database's run lock, shared with learn (exit code 2 if another run holds "
                    "it; a lock left by a dead "
                    "process is taken over), fetches every git entry and re-traces only repositories with new "
                    "commits (agent proofs of theorems that still exist are kept), continues training on what "
                    "changed from the newest checkpoints, then spends the rest of the budget proving sorry "
                    "theorems not yet proved, newest repositories first. Writes a report of what changed since "
                    "the last night. Exit codes: 0 done, 1 error, 2 lock held.")
    _loop_options(p, classes)
    p.add_argument("--budget", default="6h", help="time budget, e.g. 6h, 90m, 1h30m (default 6h)")
    p.set_defaults(func=run_nightly)


def _loop_options(p, classes) -> None:
    """--repos, --config and every option group: shared by learn and nightly."""
    from leanagent.training.options import add_arguments

    p.add_argument("--repos", required=True, metavar="FILE", help="repos.yaml listing the repositories")
    p.add_argument("--config", metavar="YAML", help="options file with sections learn, train, retriever, generator")
    bases = _bases(classes)
    for section, cls_name, prefix in SECTIONS:
        # The loop starts from its CPU sizes, not the classes' defaults: --help shows what applies.
        add_arguments(p, classes[cls_name], prefix=prefix, title=f"{section} options", base=bases[section])
    from leanagent.device import DeviceOptions

    # Not a section of the run's options: a run started on a GPU may continue on the CPU.
    add_arguments(p, DeviceOptions, title="device")


def _bases(classes) -> dict:
    """The option objects the loop starts from, before --config and the command line."""
    from leanagent.lifelong.learn_options import cpu_defaults

    train, retriever, generator = cpu_defaults()
    return {"learn": classes["LearnOptions"](), "train": train, "retriever": retriever, "generator": generator}


def build_config(args):
    """Options from the CPU defaults, then the --config YAML, then the command line."""
    import yaml

    from leanagent.errors import ConfigError
    from leanagent.lifelong.learn_options import LearnConfig
    from leanagent.training.options import from_args

    classes = _option_classes()
    data: dict = {}
    if getattr(args, "config", None):
        try:
            data = yaml.safe_load(Path(args.config).read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"{args.config}: cannot read: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{args.config}: invalid YAML: {exc}") from None
    cfg = LearnConfig.cpu().updated(data, where=str(getattr(args, "config", None) or "config"))
    return LearnConfig(**{section: from_args(classes[cls_name], args, prefix=prefix, base=getattr(cfg, section))
                          for section, cls_name, prefix in SECTIONS})


def _device(args) -> str:
    """--device, checked (`leanagent.device`)."""
    from leanagent.device import DeviceOptions, device_spec
    from leanagent.training.options import from_args

    return device_spec(from_args(DeviceOptions, args).device)


def run_learn(args, ctx) -> int:
    from leanagent.config import load_repos
    from leanagent.lifelong.learn import learn

    from leanagent.sources.sync import preflight

    cfg = build_config(args)
    preflight(load_repos(args.repos))  # a bad repos.yaml, path or toolchain fails before a database is created
    with _Progress(ctx) as progress:
        report = learn(ctx.db(), args.repos, ctx.home, cfg, from_scratch=args.from_scratch, emit=progress,
                       device=_device(args))
    ctx.emit({"event": "done", "report": str(report)}, f"report: {report}")
    return 0


def run_ablate(args, ctx) -> int:
    from leanagent.lifelong.ablate import ablate

    out = Path(args.out) if args.out else Path(ctx.home) / f"ablate-{Path(args.variants).stem}"
    with _Progress(ctx) as progress:
        report = ablate(args.repos, args.variants, out, only=args.only, emit=progress, device=_device(args))
    ctx.emit({"event": "done", "report": str(report)}, f"report: {report}")
    return 0


def run_nightly(args, ctx) -> int:
    from leanagent.lifelong.nightly import nightly, parse_budget

    from leanagent.config import load_repos
    from leanagent.sources.sync import preflight

    budget = parse_budget(args.budget)
    cfg = build_config(args)
    preflight(load_repos(args.repos))  # before a database or a run is created
    with _Progress(ctx) as progress:
        report = nightly(ctx.db(), args.repos, ctx.home, cfg, budget, emit=progress, device=_device(args))
    ctx.emit({"event": "done", "report": str(report)}, f"report: {report}")
    return 0


class _Progress:
    """One line per step on stderr for people; one JSON line per event with --json.

    A long step (training a retriever on a mathlib area takes minutes on a CPU) says that it is still
    running, with its elapsed time, so that a quiet terminal is not mistaken for a hung one.
    """

    #: Seconds between "still running" lines: the first after half a minute, then every half minute.
    HEARTBEAT = (30.0, 30.0)

    def __init__(self, ctx, clock=None, new_event=None):
        import threading
        import time

        self.ctx = ctx
        self._beat = None
        # Injected in tests: a clock and events that need no real waiting (no sleeps that race).
        self._clock = clock or time.monotonic
        self._new_event = new_event or threading.Event

    def __enter__(self) -> "_Progress":
        return self

    def __exit__(self, *exc) -> None:
        self._heartbeat(None)  # a step that raised sent no "done"

    def __call__(self, **event) -> None:
        if self.ctx.json:
            self.ctx.event(**event)
            return
        kind = event.get("event")
        if kind == "step":
            self._heartbeat(None)  # the previous step's heartbeat ends before this line is printed
        if kind == "run":
            state = "resuming" if event["resumed"] else "starting"
            print(f"{state} run {event['run_id']} (env {event['env']}; checkpoints in {event['folder']})",
                  file=sys.stderr, flush=True)
        elif kind == "step":
            extra = f" ({event['seconds']:.1f}s)" if "seconds" in event else ""
            print(f"  {event['key']}: {event['status']}{extra}", file=sys.stderr, flush=True)
            if event["status"] == "start":
                self._heartbeat(event["key"])  # after the `start` line: its beats follow it
        elif kind == "evaluated":
            def pct(x):
                return "n/a" if x is None else f"{x:.1f}"

            def of(metric):  # the figure and its denominator, the steps evaluated
                n = event.get(f"{metric}/n")
                return pct(event.get(metric)) + (f" of {n} steps" if n else "")

            freq = event.get("tactic_acc_frequency")
            print(f"    after {event['after']} on {event['on']}: R@10 {of('R@10')}, tactic accuracy "
                  f"{of('tactic_acc')}" + (f" (frequency {pct(freq)})" if freq is not None else ""),
                  file=sys.stderr, flush=True)
        elif kind == "variant":
            print(f"variant {event['variant']} seed {event['seed']} ({event['index']}/{event['total']}): "
                  f"{event['folder']}", file=sys.stderr, flush=True)
        elif kind == "synced":
            print(f"  {event['repo']}: {event['action']}", file=sys.stderr, flush=True)
        elif kind == "lock":
            print(f"took over a stale lock from pid {event['took_over'].get('pid')}", file=sys.stderr, flush=True)
        elif kind == "attempt":
            print(f"    {event['outcome']:>8}  {event['theorem']}", file=sys.stderr, flush=True)

    def _heartbeat(self, key: str | None) -> None:
        """Stop the previous step's heartbeat; start one for `key` (None: none)."""
        import threading

        from leanagent.progress import duration_text

        if self._beat is not None:
            self._beat.set()
            self._beat = None
        if key is None:
            return
        stop, started = self._new_event(), self._clock()

        def beat() -> None:
            wait = self.HEARTBEAT[0]
            while not stop.wait(wait):
                print(f"  {key}: still running ({duration_text(self._clock() - started)})", file=sys.stderr,
                      flush=True)
                wait = self.HEARTBEAT[1]

        threading.Thread(target=beat, name="leanagent-heartbeat", daemon=True).start()
        self._beat = stop


def run_runs(args, ctx) -> int:
    from leanagent.db.runs import list_runs

    runs = list_runs(ctx.db(create=False), limit=args.limit)

    def human() -> None:
        if not runs:
            print("no runs yet; start one with `leanagent learn --repos repos.yaml`")
        for r in runs:
            done = sum(s["status"] == "done" for s in r["steps"])
            # Pending steps are counted too (learn plans its steps), so a killed run shows what is left.
            steps = f"steps {done}/{len(r['steps'])} done  " if r["steps"] else ""
            print(f"run {r['id']:>4}  {r['kind']:<8} {r['status']:<11} started {r['started_at']:%Y-%m-%d %H:%M}  "
                  f"{steps}{r['name'] or ''}")
            if r["report"]:
                print(f"           report {r['report']}")
            if args.steps:
                for s in r["steps"]:
                    print(f"           {s['status']:<11} {s['key']}")
            children = r.get("children") or []
            if children and args.steps:
                for c in children:
                    print(f"           run {c['id']:>4}  {c['kind']:<8} {c['status']:<11} {c['name'] or ''}")
            elif children:  # a learn's trainer runs: one line, not one run each
                states = ", ".join(f"{n} {st}" for st, n in _counts(c["status"] for c in children).items())
                print(f"           {len(children)} trainer runs ({states}); --steps lists them")

    ctx.emit({"runs": runs}, human)
    return 0


def _counts(values) -> dict:
    out: dict = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
