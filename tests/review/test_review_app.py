"""The review web app through HTTP: pages, filters, decisions, CSRF, token, escaping, download."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from fastapi.testclient import TestClient
from review_data import BASIC, XSS, add_proof, add_repo, add_theorem

from leanagent.db.models import Proof, Review, ReviewStatus
from leanagent.errors import ConfigError
from leanagent.review import create_app
from leanagent.review.patch import file_digest

LOCAL = "http://127.0.0.1"
TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def client(db, demo):
    with TestClient(create_app(db), base_url=LOCAL, follow_redirects=False) as c:
        yield c


def csrf(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page_html).group(1)


def status_of(db, proof_id):
    with db.session() as s:
        return s.get(Proof, proof_id).review_status


def test_index_lists_repositories_with_counts_and_patch_button(client, demo):
    html = client.get("/").text
    assert 'href="/proofs?repo=demo"' in html
    assert '<a href="/proofs?repo=demo&amp;status=new">3</a>' in html
    assert "Download patch" not in html  # nothing accepted yet


def test_list_filters_and_search(client, demo):
    html = client.get("/proofs", params={"q": "nested"}).text
    assert "Demo.nested_two" in html and "Demo.add_zero" not in html and "1 proof," in html
    html = client.get("/proofs", params={"model": "tiny-v2", "status": "new"}).text
    assert "Demo.term_mode" in html and "Demo.nested_two" not in html
    html = client.get("/proofs", params={"since": "2026-11-19", "until": "2026-11-19"}).text
    assert "Demo.nested_two" in html and "Demo.term_mode" not in html
    html = client.get("/proofs", params={"run": demo["run_id"], "repo": "demo"}).text
    assert "2 proofs" in html


@pytest.mark.parametrize("query", ["status=maybe", "run=x", "since=yesterday", "page=0"])
def test_bad_filters_get_400_page(client, query):
    r = client.get(f"/proofs?{query}")
    assert r.status_code == 400 and "invalid filter" in r.text


def test_proof_page_shows_everything(client, demo):
    r = client.get(f"/proofs/{demo['proofs']['Demo.term_mode']}")
    html = r.text
    assert r.status_code == 200
    for needle in ["Demo.term_mode", "Demo/Basic.lean:11", "checked by real Lean", "tiny-v2",
                   "file unchanged since the proof was found", "Source around the theorem",
                   '<td class="ln">11</td><td class="src">theorem term_mode (p : Prop) (h : p) : p := by</td>',
                   '<td class="ln">12</td><td class="src">  exact h</td>',
                   "+  exact h", "-theorem term_mode (p : Prop) (h : p) : p := sorry", "<dt>Expansions</dt><dd>7</dd>"]:
        assert needle in html, needle
    assert client.get("/proofs/999").status_code == 404


def test_replay_proof_without_file_text_shows_statement_and_tactics(db, client):
    repo = add_repo(db, "nofile")
    tid = add_theorem(db, repo, "X.t", statement="theorem t : 1 + 1 = 2", proof_text="by sorry")
    html = client.get(f"/proofs/{add_proof(db, tid, tactics=['norm_num'], env='replay')}").text
    assert "checked by replay only" in html and "file text not available" in html
    assert '<td class="src">theorem t : 1 + 1 = 2</td>' in html and '<td class="src">  norm_num</td>' in html


def test_accept_with_comment_is_stored_and_remembered(db, client, demo):
    pid = demo["proofs"]["Demo.add_zero'"]
    page = client.get(f"/proofs/{pid}")
    r = client.post(f"/proofs/{pid}/review", data={"csrf_token": csrf(page.text), "decision": "accepted",
                                                   "reviewer": "Émilie du Châtelet", "comment": "nice"})
    assert r.status_code == 303 and r.headers["location"] == f"/proofs/{pid}?saved=accepted"
    assert status_of(db, pid) is ReviewStatus.ACCEPTED
    html = client.get(r.headers["location"]).text
    assert "Saved: accepted." in html and 'value="Émilie du Châtelet"' in html  # the name cookie
    r = client.post(f"/proofs/{pid}/review", data={"csrf_token": csrf(html), "decision": "rejected",
                                                   "reviewer": "Bob", "comment": ""})
    with db.session() as s:
        assert [(x.status.value, x.reviewer, x.comment) for x in s.query(Review).order_by(Review.id)] == [
            ("accepted", "Émilie du Châtelet", "nice"), ("rejected", "Bob", None)]
    assert status_of(db, pid) is ReviewStatus.REJECTED


def test_review_without_name_or_with_bad_decision_is_400(db, client, demo):
    pid = demo["proofs"]["Demo.add_zero'"]
    token = csrf(client.get(f"/proofs/{pid}").text)
    for data in ({"decision": "accepted", "reviewer": ""}, {"decision": "new", "reviewer": "a"}, {"reviewer": "a"}):
        r = client.post(f"/proofs/{pid}/review", data={"csrf_token": token, **data})
        assert r.status_code == 400, data
    assert client.post("/proofs/999/review", data={"csrf_token": token, "decision": "accepted",
                                                   "reviewer": "a"}).status_code == 404
    assert status_of(db, pid) is ReviewStatus.NEW


def test_missing_or_wrong_csrf_token_is_refused(db, client, demo):
    pid = demo["proofs"]["Demo.add_zero'"]
    good = csrf(client.get(f"/proofs/{pid}").text)
    form = {"decision": "accepted", "reviewer": "mallory"}
    r = client.post(f"/proofs/{pid}/review", data=form)
    assert r.status_code == 403 and "no CSRF token" in r.text
    r = client.post(f"/proofs/{pid}/review", data={**form, "csrf_token": "0" * 64})
    assert r.status_code == 403 and "not valid" in r.text
    client.cookies.clear()  # a token without its cookie (another browser) is refused too
    r = client.post(f"/proofs/{pid}/review", data={**form, "csrf_token": good})
    assert r.status_code == 403
    assert status_of(db, pid) is ReviewStatus.NEW


def test_foreign_host_is_refused_without_token(db, demo):
    with TestClient(create_app(db), base_url="http://evil.example") as c:
        assert c.get("/").status_code == 400


def test_off_loopback_needs_a_token():
    with pytest.raises(ConfigError, match="needs an access token"):
        create_app(None, host="0.0.0.0")
    with pytest.raises(ConfigError, match="shorter than 8"):
        create_app(None, "short", host="0.0.0.0")


def test_token_required_on_every_request(db, demo):
    pid = demo["proofs"]["Demo.add_zero'"]
    app = create_app(db, TOKEN, host="0.0.0.0")
    with TestClient(app, base_url="http://192.0.2.1:8765", follow_redirects=False) as c:
        for path in ["/", "/proofs", f"/proofs/{pid}", "/static/review.css", "/patch?repo=demo"]:
            r = c.get(path)
            assert r.status_code == 401 and "needs its access token" in r.text, path
        assert c.get("/", headers={"X-LeanAgent-Token": "wrong-token-123"}).status_code == 403
        assert c.get("/", params={"token": "wrong-token-123"}).status_code == 403
        assert c.post(f"/proofs/{pid}/review", data={"decision": "accepted", "reviewer": "x"}).status_code == 401
        assert c.get("/", headers={"X-LeanAgent-Token": TOKEN}).status_code == 200
        assert c.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        # Opening ?token= once moves the token into an HttpOnly cookie and out of the URL.
        r = c.get("/proofs", params={"token": TOKEN, "q": "zero"})
        assert r.status_code == 303 and r.headers["location"] == "/proofs?q=zero"
        assert "httponly" in r.headers["set-cookie"].lower()
        page = c.get(f"/proofs/{pid}")
        assert page.status_code == 200
        r = c.post(f"/proofs/{pid}/review", data={"csrf_token": csrf(page.text), "decision": "accepted",
                                                  "reviewer": "tok"})
        assert r.status_code == 303 and status_of(db, pid) is ReviewStatus.ACCEPTED


def test_untrusted_text_comes_back_inert(db, client):
    repo = add_repo(db, XSS[0], files={"A.lean": "theorem x : True := sorry\n"})
    tid = add_theorem(db, repo, "".join(XSS), file_path="A.lean", start=(1, 1), end=(1, 26),
                      statement="theorem " + XSS[1] + " : True", proof_text="sorry")
    pid = add_proof(db, tid, tactics=list(XSS), model=XSS[1], digest=file_digest("theorem x : True := sorry\n"))
    token = csrf(client.get(f"/proofs/{pid}").text)
    client.post(f"/proofs/{pid}/review", data={"csrf_token": token, "decision": "needs_changes",
                                               "reviewer": XSS[1], "comment": XSS[0] + XSS[2]})
    pages = [client.get("/"), client.get("/proofs"), client.get(f"/proofs/{pid}"),
             client.get("/proofs", params={"q": XSS[0], "model": XSS[1]})]
    for r in pages:
        html = r.text
        assert "<script>alert" not in html and "<img src=x" not in html, r.url
        assert "default-src 'none'" in r.headers["content-security-policy"]
    detail = pages[2].text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in detail
    # Data is never evaluated as a template. The random CSRF token and the page's times ("02:49 UTC") are
    # taken out first: they may contain 49.
    comment = re.search(r'<p class="comment">(.*?)</p>', detail, re.S).group(1)
    assert comment == "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}"
    rest = re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?", "", detail.replace(csrf(detail), ""))
    assert "{{ 7*7 }}" in detail and "49" not in rest
    # The one script is the app's own file (keyboard review); the policy runs no inline script.
    assert re.findall(r"<script[^>]*>", detail) == ['<script src="/static/keys.js" defer>']
    assert "script-src 'self';" in pages[2].headers["content-security-policy"]
    assert "unsafe-inline" not in pages[2].headers["content-security-policy"]


def test_patch_download_matches_export_and_applies(db, client, demo, tmp_path):
    pid = demo["proofs"]["Demo.nested_two"]
    token = csrf(client.get(f"/proofs/{pid}").text)
    client.post(f"/proofs/{pid}/review", data={"csrf_token": token, "decision": "accepted", "reviewer": "a"})
    assert "Download patch" in client.get("/").text
    assert 'href="/patch?repo=demo&amp;status=accepted"' in client.get("/proofs", params={"repo": "demo"}).text
    r = client.get("/patch", params={"repo": "demo", "status": "accepted"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-diff")
    assert 'filename="demo-accepted.patch"' in r.headers["content-disposition"]
    from leanagent.review.export import export_patch
    # The same patch as `export-proofs`, after the same disclosure header (git apply skips it).
    assert r.text.startswith("Proofs for demo exported by leanagent") and r.text.endswith(export_patch(db, "demo").text)
    assert "Demo.nested_two" in r.text.split("diff --git", 1)[0]
    if shutil.which("git"):
        repo = tmp_path / "g"
        (repo / "Demo").mkdir(parents=True)
        (repo / "Demo/Basic.lean").write_text(BASIC)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        (tmp_path / "d.patch").write_text(r.text)
        assert subprocess.run(["git", "apply", "--check", str(tmp_path / "d.patch")], cwd=repo).returncode == 0
    assert client.get("/patch", params={"repo": "nope"}).status_code == 404
    assert client.get("/patch", params={"repo": "demo", "status": "rejected"}).status_code == 409


def test_unknown_page_is_404_html(client):
    r = client.get("/nothing-here")
    assert r.status_code == 404 and "no such page" in r.text and r.headers["x-content-type-options"] == "nosniff"


def test_changed_file_and_unplaceable_proof_are_flagged(db, client, demo):
    from leanagent.db.models import SourceFile

    with db.session() as s:
        s.query(SourceFile).one().content = BASIC.replace("add_zero'", "add_zero_renamed")
    pid = demo["proofs"]["Demo.add_zero'"]
    html = client.get(f"/proofs/{pid}").text
    assert "file changed since the proof was found: export will refuse it" in html
    # Found by name, never by the recorded line (which now holds another theorem); the block is still shown.
    assert "Demo.add_zero&#39; is not declared in Demo/Basic.lean as it is now" in html
    assert '<td class="src">  simp</td>' in html
