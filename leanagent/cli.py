"""The `leanagent` command.

Each subcommand group lives in `leanagent/commands/<area>.py` and registers
itself through `register(subparsers, common)`. This module owns what is shared:
the global options (`--db`, `--home`, `--json`), and the one place where a
`LeanAgentError` becomes a single line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from leanagent import __version__
from leanagent.errors import LeanAgentError
from leanagent.settings import DB_ENV, HOME_ENV, default_db_url, default_home

DESCRIPTION = """\
leanagent learns to prove Lean 4 theorems across many repositories over time.

Typical use:
  leanagent learn --repos examples/repos.yaml     # the whole lifelong loop
  leanagent import PATH                           # load LeanDojo-format traced data
  leanagent db stats                              # what the database holds
"""


@dataclass
class Context:
    """What every subcommand gets: resolved global options and output helpers."""

    db_url: str
    home: Path
    json: bool
    _db: Any = field(default=None, repr=False)

    def db(self, *, create: bool = True, upgrade: bool = False):
        """Open the database lazily: commands that never touch it never create it."""
        if self._db is None:
            from leanagent.db.engine import open_db

            self._db = open_db(self.db_url, create=create, upgrade=upgrade)
        return self._db

    def emit(self, data: Any, human: Callable[[], None] | str | None = None) -> None:
        """Print `data` as JSON with --json, else the human rendering."""
        if self.json:
            print(json.dumps(data, indent=None, default=str))
        elif callable(human):
            human()
        elif human is not None:
            print(human)

    def event(self, **data: Any) -> None:
        """One JSON line per event (with --json), for log collectors."""
        if self.json:
            print(json.dumps(data, default=str), flush=True)

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None


def _common_parser(suppress: bool) -> argparse.ArgumentParser:
    # The same options live on the main parser and on every subcommand. On the
    # subcommands they default to SUPPRESS, so `leanagent --db X import` and
    # `leanagent import --db X` both work and neither overrides the other.
    p = argparse.ArgumentParser(add_help=False)
    d = argparse.SUPPRESS if suppress else None
    g = p.add_argument_group("global options")
    g.add_argument("--db", metavar="URL", default=d,
                   help=f"database URL (env {DB_ENV}; default sqlite:///db/leanagent.sqlite under the "
                        "working directory). sqlite:///FILE or postgresql://USER@HOST/NAME")
    g.add_argument("--home", metavar="DIR", default=d,
                   help=f"folder for checkpoints and run folders (env {HOME_ENV}; default checkpoints/)")
    g.add_argument("--json", action="store_true", default=d, help="machine-readable JSON output")
    return p


def build_parser() -> argparse.ArgumentParser:
    from leanagent.commands import COMMAND_MODULES

    parser = argparse.ArgumentParser(prog="leanagent", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     parents=[_common_parser(suppress=False)])
    parser.add_argument("--version", action="version", version=f"leanagent {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = _common_parser(suppress=True)
    for module in COMMAND_MODULES:
        module.register(subparsers, common)
    return parser


def make_context(args: argparse.Namespace) -> Context:
    home = Path(args.home) if getattr(args, "home", None) else default_home()
    return Context(db_url=getattr(args, "db", None) or default_db_url(), home=home,
                   json=bool(getattr(args, "json", False)))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if getattr(args, "command", None):  # a group such as `leanagent db` without its subcommand
            parser.parse_args([args.command, "--help"])
        parser.print_help()
        return 0
    ctx = make_context(args)
    try:
        code = args.func(args, ctx)
        return int(code or 0)
    except LeanAgentError as exc:
        print(f"leanagent: error: {exc.one_line()}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except KeyboardInterrupt:
        print("leanagent: interrupted; the database is unchanged by the unfinished step, "
              "run the same command again to continue", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `leanagent ... | head`: stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        ctx.close()


if __name__ == "__main__":
    raise SystemExit(main())
