"""The review queue: time, lines and flags columns, sorting (SQL and Python sorts, both directions, bad
parameters), the queue's next/previous on the proof page, and the answer to a decision taken on the list."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from review_data import add_proof, add_theorem

from leanagent.db.models import Proof, Review, ReviewStatus
from leanagent.db.review import record_review
from leanagent.db.review_queue import ProofFilter, list_proofs, order_by_key, queue_ids
from leanagent.review import create_app
from leanagent.review.flags import proof_flags

ADD, NESTED, TERM = "Demo.add_zero'", "Demo.nested_two", "Demo.term_mode"


@pytest.fixture
def client(db, measured):
    with TestClient(create_app(db), base_url="http://127.0.0.1", follow_redirects=False) as c:
        yield c


def listed(response) -> list[str]:
    assert response.status_code == 200, response.text[-400:]
    return [html.unescape(n) for n in re.findall(r'<tr data-id="\d+" data-name="([^"]+)"', response.text)]


def csrf(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page_html).group(1)


@pytest.mark.parametrize("sort, direction, expected", [
    ("found", "desc", [TERM, NESTED, ADD]),
    ("found", "asc", [ADD, NESTED, TERM]),
    ("theorem", "asc", [ADD, NESTED, TERM]),
    ("theorem", "desc", [TERM, NESTED, ADD]),
    # The exported variant's measures (nested_two's polished one: 0.4 s, 1 line); add_zero' has none: last.
    ("time", "desc", [NESTED, TERM, ADD]),
    ("time", "asc", [TERM, NESTED, ADD]),
    ("lines", "desc", [TERM, NESTED, ADD]),
    ("lines", "asc", [NESTED, TERM, ADD]),
])
def test_each_column_sorts_both_ways(client, sort, direction, expected):
    assert listed(client.get("/proofs", params={"sort": sort, "dir": direction})) == expected


def test_flags_column_sorts_by_how_many_flags(db, client, measured):
    ids = measured["proofs"]
    with db.session() as s:  # two flags on add_zero', one on nested_two, none on term_mode
        add = s.get(Proof, ids[ADD])
        add.check_status, add.axioms = "flagged", ["Lean.ofReduceBool", "Demo.bigAxiom"]
        s.get(Proof, ids[NESTED]).check_status = "rejected"
    counts = {pid: len(fl) for pid, fl in proof_flags(db, list(ids.values())).items()}
    assert counts[ids[ADD]] > counts[ids[NESTED]] > counts[ids[TERM]]
    assert listed(client.get("/proofs", params={"sort": "flags"})) == [ADD, NESTED, TERM]
    assert listed(client.get("/proofs", params={"sort": "flags", "dir": "asc"})) == [TERM, NESTED, ADD]


@pytest.mark.parametrize("query, message", [
    ("sort=size", "invalid sort &#39;size&#39;"),
    ("sort=time&dir=up", "invalid sort direction &#39;up&#39;"),
    ("dir=sideways", "invalid sort direction"),
    ("sort=time&at=first", "invalid at"),
])
def test_bad_sort_parameters_are_400_not_500(client, query, message):
    r = client.get(f"/proofs?{query}")
    assert r.status_code == 400 and message in r.text


def test_columns_show_the_exported_variant_and_a_dash_when_unmeasured(db, client, measured):
    page = client.get("/proofs").text
    ids = measured["proofs"]
    row = {name: re.search(rf'id="p{ids[name]}".*?</tr>', page, re.S).group(0) for name in (ADD, NESTED, TERM)}
    assert "0.40 s" in row[NESTED] and ">1 <span class=\"tag\"" in row[NESTED] and "polished</span>" in row[NESTED]
    assert "0.30 s" in row[TERM] and ">2</td>" in row[TERM] and "polished</span>" not in row[TERM]
    assert row[ADD].count(">—</td>") == 2
    record_review(db, measured["proofs"][NESTED], "accepted", "ann", variant="found")
    page = client.get("/proofs", params={"sort": "time"}).text
    assert "2.50 s" in page and listed(client.get("/proofs", params={"sort": "time"}))[0] == NESTED


def test_headers_link_to_each_sort_and_toggle_the_current_one(client):
    page = client.get("/proofs", params={"sort": "time", "q": "Demo", "page": "1"}).text
    assert '<th class="sortable num" aria-sort="descending"' in page
    assert 'href="/proofs?q=Demo&amp;sort=time&amp;dir=asc" id="sort-time">Time ▼</a>' in page
    assert 'href="/proofs?q=Demo&amp;sort=lines" id="sort-lines"' in page  # a new column: its first direction
    assert 'href="/proofs?q=Demo&amp;sort=theorem" id="sort-theorem"' in page
    assert 'href="/proofs?q=Demo" id="sort-found"' in page  # the default sort needs no parameter
    # The filter form and the proof links keep the sort.
    assert '<input type="hidden" name="sort" value="time"><input type="hidden" name="dir" value="desc">' in page
    assert re.search(r'href="/proofs/\d+\?q=Demo&amp;sort=time"', page)


def test_sorted_pages_and_odd_measures(db, measured):
    """Pages cut the sorted order; a measure that is not a number sorts as missing, never an error."""
    repo = measured["repo_id"]
    odd = add_proof(db, add_theorem(db, repo, "Demo.odd"), measures={"found": {"seconds": "slow", "lines": True}})
    big = add_proof(db, add_theorem(db, repo, "Demo.big"), measures={"found": {"seconds": 9.0, "lines": 40}})
    first = list_proofs(db, ProofFilter(per_page=2), "time", True)
    second = list_proofs(db, ProofFilter(per_page=2, page=2), "time", True)
    assert [r.full_name for r in first.rows + second.rows] == ["Demo.big", NESTED, TERM, "Demo.odd"]
    ids = measured["proofs"]
    # Unmeasured proofs (a boolean is no line count) last, newest first among them, in both directions.
    assert queue_ids(db, ProofFilter(), "lines", False) == [ids[NESTED], ids[TERM], big, odd, ids[ADD]]
    assert queue_ids(db, ProofFilter(), "lines", True) == [big, ids[TERM], ids[NESTED], odd, ids[ADD]]
    assert order_by_key([(1, None), (2, 5), (3, 5), (4, 7)], True) == [4, 2, 3, 1]
    assert order_by_key([(1, None), (2, 5), (3, 5), (4, 7)], False) == [2, 3, 4, 1]


def test_proof_page_next_and_previous_follow_the_queue(client, measured):
    ids = measured["proofs"]
    page = client.get(f"/proofs/{ids[NESTED]}").text  # default queue: newest first
    assert f'href="/proofs/{ids[TERM]}" rel="prev"' in page and f'href="/proofs/{ids[ADD]}" rel="next"' in page
    assert "2 of 3 in the queue" in page
    page = client.get(f"/proofs/{ids[NESTED]}", params={"sort": "time"}).text  # the largest time first
    assert 'id="prev-proof"' not in page and f'href="/proofs/{ids[TERM]}?sort=time" rel="next"' in page
    assert "1 of 3 in the queue" in page


def test_reviewed_proof_keeps_its_neighbours_after_leaving_the_queue(db, client, measured):
    ids = measured["proofs"]
    record_review(db, ids[NESTED], "accepted", "ann")
    page = client.get(f"/proofs/{ids[NESTED]}", params={"status": "new"}).text
    assert f'href="/proofs/{ids[TERM]}?status=new" rel="prev"' in page
    assert f'href="/proofs/{ids[ADD]}?status=new" rel="next"' in page
    assert "not in the queue (2 left)" in page


def test_decision_on_the_list_goes_back_to_it_at_the_next_proof(db, client, measured):
    ids = measured["proofs"]
    token = csrf(client.get("/proofs").text)
    form = {"csrf_token": token, "decision": "accepted", "reviewer": "ann", "back": "list",
            "queue": "status=new&sort=time"}
    r = client.post(f"/proofs/{ids[NESTED]}/review", data={**form, "comment": "short and sweet"})
    # nested_two left the `new` queue; the next one in time order is term_mode, now marked.
    assert r.status_code == 303
    assert r.headers["location"] == f"/proofs?status=new&sort=time&at={ids[TERM]}&saved=accepted"
    page = client.get(r.headers["location"]).text
    assert f'<tr data-id="{ids[TERM]}" data-name="{TERM}" id="p{ids[TERM]}" class="current">' in page
    assert "Saved: accepted." in page
    # The last proof of a queue it stays in: it stays marked.
    r = client.post(f"/proofs/{ids[ADD]}/review", data={**form, "queue": "sort=time", "decision": "rejected"})
    assert r.headers["location"] == f"/proofs?sort=time&at={ids[ADD]}&saved=rejected"
    with db.session() as s:
        assert [(x.proof_id, x.status, x.comment) for x in s.query(Review).order_by(Review.id)] == [
            (ids[NESTED], ReviewStatus.ACCEPTED, "short and sweet"), (ids[ADD], ReviewStatus.REJECTED, None)]


def test_decision_with_a_bad_queue_stores_nothing(db, client, measured):
    pid = measured["proofs"][NESTED]
    token = csrf(client.get(f"/proofs/{pid}").text)
    r = client.post(f"/proofs/{pid}/review", data={"csrf_token": token, "decision": "accepted", "reviewer": "a",
                                                   "queue": "sort=nonsense", "back": "list"})
    assert r.status_code == 400
    with db.session() as s:
        assert s.query(Review).count() == 0
