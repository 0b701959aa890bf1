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
