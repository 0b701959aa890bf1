"""The review web app (`create_app`) and the patch export (`export_patch`)."""

from __future__ import annotations


def create_app(db, token=None, **kwargs):
    """The FastAPI review app; see `leanagent.review.app.create_app`."""
    from leanagent.review.app import create_app as _create_app

    return _create_app(db, token, **kwargs)
