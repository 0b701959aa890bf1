"""`leanagent trace` + `prove --env leaninteract --theorems sorry` end to end on a `path` entry whose Lean
(v4.15.0) is past LeanDojo, with lean-interact's real client and the stand-in REPL, lake and lean.

The stand-in accepts `simp` on add_zero' (a proof the whole file confirms) and `omega` on mul_one'
step by step, but refuses `omega` when the file is elaborated (tactic mode accepting what the
elaborator refuses, Pantograph issue 1): that proof must end as rejected, with Lean's message.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from leanagent.cli import main
from leanagent.db.models import Proof, ProofAttempt, Theorem, TheoremStatus
from tests.conftest import EXAMPLE
from tests.fake_repl.stand_in import install, project, requests

G1, G2, G3 = "n : Nat\n⊢ n + 0 = n", "n : Nat\n⊢ n * 1 = n", "⊢ False"
SCRIPT = {"goals": {"add_zero'": G1, "mul_one'": G2, "hard": G3},
          "moves": {G1: {"simp": "no goals"}, G2: {"omega": "no goals"}},
          "file_reject": {"omega": "omega could not prove the goal"}}
BASIC = """import Init

namespace Toy

theorem add_zero' (n : Nat) : n + 0 = n := by
  sorry

theorem mul_one' (n : Nat) : n * 1 = n := by
  sorry

theorem hard : False := by
  sorry

end Toy
"""


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


def _setup(tmp_path, monkeypatch, db_url, capsys):
    install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC})
    repos = tmp_path / "repos.yaml"
    # The example dataset gives the frequency proposer its tactics (simp, rfl, omega, ...).
    repos.write_text(f"repos:\n  - name: toy\n    path: {root}\n  - name: nat-list\n    traced: {EXAMPLE}\n")
    assert main(["trace", "--repos", str(repos), "--db", db_url]) == 0
    out = capsys.readouterr()
    assert "Lean REPL" in out.out + out.err
    return root


def _prove(db_url, env, *extra):
    return main(["prove", "--db", db_url, "--env", env, "--repo", "toy", "--theorems", "sorry", "--workers", "0",
                 "--proposer", "frequency", "--num-tactics", "64", "--max-expansions", "2", "--json", *extra])


def test_prove_leaninteract_finds_proves_and_rechecks(db_url, tmp_path, monkeypatch, capsys):
    root = _setup(tmp_path, monkeypatch, db_url, capsys)
    assert _prove(db_url, "leaninteract") == 0
    lines = _json_lines(capsys.readouterr().out)
    summary = lines[-1]
    assert (summary["attempted"], summary["proved"], summary["rejected"]) == (3, 1, 1)
    by_name = {e["theorem"]: e["outcome"] for e in lines if e.get("event") == "attempt"}
    assert by_name == {"Toy.add_zero'": "proved", "Toy.mul_one'": "rejected", "Toy.hard": "failed"}

    from leanagent.db.engine import open_db

    db = open_db(db_url, create=False)
    try:
        with db.session() as s:
            rows = {t.full_name: (t, p) for p, t in s.execute(select(Proof, Theorem).join(Theorem))}
            ok_thm, ok = rows["Toy.add_zero'"]
            bad_thm, bad = rows["Toy.mul_one'"]
            assert (ok.env, ok.check_status, ok.checked_by, ok.tactics) == ("leaninteract", "verified", "repl", ["simp"])
            assert ok.states == [G1, "no goals"] and ok_thm.status == TheoremStatus.PROVED_BY_AGENT
            assert (bad.check_status, bad.checked_by) == ("rejected", "repl") and bad.tactics == ["omega"]
            assert "error: omega could not prove the goal" in bad.check_message
            assert bad_thm.status == TheoremStatus.SORRY  # a rejected proof proves nothing
            outcomes = sorted(a.outcome for a in s.scalars(select(ProofAttempt)))
            assert outcomes == ["failed", "proved", "rejected"]
            assert ok.file_digest is not None
    finally:
        db.dispose()
    # The whole-file check ran the file with the proof in place, in the REPL's header environment.
    checks = [r["cmd"] for r in requests(tmp_path / "repl.log") if "cmd" in r and "env" in r]
    assert any("theorem add_zero' (n : Nat) : n + 0 = n := by\n  simp\n" in c for c in checks)
    assert (root / "Toy/Basic.lean").read_text() == BASIC


def test_prove_auto_picks_leaninteract_for_a_new_lean(db_url, tmp_path, monkeypatch, capsys):
    _setup(tmp_path, monkeypatch, db_url, capsys)
    assert _prove(db_url, "auto") == 0
    summary = _json_lines(capsys.readouterr().out)[-1]
    assert summary["backends"] == {"toy": "leaninteract"} and summary["proved"] == 1


def test_prove_leaninteract_without_toolchain_is_one_line(db, db_url, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    assert main(["prove", "--db", db_url, "--env", "leaninteract", "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "no Lean toolchain" in err and "elan" in err and "--env replay" in err and err.count("\n") == 1


def test_forked_workers_prove_with_the_repl_and_close_it(db_url, tmp_path, monkeypatch, capsys):
    # The default pool for --workers N on a CPU machine: each forked worker starts its own REPL.
    import psutil

    _setup(tmp_path, monkeypatch, db_url, capsys)
    assert _prove(db_url, "leaninteract", "--workers", "2") == 0
    lines = _json_lines(capsys.readouterr().out)
    by_name = {e["theorem"]: e["outcome"] for e in lines if e.get("event") == "attempt"}
    assert by_name == {"Toy.add_zero'": "proved", "Toy.mul_one'": "rejected", "Toy.hard": "failed"}
    assert any("cmd" in r for r in requests(tmp_path / "repl.log"))  # the workers' REPLs answered

    def leftovers():
        out = []
        for p in psutil.process_iter(["cmdline"]):
            try:
                if str(tmp_path) in " ".join(p.info["cmdline"] or []) and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
            except psutil.Error:
                pass
        return out

    assert leftovers() == []  # every stand-in REPL and lake the workers started has ended
