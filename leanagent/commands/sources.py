"""`trace`, `crawl`, `scan`, `curriculum`."""

from __future__ import annotations

from pathlib import Path

from leanagent.curriculum import ORDERS


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "trace", parents=[common], help="trace repos.yaml entries (LeanDojo or the Lean REPL) into the database",
        description="Bring every enabled repos.yaml entry into the database: `traced` datasets are imported, "
                    "`url`+`commit` entries are cloned or fetched into a cache and traced with lean-dojo (Lean up "
                    "to 4.11) or the Lean REPL (later Lean; --tracer chooses), `path` projects are traced when a "
                    "Lean toolchain is installed and scanned for sorry theorems otherwise. Entries already stored at the same commit from the same input are skipped.")
    p.add_argument("--repos", required=True, metavar="FILE", help="the repos.yaml to read")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="only the entry with this name (repeatable)")
    p.add_argument("--tracer", choices=("auto", "leandojo", "repl"), default=None,
                   help="how git and path entries are traced, over each entry's `tracer:`: leandojo, repl (the "
                        "Lean REPL) or auto (LeanDojo up to Lean 4.11, the REPL from 4.12; the default)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="Lean REPL processes tracing a repository's files at once (the REPL tracer; default 1)")
    p.set_defaults(func=run_trace)

    p = subparsers.add_parser(
        "crawl", parents=[common], help="discover Lean 4 repositories on GitHub",
        description="Search GitHub for Lean 4 repositories (by stars) whose lean-toolchain the installed "
                    "lean-dojo supports, skipping a block list, and print repos.yaml entries pinned to the "
                    "default branch's head commit. The token comes from GITHUB_TOKEN (optional, raises the "
                    "rate limit).")
    p.add_argument("--github", action="store_true", required=True, help="crawl GitHub (the only source so far)")
    p.add_argument("--min-stars", type=int, default=10, metavar="N", help="minimum stars (default 10)")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N repositories (default 20)")
    p.add_argument("--block", action="append", default=[], metavar="OWNER/NAME",
                   help="also skip this repository (repeatable; a default list of core dependencies is always "
                        "skipped)")
    p.add_argument("--append", metavar="FILE",
                   help="append the entries to this repos.yaml (created if missing), skipping urls it lists")
    p.set_defaults(func=run_crawl)

    p = subparsers.add_parser(
        "scan", parents=[common], help="list declarations whose proofs contain sorry or admit",
        description="Scan .lean files without Lean and list every theorem/lemma/def/instance/example/abbrev "
                    "whose proof uses sorry or admit: file, line, full name, kind, and whether the sorry is in "
                    "tactic mode (inside `by`) or term mode. Comments, doc comments, strings and identifiers "
                    "such as sorry_lemma are ignored.")
    p.add_argument("path", metavar="PATH", help="a folder of .lean files or one .lean file")
    p.add_argument("--include", action="append", default=[], metavar="GLOB",
                   help="only files whose path relative to PATH matches (repeatable), e.g. 'Mathlib/Order/**'")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="skip files whose path relative to PATH matches (repeatable)")
    p.set_defaults(func=run_scan)

    p = subparsers.add_parser(
        "curriculum", parents=[common], help="order repositories by difficulty",
        description="Order the repos.yaml repositories from easy to hard as LeanAgent does: a theorem with S "
                    "traced steps has difficulty e^S, sorry theorems are infinitely hard, Easy/Medium/Hard are "
                    "split at the 33rd/67th percentiles of the finite difficulties of every repository in the "
                    "database, and repositories with more Easy theorems come first. Entries missing from the "
                    "database are brought in first (as `trace` does). The order is stored in the database.")
    p.add_argument("--repos", required=True, metavar="FILE", help="the repos.yaml to order")
    p.add_argument("--order", choices=ORDERS, default="easy-count",
                   help="easy-count: most Easy theorems first (LeanAgent); easy-fraction: highest share of Easy "
                        "theorems first; hard-first: the reverse of easy-count; random: a shuffle (seed 0; "
                        "learn seeds it with train.seed). Ties break by name.")
    p.set_defaults(func=run_curriculum)


def _selected(config, only: list[str]):
    if not only:
        return config
    entries = [config.entry(n) for n in only]  # raises ConfigError naming the valid names
    return config.model_copy(update={"repos": entries})


def _sync_with_progress(ctx, config, events: bool = True, tracer: str | None = None, workers: int = 1) -> list:
    """Run `sync_all`, with one progress bar per repository (JSON events with --json, if `events`)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from leanagent.sources.sync import STAGES, sync_all

    db = ctx.db()
    if ctx.json:
        stage = (lambda n, s: ctx.event(event="stage", repo=n, stage=s)) if events else None
        return sync_all(db, config, home=ctx.home, stage=stage, tracer=tracer, workers=workers)
    console = Console(stderr=True)
    tasks: dict[str, int] = {}
    with Progress(SpinnerColumn(), TextColumn("{task.fields[repo]:<28}"), BarColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        def stage(name: str, what: str) -> None:
            if name not in tasks:
                tasks[name] = progress.add_task(what, total=len(STAGES), repo=name)
            progress.update(tasks[name], description=what, completed=STAGES.index(what) if what in STAGES else 0)

        def done(result) -> None:
            if result.name not in tasks:
                tasks[result.name] = progress.add_task("", total=1, repo=result.name)
            progress.update(tasks[result.name], total=1, completed=1, description=_describe(result))

        return sync_all(db, config, home=ctx.home, stage=stage, on_result=done, tracer=tracer, workers=workers)


def _describe(result) -> str:
    i = result.ingest
    text = result.action
    if i.get("theorems") is not None and result.action not in ("disabled",):
        text += f", {i['theorems']} theorems"
        if result.action != "unchanged":
            text += f" (+{i.get('added', 0)} -{i.get('removed', 0)}), {i.get('steps', 0)} steps"
    if result.message:
        text += f"; {result.message}"
    return text


def run_trace(args, ctx) -> int:
    from leanagent.config import load_repos

    config = _selected(load_repos(args.repos), args.only)
    if not config.repos:
        from leanagent.errors import ConfigError

        raise ConfigError(f"{args.repos}: no repositories listed", fix="add entries under `repos:`")
    if args.workers < 1:
        from leanagent.errors import UsageError

        raise UsageError(f"--workers {args.workers}: at least 1", fix="give --workers 1 or more")
    results = _sync_with_progress(ctx, config, tracer=args.tracer, workers=args.workers)
    if ctx.json:
        ctx.emit({"repos": [r.as_dict() for r in results]})
    else:
        for r in results:
            print(f"{r.name}: {_describe(r)}")
    return 0


def run_crawl(args, ctx) -> int:
    import sys

    from leanagent.config import append_entries, entries_yaml, load_repos
    from leanagent.sources.github import DEFAULT_BLOCK, CrawlOptions, crawl

    skip_urls: set[str] = set()
    if args.append and Path(args.append).exists():
        skip_urls = {e.url for e in load_repos(args.append).repos if getattr(e, "url", None)}
    options = CrawlOptions(min_stars=args.min_stars, limit=args.limit, block=DEFAULT_BLOCK + tuple(args.block),
                           skip_urls=skip_urls)
    skipped: list[dict] = []
    found = crawl(options, on_skip=lambda n, why: skipped.append({"repo": n, "why": why}))
    entries = [f.entry() for f in found]
    if args.append:
        append_entries(Path(args.append), entries)
    if ctx.json:
        ctx.emit({"found": [f.as_dict() for f in found], "skipped": skipped, "appended_to": args.append})
    elif args.append:
        print(f"appended {len(entries)} entries to {args.append} ({len(skipped)} repositories skipped)")
    else:
        print(entries_yaml(entries), end="")
        print(f"# {len(entries)} repositories; {len(skipped)} skipped", file=sys.stderr)
    return 0


def run_scan(args, ctx) -> int:
    from leanagent.sources.scan import iter_sorry_lines, scan_tree

    if args.include:
        _check_globs(Path(args.path), args.include)
    decls = scan_tree(args.path, args.include, args.exclude)

    def human() -> None:
        for line in iter_sorry_lines(decls):
            print(line)
        tactic = sum(d.mode == "tactic" for d in decls)
        term = sum(d.mode == "term" for d in decls)
        print(f"{len(decls)} declarations with sorry ({tactic} tactic mode, {term} term mode, "
              f"{len(decls) - tactic - term} both)")

    ctx.emit({"declarations": [d.as_dict() for d in decls]}, human)
    return 0


def _check_globs(root: Path, include: list[str]) -> None:
    """--include globs that select no file are a mistake to name, not an empty answer: usually the glob
    was written from another folder than PATH (`NatList/**` for PATH `examples`)."""
    from leanagent.errors import ConfigError
    from leanagent.sources.leandojo_format import path_selected
    from leanagent.sources.scan import lean_files

    every = [rel for _, rel in lean_files(root)]
    if not every or any(path_selected(rel, include) for rel in every):
        return
    # The same glob one or more folders deeper: suggest it with PATH's part in front.
    for rel in every:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            if path_selected("/".join(parts[i:]), include):
                prefix = "/".join(parts[:i])
                raise ConfigError(f"--include {' '.join(include)} selects no file under {root}: globs match paths "
                                  f"relative to PATH, such as {rel}",
                                  fix=f"write --include '{prefix}/{include[0]}', or scan {root / prefix}")
    raise ConfigError(f"--include {' '.join(include)} selects no file under {root} (globs match paths relative "
                      f"to PATH, such as {every[0]})", fix="check the glob against those paths")


def run_curriculum(args, ctx) -> int:
    from leanagent.config import load_repos
    from leanagent.curriculum import curriculum, split_points
    from leanagent.db.curriculum_store import difficulty_data, store_positions
    from leanagent.errors import ConfigError

    config = load_repos(args.repos)
    if not config.enabled():
        raise ConfigError(f"{args.repos}: no enabled repositories", fix="add entries under `repos:`")
    _sync_with_progress(ctx, config, events=False)  # --json prints one document: the table's data
    db = ctx.db()
    data = difficulty_data(db)
    names = [e.repo_name for e in config.enabled()]
    population = [t for ts in data.values() for t in ts]  # every repository in the database
    rows = curriculum({n: data.get(n, []) for n in names}, args.order, population=population)
    store_positions(db, [r.name for r in rows])
    cuts = split_points(population)
    payload = {"order": args.order, "percentiles": {"p33": cuts[0] if cuts else None, "p67": cuts[1] if cuts else None},
               "repos": [{"position": r.position, "repository": r.name, **{k: v for k, v in r.as_dict().items()
                                                                        if k not in ("name", "position")}}
                         for r in rows]}

    def human() -> None:
        from rich.console import Console
        from rich.table import Table

        title = f"Curriculum ({args.order}); Easy <= {_fmt(cuts[0])} < Medium <= {_fmt(cuts[1])} < Hard" if cuts \
            else f"Curriculum ({args.order}); no traced steps yet"
        table = Table()
        for col in ("#", "repository", "theorems", "easy", "medium", "hard", "sorry"):
            table.add_column(col, justify="left" if col == "repository" else "right")
        for r in rows:
            table.add_row(str(r.position), r.name, str(r.theorems), str(r.easy), str(r.medium), str(r.hard),
                          str(r.sorry))
        print(title)
        Console(width=max(100, len(title))).print(table)

    ctx.emit(payload, human)
    return 0


def _fmt(x: float) -> str:
    import math

    return f"e^{math.log(x):.2f}" if x > 0 else str(x)
