"""`prove`."""

from leanagent.commands._stub import add_stub


def register(subparsers, common) -> None:
    add_stub(subparsers, common, "prove", "search for proofs of sorry or held-out theorems")
