"""Fixtures for the review app: the `demo` repository in the shared `db` fixture (tests/conftest.py)."""

from __future__ import annotations

import pytest
from review_data import populate_demo, populate_measured


@pytest.fixture
def demo(db):
    """One repository `demo` with BASIC stored, three sorry theorems, one proof each."""
    return populate_demo(db)


@pytest.fixture
def measured(db):
    """The demo repository with measures on two proofs and a polished variant of Demo.nested_two."""
    return populate_measured(db)
