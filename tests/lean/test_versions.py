"""The Lean version -> backend rule, at its boundaries."""

from __future__ import annotations

import pytest

from leanagent.lean.versions import (
    LEANDOJO_BEFORE,
    LEANDOJO_FROM,
    LEANINTERACT_FROM,
    choose_backend,
    leandojo_supports,
    leaninteract_supports,
    version_key,
)


@pytest.mark.parametrize("version,env", [
    ("v4.3.0-rc1", None),                 # older than both
    (LEANDOJO_FROM, "leandojo"),          # v4.3.0-rc2: LeanDojo's first
    ("v4.7.0", "leandojo"),
    ("v4.8.0-rc1", "leandojo"),           # both work: LeanDojo (LeanAgent's own setup)
    ("v4.11.0", "leandojo"),
    ("v4.11.2", "leandojo"),
    (LEANDOJO_BEFORE, "leaninteract"),    # v4.12.0-rc1: LeanDojo issue 211
    ("v4.12.0", "leaninteract"),
    ("leanprover/lean4:v4.15.0", "leaninteract"),
    ("4.22.0-rc3", "leaninteract"),
    ("v4.29.1", "leaninteract"),
    ("v4.30.0-rc1", "leaninteract"),      # no stale upper bound: lean-interact has none either
    ("v4.36.0", "leaninteract"),          # today's Lean (2026-11)
    ("v4.40.0", "leaninteract"),          # a future release
    ("v5.0.0", "leaninteract"),
])
def test_choice_by_version(version, env):
    choice = choose_backend(version)
    assert choice.env == env
    assert version.split(":")[-1].lstrip("v") in choice.reason


def test_unknown_versions():
    assert choose_backend(None).env == "leandojo"  # LeanDojo-traced data without a toolchain
    nightly = choose_backend("leanprover/lean4:nightly-2024-05-01")
    assert nightly.env is None and "--env" in nightly.reason


def test_ranges_and_keys():
    assert leandojo_supports("v4.9.0") and leaninteract_supports("v4.9.0")
    assert not leaninteract_supports("v4.7.0") and leaninteract_supports(LEANINTERACT_FROM)
    assert version_key("v4.9.0-rc3") < version_key("v4.9.0") < version_key("v4.9.1") < version_key("v4.10.0-rc1")
    assert version_key("nightly-2024-01-01") is None and version_key(None) is None
