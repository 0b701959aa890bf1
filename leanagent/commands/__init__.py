"""Subcommand groups. Each module has `register(subparsers, common)`.

Every parser sets `func(args, ctx) -> int` with `set_defaults`. `common` is the
parent parser with the global options; pass it as `parents=[common]`.
"""

from leanagent.commands import data, learning, lifelong, prove, review, sources

# The order here is the order in `leanagent --help`.
COMMAND_MODULES = [lifelong, data, sources, learning, prove, review]
