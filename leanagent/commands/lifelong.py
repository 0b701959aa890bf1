"""`learn`, `nightly`, `runs`."""

from leanagent.commands._stub import add_stub


def register(subparsers, common) -> None:
    add_stub(subparsers, common, "learn", "run the lifelong loop over repos.yaml")
    add_stub(subparsers, common, "nightly", "fetch, re-trace, train and prove within a time budget (for cron)")
    add_stub(subparsers, common, "runs", "list runs and their steps")
