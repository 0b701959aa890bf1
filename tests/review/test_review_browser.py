"""The review flow in a real Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from leanagent.db.models import Proof, Review, ReviewStatus
from leanagent.review import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-token-0123456789"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve():
    """serve(app) -> base URL; the uvicorn server runs in a thread and stops after the test."""
    import uvicorn

    servers = []

    def start(app) -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the review app did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def review_flow(browser, base: str, db, demo, shot: Path, first_url: str | None = None) -> None:
    pid = demo["proofs"]["Demo.nested_two"]
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(first_url or base + "/")
    assert page.locator("#repos").inner_text().count("demo") >= 1
    page.click("text=Proofs")
    assert page.locator("#count").inner_text().startswith("3 proofs")
    page.fill("input[name=q]", "nested")
    page.select_option("select[name=status]", "new")
    page.click("#filters button[type=submit]")
    assert page.locator("#count").inner_text().startswith("1 proof,")
    page.click("#proofs >> text=Demo.nested_two")
    assert page.locator("#theorem-name").inner_text() == "Demo.nested_two"
    page.screenshot(path=str(shot), full_page=True)
    page.fill("input[name=reviewer]", "Ada")
    page.fill("textarea[name=comment]", "Looks right; <b>keep</b> it.")
    page.click("button[value=accepted]")
    assert page.locator("#saved").inner_text() == "Saved: accepted."
    assert "Looks right; <b>keep</b> it." in page.locator("#history").inner_text()
    with db.session() as s:
        assert s.get(Proof, pid).review_status is ReviewStatus.ACCEPTED
        review = s.query(Review).filter_by(proof_id=pid).one()
        assert (review.reviewer, review.comment) == ("Ada", "Looks right; <b>keep</b> it.")
    # The name is remembered for the next decision.
    page.goto(f"{base}/proofs/{demo['proofs']['Demo.term_mode']}")
    assert page.input_value("input[name=reviewer]") == "Ada"
    page.close()


def test_review_flow_in_chromium(browser, serve, db, demo, tmp_path):
    base = serve(create_app(db))
    shot = tmp_path / "proof.png"
    review_flow(browser, base, db, demo, shot)
    assert shot.stat().st_size > 10_000


def test_review_flow_with_token(browser, serve, db, demo, tmp_path):
    base = serve(create_app(db, TOKEN))
    page = browser.new_page()
    page.goto(base + "/")
    assert "needs its access token" in page.locator("#error-message").inner_text()
    page.close()
    review_flow(browser, base, db, demo, tmp_path / "proof-token.png", first_url=f"{base}/?token={TOKEN}")


def current_row(page) -> int:
    return int(page.locator("#proofs tr.current").get_attribute("data-id"))


def test_keyboard_review_of_three_proofs(browser, serve, db, measured, tmp_path):
    """j/k/a/r, typed comments and Enter alone review three proofs of the list; the database must then
    hold exactly the decisions the keys named, on the proofs the keys pointed at."""
    ids = measured["proofs"]
    term, nested, add = ids["Demo.term_mode"], ids["Demo.nested_two"], ids["Demo.add_zero'"]
    base = serve(create_app(db))
    page = browser.new_page(viewport={"width": 1366, "height": 800})
    page.goto(base + "/proofs")  # newest first: term_mode, nested_two, add_zero'
    page.wait_for_selector("#keys-help:not([hidden])")  # the script ran
    keys = page.keyboard
    keys.press("j")  # the first key marks the first row
    keys.press("j")
    keys.press("k")
    assert current_row(page) == term
    keys.press("a")
    page.wait_for_selector("#key-form:not([hidden]) input[name=reviewer]:focus")  # no name yet: asked first
    assert page.locator("#key-what").inner_text() == "Accept Demo.term_mode"
    keys.type("Ada")
    keys.press("Enter")  # on to the comment
    page.wait_for_selector("#key-form input[name=comment]:focus")
    keys.type("fine as found")
    page.screenshot(path=str(tmp_path / "keys-list.png"))
    with page.expect_navigation():
        keys.press("Enter")
    assert page.locator("#saved").inner_text() == "Saved: accepted."
    assert current_row(page) == nested  # the next proof is marked after a decision
    keys.press("j")
    keys.press("r")
    page.wait_for_selector("#key-form input[name=comment]:focus")  # the name is remembered now
    keys.type("wrong")
    keys.press("Escape")  # cancelled: nothing is sent, and the keys work again
    page.wait_for_selector("#key-form", state="hidden")
    keys.press("r")
    page.wait_for_selector("#key-form input[name=comment]:focus")
    assert page.input_value("#key-form input[name=comment]") == ""
    assert page.locator("#key-what").inner_text() == "Reject Demo.add_zero'"
    keys.type("not needed")
    with page.expect_navigation():
        keys.press("Enter")
    assert current_row(page) == add  # the last row stays marked
    keys.press("k")
    keys.press("a")
    page.wait_for_selector("#key-form input[name=comment]:focus")
    keys.type("nice and short")
    with page.expect_navigation():
        keys.press("Enter")
    # Keys typed into a field are text, not commands.
    page.focus("input[name=q]")
    keys.type("jar")
    assert page.input_value("input[name=q]") == "jar" and page.locator("#key-form").is_hidden()
    page.close()
    with db.session() as s:
        got = [(r.proof_id, r.status, r.reviewer, r.comment) for r in s.query(Review).order_by(Review.id)]
    assert got == [(term, ReviewStatus.ACCEPTED, "Ada", "fine as found"),
                   (add, ReviewStatus.REJECTED, "Ada", "not needed"),
                   (nested, ReviewStatus.ACCEPTED, "Ada", "nice and short")]


def test_keyboard_on_the_proof_page_walks_the_queue_and_sends_the_pick(browser, serve, db, measured):
    ids = measured["proofs"]
    term, nested = ids["Demo.term_mode"], ids["Demo.nested_two"]
    base = serve(create_app(db))
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{base}/proofs/{nested}?sort=time")  # by time: nested_two, term_mode, add_zero'
    page.wait_for_selector("#keys-help:not([hidden])")
    with page.expect_navigation():
        page.keyboard.press("j")
    assert page.url == f"{base}/proofs/{term}?sort=time"
    assert page.locator("#theorem-name").inner_text() == "Demo.term_mode"
    with page.expect_navigation():
        page.keyboard.press("k")
    assert page.locator("#theorem-name").inner_text() == "Demo.nested_two"
    page.focus("textarea[name=comment]")
    page.keyboard.type("jk")  # text, not navigation
    assert page.input_value("textarea[name=comment]") == "jk" and page.url.endswith(f"/proofs/{nested}?sort=time")
    page.check("#variant-pick input[value=found]")  # export the found proof; keys still work on a radio
    page.keyboard.press("a")
    page.wait_for_selector("#key-form input[name=reviewer]:focus")
    page.keyboard.type("Bo")
    page.keyboard.press("Enter")
    page.keyboard.type("keep the induction")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#saved").inner_text() == "Saved: accepted."
    assert page.url.startswith(f"{base}/proofs/{nested}?sort=time")
    page.close()
    with db.session() as s:
        proof = s.get(Proof, nested)
        assert (proof.review_status, proof.variant) == (ReviewStatus.ACCEPTED, "found")
        assert [(r.reviewer, r.comment) for r in proof.reviews] == [("Bo", "keep the induction")]
