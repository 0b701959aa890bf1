"""`trace`, `crawl`, `scan`, `curriculum`."""

from leanagent.commands._stub import add_stub


def register(subparsers, common) -> None:
    add_stub(subparsers, common, "trace", "trace repos.yaml entries with LeanDojo into the database")
    add_stub(subparsers, common, "crawl", "discover Lean 4 repositories on GitHub")
    add_stub(subparsers, common, "scan", "list declarations whose proofs contain sorry or admit")
    add_stub(subparsers, common, "curriculum", "order repositories by difficulty")
