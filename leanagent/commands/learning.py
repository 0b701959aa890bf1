"""`train` and `eval`."""

from leanagent.commands._stub import add_stub


def register(subparsers, common) -> None:
    add_stub(subparsers, common, "train", "train the premise retriever or the tactic generator")
    add_stub(subparsers, common, "eval", "evaluate retrieval or tactic generation")
