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
from leanagent.errors import LeanAgentError, UsageError
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


class _Parser(argparse.ArgumentParser):
    """argparse with leanagent's error rule: a bad command line is one line naming the fix, like
    every other error, instead of argparse's usage block and exit code 2 (2 means "lock held" to cron)."""

    argv: list[str] = []  # set by `main`, to find the subcommand an unknown option was given to

    def error(self, message: str):  # called by argparse for every command-line mistake
        command = _command_parser(self, self.argv) if message.startswith("unrecognized arguments:") else self
        where = command.prog.split(" ", 1)[1] + ": " if " " in command.prog else ""
        if message.startswith("the following arguments are required"):
            # argparse checks required options before unknown ones: `learn --rpos F` said only that
            # --repos is required. Name the misspelt option too, with the one it probably meant.
            known = {o for a in command._actions for o in a.option_strings}
            unknown = [w for w in self.argv if w.startswith("--") and w.split("=", 1)[0] not in known]
            if unknown:
                typo = "unrecognized arguments: " + " ".join(unknown)
                raise UsageError(f"{where}{typo}; {message}", fix=_usage_fix(command, typo))
        raise UsageError(where + message, fix=_usage_fix(command, message))


def _command_parser(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.ArgumentParser:
    """The (sub)command parser that `argv` reaches: `leanagent db stats ...` -> the `db stats` parser."""
    current = parser
    for word in argv:
        subs = [a for a in current._actions if isinstance(a, argparse._SubParsersAction)]
        if subs and word in subs[0].choices:
            current = subs[0].choices[word]
    return current


def _usage_fix(parser: argparse.ArgumentParser, message: str) -> str:
    """`see leanagent X --help`, plus the closest real option for an unknown `--flag`."""
    fix = f"see `{parser.prog} --help`"
    if not message.startswith("unrecognized arguments:"):
        return fix
    import difflib

    options = sorted({o for a in parser._actions for o in a.option_strings if o.startswith("--")})
    hints = []
    for word in message.split(":", 1)[1].split():
        name = word.split("=", 1)[0]
        if not name.startswith("--"):
            continue
        # `--epochs` is `--train-epochs` in `learn`: a suffix match first, then spelling.
        close = [o for o in options if o.endswith("-" + name[2:])] or difflib.get_close_matches(name, options, 2, 0.75)
        if close:
            hints.append(f"{' or '.join(close[:2])} for {name}")
    return f"use {', '.join(hints)}; {fix}" if hints else fix


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

    parser = _Parser(prog="leanagent", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
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
    """Run one command. Exit codes: 0 done, 1 any error (a bad command line included), 2 `learn` or
    `nightly` found the database's run lock held, 130 interrupted (Ctrl-C)."""
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    # Decided before parsing, so that a bad command line under --json also answers in JSON.
    as_json = "--json" in argv
    _quiet_libraries()
    ctx = None
    try:
        parser = build_parser()
        _Parser.argv = argv
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            if getattr(args, "command", None):  # a group such as `leanagent db` without its subcommand
                parser.parse_args([args.command, "--help"])
            parser.print_help()
            return 0
        ctx = make_context(args)
        code = args.func(args, ctx)
        return int(code or 0)
    except LeanAgentError as exc:
        return _fail("error", exc.message, exc.fix, getattr(exc, "exit_code", 1), as_json)
    except KeyboardInterrupt:
        return _fail("interrupted", "interrupted; finished steps are kept and the unfinished one left no trace",
                     "run the same command again to continue", 130, as_json)
    except BrokenPipeError:
        # `leanagent ... | head`: stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if ctx is not None:
            ctx.close()


def _quiet_libraries() -> None:
    """No `Loading weights: 100%|...|` bar from transformers on every model load: the commands show their
    own progress (and --json output must stay JSON). Hugging Face reads this variable when it is imported;
    Ray workers inherit it."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:  # imported already (tests, an embedding program): switch it off there
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def _fail(kind: str, message: str, fix: str | None, code: int, as_json: bool) -> int:
    """The one place a failure becomes output: one line on stderr, or one JSON object on stdout with --json
    (where stdout carries only JSON documents)."""
    text = " ".join(message.split())
    if as_json:
        print(json.dumps({"event": kind, "error": text, "fix": fix, "exit_code": code}), flush=True)
    else:
        if sys.stderr.isatty():  # a progress bar may have left the cursor mid-line
            sys.stderr.write("\r\033[K")
        prefix = "leanagent: " if kind == "interrupted" else "leanagent: error: "
        print(prefix + text + (f" (fix: {' '.join(fix.split())})" if fix else ""), file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
