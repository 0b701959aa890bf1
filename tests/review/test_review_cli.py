"""`leanagent review` and `leanagent export-proofs` through the CLI."""

from __future__ import annotations

import json

import pytest

from leanagent.db.review import record_review
from leanagent.review.security import TOKEN_ENV


@pytest.fixture
def fake_uvicorn(monkeypatch):
    """Capture the server's start instead of serving forever."""
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: calls.append(
        (self.config.app, {"host": self.config.host, "port": self.config.port})))
    return calls


def test_review_refuses_public_host_without_token(run_cli, db_url, fake_uvicorn, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, out, err = run_cli("--db", db_url, "review", "--host", "0.0.0.0")
    assert code == 1 and fake_uvicorn == []
    assert err.startswith("leanagent: error: binding the review app to 0.0.0.0 needs an access token")
    assert "--token" in err


def test_review_needs_an_existing_database(run_cli, tmp_path, fake_uvicorn):
    code, _, err = run_cli("--db", f"sqlite:///{tmp_path}/none.sqlite", "review")
    assert code == 1 and "no database at" in err and fake_uvicorn == []
    assert not (tmp_path / "none.sqlite").exists()


def test_review_serves_loopback_by_default(run_cli, db, db_url, fake_uvicorn, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, out, err = run_cli("--db", db_url, "review", "--port", "9999")
    assert code == 0, err
    assert "at http://127.0.0.1:9999/" in out
    app, kw = fake_uvicorn[0]
    assert kw["host"] == "127.0.0.1" and kw["port"] == 9999


def test_review_token_from_environment(run_cli, db, db_url, fake_uvicorn, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "env-token-12345")
    code, out, err = run_cli("--db", db_url, "--json", "review", "--host", "0.0.0.0")
    assert code == 0, err
    event = json.loads(out)
    assert event["token_required"] is True and "env-token-12345" not in out  # never printed
    assert fake_uvicorn[0][1]["host"] == "0.0.0.0"


def test_export_writes_patch_and_reports(run_cli, db, db_url, demo, tmp_path):
    record_review(db, demo["proofs"]["Demo.add_zero'"], "accepted", "ann")
    out = tmp_path / "demo.patch"
    code, stdout, err = run_cli("--db", db_url, "export-proofs", "--repo", "demo", "--out", out)
    assert code == 0, err
    first, checks, unmeasured = stdout.strip().splitlines()
    assert first == f"wrote 1 proof(s) in 1 file(s) to {out}, the pull-request description to {tmp_path / 'PR.md'}"
    assert checks == "whole-file re-check: 1 found before re-checks existed"  # which check each proof passed
    assert unmeasured == "not measured (time, warnings): 1 proof(s)"  # an old proof: not a silent pass
    header, diff = out.read_text().split("diff --git a/Demo/Basic.lean b/Demo/Basic.lean\n", 1)
    assert header.startswith("Proofs for demo exported by leanagent ") and "AI use:" in header
    assert "`Demo.add_zero'`" in (tmp_path / "PR.md").read_text()
    code, stdout, _ = run_cli("--db", db_url, "--json", "export-proofs", "--repo", "demo", "--status", "new",
                              "--out", tmp_path / "new.patch")
    assert code == 0 and json.loads(stdout)["proofs"] == 2


def test_export_errors_are_one_line(run_cli, db, db_url, demo, tmp_path):
    code, _, err = run_cli("--db", db_url, "export-proofs", "--repo", "nope", "--out", tmp_path / "x.patch")
    assert code == 1 and "no repository named 'nope'" in err and "fix: use one of: demo" in err
    code, _, err = run_cli("--db", db_url, "export-proofs", "--repo", "demo", "--out", tmp_path / "x.patch")
    assert code == 1 and "has no accepted proofs" in err
    record_review(db, demo["proofs"]["Demo.add_zero'"], "accepted", "ann")
    code, _, err = run_cli("--db", db_url, "export-proofs", "--repo", "demo", "--out", tmp_path)
    assert code == 1 and "is a directory" in err
    assert not (tmp_path / "x.patch").exists()
    assert len(err.strip().splitlines()) == 1


def test_ctrl_c_in_review_exits_130_even_as_a_background_job(db, db_url, tmp_path):
    """Issue 27: uvicorn shuts down calmly on Ctrl-C and re-raises the signal, which a background job
    (SIGINT ignored) never sees, so `review` exited 0 where the README says 130."""
    import signal
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "leanagent", "--db", db_url, "review", "--no-upstream",
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert "Ctrl-C stops" in proc.stdout.readline()
        deadline = time.monotonic() + 30
        while True:  # until the server accepts connections: then its signal handlers are in place
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the review server did not start"
                time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        assert "interrupted" in proc.stderr.read()
    finally:
        proc.kill()
