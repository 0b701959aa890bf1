"""`import`, `export`, `db stats`, `db migrate`."""

from __future__ import annotations

import time
from pathlib import Path

from leanagent.db.splits import DEFAULT_SEED, SPLIT_KINDS, SPLIT_POLICIES


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "import", parents=[common], help="load a LeanDojo-format traced dataset into the database",
        description="Load a LeanDojo-format traced dataset (metadata.json, {random,novel_premises}/"
                    "{train,val,test}.json, optional corpus.jsonl) into the database as one repository. "
                    "Importing the same data twice changes nothing; a new commit replaces the repository's "
                    "theorems and keeps agent proofs of theorems that still exist. One transaction: an "
                    "interrupted import leaves the database as it was.")
    p.add_argument("path", metavar="PATH", help="the dataset folder")
    p.add_argument("--name", help="repository name (default: the last part of metadata's from_repo url)")
    p.add_argument("--include", action="append", default=[], metavar="GLOB",
                   help="keep only theorems whose file_path matches (repeatable), e.g. 'Mathlib/Topology/**'")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="drop theorems whose file_path matches (repeatable)")
    p.add_argument("--split", choices=SPLIT_POLICIES, default="hash",
                   help="how theorems get their train/val/test split: hash (seeded per theorem, the default), "
                        "dataset (keep the dataset's own split files, comparable with published LeanDojo "
                        "figures) or test (evaluation-only: never used for training, kNN, frequency or "
                        "templates, e.g. miniF2F)")
    p.add_argument("--source", metavar="DIR",
                   help="the Lean project the dataset was traced from: its files are stored with the theorems, "
                        "so `leanagent review` shows them and `export-proofs` can patch them")
    p.set_defaults(func=run_import)

    p = subparsers.add_parser(
        "export", parents=[common], help="write every repository as one LeanDojo-format dataset with splits",
        description="Write the merged dataset of every repository in LeanDojo's format, with train/val/test "
                    "splits made deterministically from the seed. `random` splits theorems by a seeded hash; "
                    "`novel_premises` makes every val/test theorem use a premise that no training theorem uses.")
    p.add_argument("path", metavar="PATH", help="output folder (must not exist, or be empty)")
    p.add_argument("--split", choices=SPLIT_KINDS, action="append",
                   help="which split kind to write (repeatable; default: both)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"split seed (default {DEFAULT_SEED})")
    p.set_defaults(func=run_export)

    p = subparsers.add_parser("db", parents=[common], help="database statistics and schema migration",
                              description="Inspect or upgrade the database.")
    sub = p.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    s = sub.add_parser("stats", parents=[common], help="counts per repository",
                       description="Per repository: theorems, theorems with proofs (human or agent), open "
                                   "sorry theorems, tactic steps, distinct annotated premises, agent proofs, and "
                                   "copies: theorems that also exist in another repository (same full name and "
                                   "statement; one split, held out together).")
    s.set_defaults(func=run_stats)
    s = sub.add_parser("migrate", parents=[common], help="upgrade an older database to this version's schema",
                       description="Apply the Alembic migrations that the database does not have yet.")
    s.set_defaults(func=run_migrate)


def run_import(args, ctx) -> int:
    from leanagent.db.ingest import holds, store_repo
    from leanagent.errors import DatasetError
    from leanagent.sources.leandojo_format import check_dataset_dir
    from leanagent.sources.source_text import read_traced

    path = Path(args.path)
    check_dataset_dir(path)  # a bad path fails before the database is created
    t0 = time.perf_counter()
    db = ctx.db()
    record = read_traced(path, name=args.name, include=args.include, exclude=args.exclude, is_known=holds(db),
                         split=args.split, source=args.source)
    if record.parsed and not record.theorems and (args.include or args.exclude):
        raise DatasetError(f"{path}: no theorem matches the --include/--exclude globs",
                           fix="check the globs against the records' file_path, e.g. 'Mathlib/Data/**'")
    result = store_repo(db, record)
    seconds = time.perf_counter() - t0
    data = {**result.as_dict(), "seconds": round(seconds, 3)}
    copies = (f"; {result.copies} of its theorems also exist in another repository: every copy gets one split "
              f"and is held out with the theorem" if result.copies else "")
    ctx.emit(data, f"{result.action} repository {result.repo}: {result.theorems} theorems "
                   f"(+{result.added} new, {result.kept} kept, -{result.removed} removed), "
                   f"{result.steps} tactic steps, {result.premises_new} new premises in {seconds:.2f}s{copies}")
    return 0


def run_export(args, ctx) -> int:
    from leanagent.db.export import export_dataset

    kinds = tuple(dict.fromkeys(args.split)) if args.split else SPLIT_KINDS
    t0 = time.perf_counter()
    summary = export_dataset(ctx.db(create=False), args.path, kinds=kinds, seed=args.seed)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    summary["path"] = str(args.path)

    def human() -> None:
        print(f"exported {summary['theorems']} theorems to {args.path} in {summary['seconds']:.2f}s")
        for kind in kinds:
            counts = summary[kind]
            print(f"  {kind}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

    ctx.emit(summary, human)
    return 0


def run_stats(args, ctx) -> int:
    from rich.console import Console
    from rich.table import Table

    from leanagent.db.stats import COLUMNS, repo_stats

    rows = repo_stats(ctx.db(create=False))

    def human() -> None:
        if not rows:
            print("the database holds no repository yet; add one with `leanagent import PATH`")
            return
        table = Table(title=f"leanagent database {ctx.db_url}")
        table.add_column("repository", no_wrap=True)
        table.add_column("tracer")  # what produced the records: leandojo, repl, dataset, scan, ...
        for c in COLUMNS:
            table.add_column(c.replace("_", " "), justify="right")
        for r in rows:
            name = r["repository"] + (" (evaluation only)" if r["split"] == "test" else "")
            table.add_row(name, r["tracer"], *(str(r[c]) for c in COLUMNS))
        if len(rows) > 1:
            table.add_row("total", "", *(str(sum(r[c] for r in rows)) for c in COLUMNS), style="bold")
        console = Console()
        if not console.is_terminal:  # a pipe or a file: rich would assume 80 columns and cut the headers
            console = Console(width=max(200, len(str(table.title)) + 4))
        console.print(table)

    ctx.emit({"repositories": rows}, human)
    return 0


def run_migrate(args, ctx) -> int:
    from leanagent.db.engine import open_db

    db = open_db(ctx.db_url, check=False)
    try:
        before, after = db.migrate()
    finally:
        db.dispose()
    if before == after:
        text = f"database {ctx.db_url} is already at the latest schema ({after})"
    else:
        text = f"database {ctx.db_url} upgraded from schema {before or 'none'} to {after}"
    ctx.emit({"url": ctx.db_url, "from": before, "to": after}, text)
    return 0
