"""leanagent.db.review: counts, filters, search, pages, detail, appended decisions."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from review_data import add_proof, add_repo, add_theorem, populate_demo

from leanagent.db.models import Proof, Review, ReviewStatus
from leanagent.db.review import ReviewInputError, proof_detail, record_review, repo_summaries
from leanagent.db.review_queue import ProofFilter, filter_choices, list_proofs


def names(page):
    return [r.full_name for r in page.rows]


def test_summaries_count_by_status_and_include_empty_repos(db, demo):
    add_repo(db, "empty")
    record_review(db, demo["proofs"]["Demo.term_mode"], "rejected", "ann")
    summaries = {r.name: r for r in repo_summaries(db)}
    assert summaries["demo"].counts == {"new": 2, "accepted": 0, "rejected": 1, "needs_changes": 0}
    assert summaries["demo"].total == 3
    assert summaries["empty"].total == 0


def test_filters_each_narrow_the_list(db, demo):
    other = add_repo(db, "other")
    add_proof(db, add_theorem(db, other, "Other.thing"), model="big")
    assert list_proofs(db, ProofFilter()).total == 4
    assert names(list_proofs(db, ProofFilter(repo="other"))) == ["Other.thing"]
    assert names(list_proofs(db, ProofFilter(model="tiny-v2"))) == ["Demo.term_mode"]
    assert set(names(list_proofs(db, ProofFilter(run_id=demo["run_id"])))) == {"Demo.nested_two", "Demo.term_mode"}
    assert names(list_proofs(db, ProofFilter(since=date(2026, 11, 19), until=date(2026, 11, 19)))) == \
        ["Demo.nested_two"]
    record_review(db, demo["proofs"]["Demo.add_zero'"], "accepted", "ann")
    assert names(list_proofs(db, ProofFilter(status=ReviewStatus.ACCEPTED))) == ["Demo.add_zero'"]
    # newest first
    assert names(list_proofs(db, ProofFilter(repo="demo"))) == ["Demo.term_mode", "Demo.nested_two", "Demo.add_zero'"]
    assert filter_choices(db) == {"repos": ["demo", "other"], "models": ["big", "tiny-v1", "tiny-v2"],
                                  "runs": [demo["run_id"]]}


def test_search_is_case_insensitive_substring_and_escapes_wildcards(db, demo):
    assert names(list_proofs(db, ProofFilter(q="ZERO"))) == ["Demo.add_zero'"]
    assert names(list_proofs(db, ProofFilter(q="_two"))) == ["Demo.nested_two"]
    assert list_proofs(db, ProofFilter(q="%")).total == 0


def test_pages(db):
    repo = add_repo(db, "many")
    for i in range(7):
        add_proof(db, add_theorem(db, repo, f"T{i}", start=(i + 1, 1)),
                  found_at=datetime(2026, 1, 1 + i, tzinfo=timezone.utc))
    first = list_proofs(db, ProofFilter(per_page=3))
    third = list_proofs(db, ProofFilter(per_page=3, page=3))
    assert (first.total, first.pages, names(first)) == (7, 3, ["T6", "T5", "T4"])
    assert names(third) == ["T0"]
    with pytest.raises(ReviewInputError):
        list_proofs(db, ProofFilter(page=0))


def test_detail_has_theorem_proof_and_file(db, demo):
    d = proof_detail(db, demo["proofs"]["Demo.term_mode"])
    assert (d.full_name, d.file_path, d.start_line, d.proof_text) == ("Demo.term_mode", "Demo/Basic.lean", 11, "sorry")
    assert d.tactics == ["exact h"] and d.env == "leandojo" and d.expansions == 7 and d.model == "tiny-v2"
    assert "theorem term_mode" in d.file_content
    assert proof_detail(db, 999) is None


def test_decisions_are_appended_never_overwritten(db, demo):
    pid = demo["proofs"]["Demo.add_zero'"]
    record_review(db, pid, "needs_changes", "  Ann   Lee ", "use simp only")
    record_review(db, pid, ReviewStatus.ACCEPTED, "Bob", "")
    with db.session() as s:
        rows = s.query(Review).filter_by(proof_id=pid).order_by(Review.id).all()
        assert [(r.status, r.reviewer, r.comment) for r in rows] == [
            (ReviewStatus.NEEDS_CHANGES, "Ann Lee", "use simp only"), (ReviewStatus.ACCEPTED, "Bob", None)]
        assert s.get(Proof, pid).review_status is ReviewStatus.ACCEPTED
    assert [r.status for r in proof_detail(db, pid).reviews] == ["needs_changes", "accepted"]


@pytest.mark.parametrize("status, reviewer, match", [
    ("maybe", "ann", "unknown review decision"),
    ("new", "ann", "must be accepted"),
    ("accepted", "   ", "reviewer's name"),
    ("accepted", "x" * 256, "longer than 255"),
])
def test_bad_decisions_are_refused(db, demo, status, reviewer, match):
    with pytest.raises(ReviewInputError, match=match):
        record_review(db, demo["proofs"]["Demo.add_zero'"], status, reviewer)


def test_decision_on_missing_proof(db):
    with pytest.raises(ReviewInputError, match="no proof with id 42"):
        record_review(db, 42, "accepted", "ann")


def test_queries_and_export_on_each_backend(any_db_url):
    """The same list, search, decision and export on SQLite and PostgreSQL."""
    from leanagent.db.engine import open_db
    from leanagent.review.export import export_patch

    db = open_db(any_db_url)
    try:
        demo = populate_demo(db)
        assert names(list_proofs(db, ProofFilter(q="ZERO", repo="demo", model="tiny-v1"))) == ["Demo.add_zero'"]
        assert names(list_proofs(db, ProofFilter(since=date(2026, 11, 19), until=date(2026, 11, 19)))) == \
            ["Demo.nested_two"]
        assert list_proofs(db, ProofFilter(q="_", per_page=1)).total == 3
        assert names(list_proofs(db, ProofFilter(), "theorem", True)) == [
            "Demo.term_mode", "Demo.nested_two", "Demo.add_zero'"]
        assert list_proofs(db, ProofFilter(), "time", False).total == 3  # nothing measured: all last, no error
        record_review(db, demo["proofs"]["Demo.term_mode"], "accepted", "ann", "ok")
        assert repo_summaries(db)[0].counts["accepted"] == 1
        assert "+  exact h" in export_patch(db, "demo").text
    finally:
        db.dispose()
