"""`prove`: best-first search over the chosen theorems, on worker processes, results into the database."""

from __future__ import annotations

import logging

from leanagent.db.proofs import THEOREM_SETS
from leanagent.prover.forkpool import POOLS
from leanagent.prover.workers import ENVS

log = logging.getLogger("leanagent.prove")


def register(subparsers, common) -> None:
    from leanagent.device import DeviceOptions
    from leanagent.generator.options import ProposerOptions
    from leanagent.prover.leandojo_env import LeanLimits
    from leanagent.prover.polish import PolishOptions
    from leanagent.prover.safety import SafetyPolicy
    from leanagent.lean.repl import ReplOptions
    from leanagent.training.options import add_arguments

    p = subparsers.add_parser(
        "prove", parents=[common], help="search for proofs of sorry or held-out theorems",
        description="Best-first proof search. Theorems are spread over worker processes, each with its own "
                    "environment (forked from one process that loaded the proposer, on this machine's CPU; Ray "
                    "workers on GPUs or, with --ray-address, a cluster); results are "
                    "written to the database by this process as they finish. A theorem that already has an "
                    "attempt under the same model and budget is skipped unless --retry. `--env replay` checks "
                    "tactics against recorded traces instead of Lean (offline evaluation); its reports say so.")
    p.add_argument("--repo", metavar="NAME", help="only theorems of this repository")
    p.add_argument("--theorems", choices=THEOREM_SETS, default="sorry",
                   help="sorry theorems (default), all theorems, or the held-out test split (with --env replay, "
                        "a sorry theorem is proved only when another theorem recorded the same goal: held-out "
                        "evaluation is --theorems test)")
    p.add_argument("--env", choices=("auto", *ENVS), default="auto",
                   help="auto (default: per repository, by its lean-toolchain: leandojo up to Lean 4.11, "
                        "leaninteract from 4.12 on), leandojo, leaninteract (the Lean REPL) or replay")
    p.add_argument("--workers", type=int, default=1,
                   help="worker processes (default 1; 0 = in this process): see --pool")
    p.add_argument("--pool", choices=POOLS, default="auto",
                   help="how workers start: fork (forked from one process that loaded the models and indexes "
                        "once, so each more worker adds about 40 MB; this machine, CPU), ray (Ray workers, each "
                        "loading its own: GPUs and clusters), or auto (default: fork for a local CPU run where "
                        "fork exists, else ray)")
    p.add_argument("--ray-address", metavar="ADDR", help="join this Ray cluster instead of starting local Ray")
    p.add_argument("--timeout", type=float, default=600.0, help="wall-clock seconds per theorem (default 600)")
    p.add_argument("--max-expansions", type=int, default=None, help="expanded nodes per theorem (default: no limit)")
    p.add_argument("--num-tactics", type=int, default=64, help="tactics asked per expansion (default 64)")
    p.add_argument("--tactic-timeout", type=float, default=5.0, help="seconds per tactic in Lean (default 5)")
    p.add_argument("--expand-batch", type=int, default=None,
                   help="open nodes proposed for in one generator call, best first; the search order stays "
                        "best-first (default: 8 on a GPU, 1 on the CPU)")
    p.add_argument("--searches-per-worker", type=int, default=None, metavar="K",
                   help="theorems each worker searches at once, their generator calls merged into one batch "
                        "(default: 8 on a GPU, 1 on the CPU; always 1 with --env leandojo). With a wall-clock "
                        "--timeout a search also waits for the others' states, so timed-out outcomes can differ")
    p.add_argument("--gpus-per-worker", type=float, default=None, metavar="G",
                   help="GPUs each Ray worker asks for, a fraction so that several share one (default: the "
                        "cluster's GPUs shared evenly over --workers, at most 1 each; 0 with --device cpu)")
    p.add_argument("--limit", type=int, default=None, help="prove at most this many theorems")
    p.add_argument("--retry", action="store_true", help="also prove theorems already attempted with this model/budget")
    p.add_argument("--no-baselines", action="store_true",
                   help="replay: skip the frequency, one-step and oracle counts printed beside the proved count")
    p.add_argument("--allow-overlap", action="store_true",
                   help="evaluate a checkpoint even when it trained on evaluated theorems (every report says so)")
    add_arguments(p, ProposerOptions, title="proposer options")
    add_arguments(p, SafetyPolicy, title="tactic safety (model output is untrusted code)")
    add_arguments(p, LeanLimits, prefix="lean_", title="Lean resource limits (leandojo and leaninteract)")
    add_arguments(p, ReplOptions, prefix="repl_", title="the Lean REPL (--env leaninteract)")
    add_arguments(p, PolishOptions, title="polishing found proofs (leandojo and leaninteract)")
    add_arguments(p, DeviceOptions, title="device (in-process and per worker; Ray workers use their GPU share)")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    from leanagent.db.runs import start_run
    from leanagent.device import DeviceOptions, device_spec
    from leanagent.training.options import from_args

    _check_numbers(args)
    device = device_spec(from_args(DeviceOptions, args).device)
    # The database first: without one there is nothing to prove, and nothing should be created.
    db = ctx.db(create=False)
    if args.env != "replay":
        from leanagent.prover.backend import check_lean_toolchain

        check_lean_toolchain(args.env)
    proposer, search = _proposer_and_search(args, db)
    checkpoint = None
    if args.theorems == "test":  # held-out targets: the checkpoint must not have trained on them
        from leanagent.commands.generation import checkpoint_check
        from leanagent.db.training_data import resolve_repos

        checkpoint = checkpoint_check(db, proposer, resolve_repos(db, [args.repo] if args.repo else None), "test",
                                      args.allow_overlap)
    campaign = _campaign(args, proposer, search, device)
    config = {"env": args.env, "theorems": args.theorems, "repo": args.repo, "budget": search.budget(),
              "workers": args.workers, "pool": args.pool, "ray_address": args.ray_address, "device": device,
              "gpus_per_worker": args.gpus_per_worker, "searches_per_worker": args.searches_per_worker}
    run_id = start_run(db, "prove", f"prove-{args.env}", config)
    out = _run_with_progress(db, campaign, run_id, args, ctx)
    summary = {"proved": out.proved, "attempted": out.attempted, "expansions": out.expansions,
               "seconds": out.seconds, "skipped": out.skipped, "env": args.env, "model": out.model,
               "rejected": out.rejected, "checks": out.checks, "backends": out.backends, "checkpoint": checkpoint,
               "baselines": out.baselines, "polished": out.polished,
               "budget": out.budget}
    ctx.emit(summary, lambda: _print_summary(args, out, checkpoint))
    return 0


def _check_numbers(args) -> None:
    """A ConfigError for a count or a time out of its range."""
    from leanagent.errors import ConfigError

    if args.workers < 0 or args.timeout <= 0 or args.num_tactics < 1 or \
            (args.expand_batch is not None and args.expand_batch < 1):
        raise ConfigError("--workers must be >= 0, --timeout > 0, --num-tactics and --expand-batch >= 1")
    if args.gpus_per_worker is not None and args.gpus_per_worker < 0:
        raise ConfigError("--gpus-per-worker must be >= 0")
    if args.searches_per_worker is not None and args.searches_per_worker < 1:
        raise ConfigError("--searches-per-worker must be >= 1")
    if getattr(args, "polish_seconds", 0.0) < 0:
        raise ConfigError("--polish-seconds must be >= 0 (0: polish nothing)")


def _proposer_and_search(args, db) -> tuple:
    """(the resolved proposer options, the search budget), warning when the proposers may read held-out steps."""
    from leanagent.generator.options import ProposerOptions
    from leanagent.prover.proposers import resolve
    from leanagent.prover.search import SearchConfig
    from leanagent.training.options import from_args

    # The proposers read the train split unless told otherwise, whatever is proved: a proof found with
    # held-out steps visible could copy a held-out tactic, so it never becomes training data (db/proofs.py).
    # The target theorem's own steps (and its copies') never reach a proposer (leanagent/data.py).
    proposer = from_args(ProposerOptions, args, base=ProposerOptions(source_split="train"))
    if args.theorems == "test" and proposer.source_split != "train":
        log.warning("--theorems test with --source-split %s: the proposers read other held-out theorems' "
                    "proofs; the figure is not a held-out result (use --source-split train)", proposer.source_split)
    elif proposer.source_split != "train":
        log.warning("--source-split %s: the proofs found are kept for review but never become training data "
                    "(their proposers saw held-out steps)", proposer.source_split)
    search = SearchConfig(num_sampled_tactics=args.num_tactics, timeout=args.timeout,
                          max_expansions=args.max_expansions, tactic_timeout=args.tactic_timeout,
                          expand_batch=args.expand_batch)
    return resolve(proposer, db), search


def _campaign(args, proposer, search, device: str):
    """The prover.campaign.Campaign the command line describes."""
    from leanagent.prover.campaign import Campaign
    from leanagent.prover.leandojo_env import LeanLimits
    from leanagent.prover.polish import PolishOptions
    from leanagent.prover.safety import SafetyPolicy
    from leanagent.lean.repl import ReplOptions
    from leanagent.training.options import from_args

    return Campaign(env=args.env, theorems=args.theorems, repos=[args.repo] if args.repo else None,
                    retry=args.retry, limit=args.limit, workers=args.workers, ray_address=args.ray_address,
                    pool=args.pool,
                    proposer=proposer, search=search,
                    policy=from_args(SafetyPolicy, args), limits=from_args(LeanLimits, args, prefix="lean_"),
                    repl=from_args(ReplOptions, args, prefix="repl_"), device=device,
                    gpus_per_worker=args.gpus_per_worker, searches=args.searches_per_worker,
                    baselines=not args.no_baselines, polish=from_args(PolishOptions, args))


def _run_with_progress(db, campaign, run_id: int, args, ctx):
    """Run the campaign as run `run_id`: an event per attempt, a progress bar unless --json; the run is
    finished (failed on an exception) either way."""
    from leanagent.db.runs import finish_run
    from leanagent.prover.campaign import run_campaign

    bar = None

    def on_start(n: int) -> None:
        nonlocal bar
        if not ctx.json and n:  # an empty bar would only leave a blank line
            from leanagent.progress import Progress

            bar = Progress(n, f"prove ({args.env})", "thm")

    def on_result(res, totals) -> None:
        ctx.event(event="attempt", theorem=res.theorem.full_name, outcome=res.outcome, expansions=res.expansions,
                  proof=res.proof)
        if bar is not None:
            bar.update(1, proved=totals.proved, attempted=totals.attempted)

    ok = False
    try:
        out = run_campaign(db, campaign, run_id=run_id, on_start=on_start, on_result=on_result)
        ok = True
    finally:
        if bar is not None:
            bar.close()
        finish_run(db, run_id, ok=ok)
    return out


def _print_summary(args, out, checkpoint) -> None:
    """The human form of the summary: proved counts beside the baselines, the re-check, the backends."""
    from leanagent.commands.generation import print_checkpoint
    from leanagent.prover.baselines import beside

    print_checkpoint(checkpoint)
    note = " (replay: tactics checked against recorded traces, not Lean)" if args.env == "replay" else ""
    print(f"{args.env}: proved {beside(out.proved, out.attempted, out.baselines)} theorems, "
          f"{out.expansions} expansions, {out.seconds:.1f}s; {out.skipped} skipped as already attempted{note}")
    if args.env != "replay" and out.proved:
        # Only `verified` proves a theorem (prover/recheck.py); the others wait in review, flagged.
        print("whole-file re-check of the proved: " + ", ".join(f"{n} {k}" for k, n in sorted(out.checks.items()))
              + " (only verified ones count as proofs; see `leanagent review`)")
    if out.polished:
        print(f"{out.polished} verified proof(s) polished: a shorter or simp-only variant kept beside the found one")
    if out.rejected:
        print(f"{out.rejected} proof(s) found tactic by tactic were rejected by the whole-file re-check "
              "(see `leanagent review`)")
    for repo, env in out.backends.items():
        print(f"  {repo}: {env}")
    if args.env == "replay" and args.theorems == "sorry" and not out.proved:
        # Replay answers from recorded proofs, and a sorry theorem has none of its own.
        print("hint: replay proves a sorry theorem only when another theorem recorded the same goal; "
              "for held-out evaluation use --theorems test")
