"""`review` and `export-proofs`."""

from leanagent.commands._stub import add_stub


def register(subparsers, common) -> None:
    add_stub(subparsers, common, "review", "start the review web app for agent proofs")
    add_stub(subparsers, common, "export-proofs", "write accepted proofs as a git-apply-able patch")
