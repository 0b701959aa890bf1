"""Found and polished side by side on the proof page: both blocks, their diff, what polishing did, each
variant's measures, and the reviewer's pick of the variant export uses (Proof.variant)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from review_data import NESTED_FOUND, NESTED_POLISHED

from leanagent.db.models import Proof, Review
from leanagent.db.review import ReviewInputError, proof_detail, record_review
from leanagent.review import create_app
from leanagent.review.variants import compare_variants, polish_summary, show_measure

NESTED, TERM, ADD = "Demo.nested_two", "Demo.term_mode", "Demo.add_zero'"


@pytest.fixture
def client(db, measured):
    with TestClient(create_app(db), base_url="http://127.0.0.1", follow_redirects=False) as c:
        yield c


def csrf(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page_html).group(1)


def test_found_and_polished_side_by_side_with_diff_measures_and_polish(client, measured):
    page = client.get(f"/proofs/{measured['proofs'][NESTED]}").text
    found = page[page.index('id="variant-found"'):page.index('id="variant-polished"')]
    polished = page[page.index('id="variant-polished"'):page.index("Diff, found")]
    assert '<td class="src">  induction a with</td>' in found and "omega</td>" in found
    assert '<td class="src">  omega</td>' in polished and "induction" not in polished
    assert 'class="variant chosen" id="variant-polished"' in page and '<span class="tag">exported</span>' in polished
    diff = page[page.index("Diff, found"):page.index('id="measures"')]
    assert '<tr class="d-del"><td class="src">-  induction a with</td></tr>' in diff
    assert '<tr class="d-add"><td class="src">+  omega</td></tr>' in diff
    measures = page[page.index('id="measures"'):page.index("</table>", page.index('id="measures"'))]
    assert '<th class="num">found</th><th class="num">polished</th>' in measures
    assert re.search(r"Elaboration time</td><td class=\"num\">2.50 s</td><td class=\"num\">0.40 s</td>", measures)
    assert re.search(r"Heartbeats</td><td class=\"num\">41,000</td><td class=\"num\">20,000</td>", measures)
    assert re.search(r"Lines</td><td class=\"num\">3</td><td class=\"num\">1</td>", measures)
    assert "<li>Tried 4 variants, kept 1.</li><li>Kept: the whole proof is `omega`</li>" in page
    # The file preview and its diff show the exported (polished) proof.
    inserted = page[page.index("Agent proof, as it would be inserted"):page.index("<h2>Diff</h2>")]
    assert "(polished variant)" in inserted and "  omega</td>" in inserted and "induction" not in inserted
    assert '<input type="radio" name="variant" value="polished" checked> polished (1 tactic)' in page
    assert '<input type="radio" name="variant" value="found"> found (3 tactics)' in page


def test_without_a_polished_variant_only_measures_and_polish_are_shown(client, measured):
    page = client.get(f"/proofs/{measured['proofs'][TERM]}").text
    assert 'id="variants"' not in page and 'name="variant"' not in page.replace('name="variant" value=""', "")
    assert '<th class="num">found</th></tr>' in page and "0.30 s" in page
    assert "<li>Tried 1 variant, kept 0.</li>" in page
    old = client.get(f"/proofs/{measured['proofs'][ADD]}").text  # found before measuring existed
    assert 'id="measures"' not in old and 'id="polish"' not in old and 'id="variants"' not in old


def test_variant_pick_is_stored_with_the_accept_decision(db, client, measured):
    pid = measured["proofs"][NESTED]
    page = client.get(f"/proofs/{pid}").text
    r = client.post(f"/proofs/{pid}/review", data={"csrf_token": csrf(page), "decision": "accepted",
                                                   "reviewer": "ann", "comment": "the long one reads better",
                                                   "variant": "found"})
    assert r.status_code == 303
    with db.session() as s:
        proof = s.get(Proof, pid)
        assert (proof.variant, proof.chosen, proof.chosen_tactics) == ("found", "found", NESTED_FOUND)
        assert s.query(Review).one().comment == "the long one reads better"
    page = client.get(r.headers["location"]).text
    assert 'class="variant chosen" id="variant-found"' in page
    assert '<input type="radio" name="variant" value="found" checked>' in page
    inserted = page[page.index("Agent proof, as it would be inserted"):page.index("<h2>Diff</h2>")]
    assert "(found variant)" in inserted and "induction a with" in inserted
    # Picked back: the polished proof is exported again.
    record_review(db, pid, "accepted", "ann", variant="polished")
    assert proof_detail(db, pid).chosen_tactics == NESTED_POLISHED


@pytest.mark.parametrize("name, variant, message", [
    (NESTED, "shiny", "unknown proof variant"),
    (TERM, "polished", "has no polished variant"),
])
def test_bad_variant_pick_is_refused_and_stores_nothing(db, client, measured, name, variant, message):
    pid = measured["proofs"][name]
    page = client.get(f"/proofs/{pid}").text
    r = client.post(f"/proofs/{pid}/review", data={"csrf_token": csrf(page), "decision": "accepted",
                                                   "reviewer": "ann", "variant": variant})
    assert r.status_code == 400 and message in r.text
    with pytest.raises(ReviewInputError, match=message):
        record_review(db, pid, "accepted", "ann", variant=variant)
    with db.session() as s:
        assert s.get(Proof, pid).variant is None and s.query(Review).count() == 0


def test_compare_variants_and_the_words_for_polish(db, measured):
    c = compare_variants(proof_detail(db, measured["proofs"][NESTED]))
    assert list(c.blocks) == ["found", "polished"] and c.chosen == "polished"
    assert [kind for kind, _ in c.diff] == ["meta", "meta", "hunk", "ctx", "del", "del", "del", "add"]
    first = c.measures[0]
    assert (first.label, first.values) == ("Elaboration time", {"found": "2.50 s", "polished": "0.40 s"})
    plain = compare_variants(proof_detail(db, measured["proofs"][ADD]))
    assert list(plain.blocks) == ["found"] and plain.diff == [] and plain.measures == [] and plain.polish == []
    assert [show_measure(v) for v in (None, "3", True, 7, 2.5)] == ["—", "—", "—", "7", "2.5"]
    assert polish_summary({"skipped": "no REPL backend"}) == ["Polishing was skipped: no REPL backend"]
    assert polish_summary({"tried": 3, "kept": [], "seconds": 30.0, "budget_hit": True}) == [
        "Tried 3 variants, kept 0.", "Took 30.0 s and stopped at its time budget."]
