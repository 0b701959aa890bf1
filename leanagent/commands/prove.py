"""`prove`: best-first search over the chosen theorems, on Ray workers, results into the database."""

from __future__ import annotations

import sys

from leanagent.db.proofs import THEOREM_SETS
from leanagent.prover.workers import ENVS


def register(subparsers, common) -> None:
    from leanagent.generator.factory import ProposerOptions
    from leanagent.prover.leandojo_env import LeanLimits
    from leanagent.prover.safety import SafetyPolicy
    from leanagent.training.options import add_arguments

    p = subparsers.add_parser(
        "prove", parents=[common], help="search for proofs of sorry or held-out theorems",
        description="Best-first proof search. Theorems are spread over Ray workers (local Ray by default; "
                    "--ray-address joins a cluster), each with its own environment and proposer; results are "
                    "written to the database by this process as they finish. A theorem that already has an "
                    "attempt under the same model and budget is skipped unless --retry. `--env replay` checks "
                    "tactics against recorded traces instead of Lean (offline evaluation); its reports say so.")
    p.add_argument("--repo", metavar="NAME", help="only theorems of this repository")
    p.add_argument("--theorems", choices=THEOREM_SETS, default="sorry",
                   help="sorry theorems (default), all theorems, or the held-out test split")
    p.add_argument("--env", choices=ENVS, default="leandojo", help="leandojo (real Lean, default) or replay")
    p.add_argument("--workers", type=int, default=1, help="Ray workers (0 = in this process, no Ray)")
    p.add_argument("--ray-address", metavar="ADDR", help="join this Ray cluster instead of starting local Ray")
    p.add_argument("--timeout", type=float, default=600.0, help="wall-clock seconds per theorem (default 600)")
    p.add_argument("--max-expansions", type=int, default=None, help="expanded nodes per theorem (default: no limit)")
    p.add_argument("--num-tactics", type=int, default=64, help="tactics asked per expansion (default 64)")
    p.add_argument("--tactic-timeout", type=float, default=5.0, help="seconds per tactic in Lean (default 5)")
    p.add_argument("--expand-batch", type=int, default=1, help="states sent to the generator together (default 1)")
    p.add_argument("--limit", type=int, default=None, help="prove at most this many theorems")
    p.add_argument("--retry", action="store_true", help="also prove theorems already attempted with this model/budget")
    add_arguments(p, ProposerOptions, title="proposer options")
    add_arguments(p, SafetyPolicy, title="tactic safety (model output is untrusted code)")
    add_arguments(p, LeanLimits, prefix="lean_", title="Lean resource limits (--env leandojo)")
    p.set_defaults(func=run)


def run(args, ctx) -> int:
    from leanagent.db.training_data import finish_run, start_run
    from leanagent.errors import ConfigError
    from leanagent.generator.factory import ProposerOptions, resolve
    from leanagent.prover.campaign import Campaign, run_campaign
    from leanagent.prover.leandojo_env import LeanLimits
    from leanagent.prover.safety import SafetyPolicy
    from leanagent.prover.search import SearchConfig
    from leanagent.training.options import from_args

    if args.workers < 0 or args.timeout <= 0 or args.num_tactics < 1 or args.expand_batch < 1:
        raise ConfigError("--workers must be >= 0, --timeout > 0, --num-tactics and --expand-batch >= 1")
    if args.env == "leandojo":
        from leanagent.prover.leandojo_env import check_toolchain

        check_toolchain()
    db = ctx.db()
    base = ProposerOptions(source_split="train" if args.theorems == "test" else "all")
    search = SearchConfig(num_sampled_tactics=args.num_tactics, timeout=args.timeout,
                          max_expansions=args.max_expansions, tactic_timeout=args.tactic_timeout,
                          expand_batch=args.expand_batch)
    campaign = Campaign(env=args.env, theorems=args.theorems, repos=[args.repo] if args.repo else None,
                        retry=args.retry, limit=args.limit, workers=args.workers, ray_address=args.ray_address,
                        proposer=resolve(from_args(ProposerOptions, args, base=base), db), search=search,
                        policy=from_args(SafetyPolicy, args), limits=from_args(LeanLimits, args, prefix="lean_"))
    config = {"env": args.env, "theorems": args.theorems, "repo": args.repo, "budget": search.budget(),
              "workers": args.workers, "ray_address": args.ray_address}
    run_id = start_run(db, "prove", f"prove-{args.env}", config)
    bar = None

    def on_start(n: int) -> None:
        nonlocal bar
        if not ctx.json:
            from tqdm import tqdm

            bar = tqdm(total=n, desc=f"prove ({args.env})", unit="thm", file=sys.stderr, leave=True)

    def on_result(res, totals) -> None:
        ctx.event(event="attempt", theorem=res.theorem.full_name, outcome=res.outcome, expansions=res.expansions,
                  proof=res.proof)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(proved=totals.proved, attempted=totals.attempted)

    ok = False
    try:
        out = run_campaign(db, campaign, run_id=run_id, on_start=on_start, on_result=on_result)
        ok = True
    finally:
        if bar is not None:
            bar.close()
        finish_run(db, run_id, ok=ok)
    summary = {"proved": out.proved, "attempted": out.attempted, "expansions": out.expansions,
               "seconds": out.seconds, "skipped": out.skipped, "env": args.env, "model": out.model,
               "budget": out.budget}

    def human() -> None:
        note = " (replay: tactics checked against recorded traces, not Lean)" if args.env == "replay" else ""
        print(f"{args.env}: proved {out.proved}/{out.attempted} theorems, {out.expansions} expansions, "
              f"{out.seconds:.1f}s; {out.skipped} skipped as already attempted{note}")

    ctx.emit(summary, human)
    return 0
