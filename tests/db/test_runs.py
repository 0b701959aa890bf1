"""Run bookkeeping (db/runs.py): resuming a run, its steps, and the end of a run, without the Runner."""

from __future__ import annotations

import pytest

from leanagent.db.models import StepStatus
from leanagent.db.runs import (begin_step, done_step_details, done_step_keys, end_run, end_step, list_runs,
                               plan_steps, resume_or_start_run, start_run)
from leanagent.errors import ConfigError


@pytest.fixture
def db(any_db_url):
    """These queries on SQLite and on PostgreSQL."""
    from leanagent.db.engine import open_db

    database = open_db(any_db_url)
    yield database
    database.dispose()


def test_resume_or_start_run_resumes_only_what_resume_accepts(db):
    first = resume_or_start_run(db, "learn", "x", {"a": 1}, {"torch": "2"}, resume=lambda run: True)
    seen = []
    again = resume_or_start_run(db, "learn", "x", {"a": 2}, {}, resume=lambda run: seen.append(run) or True)
    assert again == first and [(r.id, r.status, r.config) for r in seen] == [(first, StepStatus.RUNNING, {"a": 1})]
    refused = resume_or_start_run(db, "learn", "x", {"a": 3}, {}, resume=lambda run: False)
    fresh = resume_or_start_run(db, "learn", "x", {"a": 4}, {}, resume=None)  # from scratch: never looks
    other_name = resume_or_start_run(db, "learn", "y", {}, {}, resume=lambda run: True)
    assert len({first, refused, fresh, other_name}) == 4
    assert resume_or_start_run(db, "learn", "x", {}, {}, resume=lambda run: True) == fresh  # the newest


def test_a_refusing_resume_raises_and_starts_nothing(db):
    first = resume_or_start_run(db, "learn", "x", {"a": 1}, {}, resume=None)
    end_run(db, first, StepStatus.FAILED)

    def refuse(run):
        raise ConfigError(f"run {run.id} differs")

    with pytest.raises(ConfigError):
        resume_or_start_run(db, "learn", "x", {"a": 2}, {}, resume=refuse)
    [run] = list_runs(db)
    assert run["id"] == first and run["status"] == "failed"  # one transaction: nothing written


def test_steps_begin_end_and_plan(db):
    run = resume_or_start_run(db, "nightly", "n", {}, {}, resume=None)
    plan_steps(db, run, ["a", "b", "a"])
    assert begin_step(db, run, "a") == (None, run)  # not done: now running; the newest run is this one
    child = start_run(db, "train", f"nightly-{run}", {})
    assert done_step_details(db, run, "a") is None and done_step_keys(db, run) == set()
    end_step(db, run, "a", StepStatus.DONE, {"n": 1})
    assert begin_step(db, run, "a") == ({"n": 1}, 0)  # done: its result, nothing marked
    assert done_step_details(db, run, "a") == {"n": 1} and done_step_keys(db, run) == {"a"}
    assert begin_step(db, run, "c") == (None, child)
    end_step(db, run, "c", StepStatus.DONE, {})
    assert begin_step(db, run, "c") == ({}, 0)
    end_run(db, run, StepStatus.DONE, report_path="r.md")
    end_run(db, 12345, StepStatus.DONE)  # no such run: nothing
    [listed] = list_runs(db)
    assert listed["status"] == "done" and listed["report"] == "r.md"
    assert [(s["key"], s["status"]) for s in listed["steps"]] == [("a", "done"), ("b", "pending"), ("c", "done")]
    assert [c["id"] for c in listed["children"]] == [child]
