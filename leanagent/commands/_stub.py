"""Subcommands that later work will fill in say so plainly, and nothing else."""

from leanagent.errors import NotAvailableError


def not_yet(name: str):
    def run(args, ctx) -> int:
        raise NotAvailableError(f"`leanagent {name}` is not yet available in this version")

    return run


def add_stub(subparsers, common, name: str, help_text: str):
    p = subparsers.add_parser(name, parents=[common], help=f"{help_text} (not yet available)",
                              description=f"{help_text}. Not yet available in this version.")
    p.set_defaults(func=not_yet(name))
    return p
