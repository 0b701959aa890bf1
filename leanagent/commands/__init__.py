"""Subcommand groups. Each module has `register(subparsers, common)`.

Every parser sets `func(args, ctx) -> int` with `set_defaults`. `common` is the
parent parser with the global options; pass it as `parents=[common]`.
"""

from leanagent.commands import data, lifelong, prove, review, sources, train_eval

# The order here is the order in `leanagent --help`.
COMMAND_MODULES = [lifelong, data, sources, train_eval, prove, review]
