"""One dataclass backs CLI options, YAML and --help."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from leanagent.errors import ConfigError
from leanagent.training.options import add_arguments, field_docs, from_args, from_mapping


@dataclass
class Opts:
    lr: float = 0.1
    """Peak learning rate."""
    limit: int | None = None
    """Optional limit."""
    names: list[str] | None = None
    """Some names."""
    fast: bool = False
    """Go fast."""


def _parser():
    p = argparse.ArgumentParser()
    add_arguments(p, Opts)
    return p


def test_help_text_comes_from_field_docstrings():
    assert field_docs(Opts) == {"lr": "Peak learning rate.", "limit": "Optional limit.", "names": "Some names.",
                                "fast": "Go fast."}
    text = _parser().format_help()
    assert "--lr LR" in text and "Peak learning rate. (default: 0.1)" in text and "--no-fast" in text


def test_only_given_options_override_the_base():
    args = _parser().parse_args(["--limit", "3", "--fast", "--names", "a", "b"])
    got = from_args(Opts, args, base=Opts(lr=0.5))
    assert got == Opts(lr=0.5, limit=3, names=["a", "b"], fast=True)
    assert from_args(Opts, _parser().parse_args(["--limit", "none"])).limit is None


def test_yaml_mapping_rejects_unknown_keys():
    assert from_mapping(Opts, {"lr": 0.2}) == Opts(lr=0.2)
    with pytest.raises(ConfigError) as err:
        from_mapping(Opts, {"learning_rate": 0.2})
    assert "learning_rate" in err.value.message and "lr" in err.value.fix
