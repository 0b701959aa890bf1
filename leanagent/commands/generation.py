"""`train generator` and `eval generator`, attached to the `train` and `eval` groups of learning.py."""

from leanagent.commands._stub import add_stub


def add_train_generator(train_subparsers, common) -> None:
    add_stub(train_subparsers, common, "generator", "train the tactic generator")


def add_eval_generator(eval_subparsers, common) -> None:
    add_stub(eval_subparsers, common, "generator", "evaluate tactic generation")
