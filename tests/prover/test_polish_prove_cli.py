"""`prove --env leaninteract` end to end with polishing (issue 28): the stand-in REPL refuses `omega` step by
step, so the search finds `intro h; simp`; the whole file accepts `omega`, which the search proposed, so
polishing keeps the collapse. The database holds the found proof, the polished one, what polishing did and
what the re-check measured of each."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from leanagent.cli import main
from leanagent.db.models import Proof
from tests.conftest import EXAMPLE
from tests.fake_repl.stand_in import install, project

G1, G1B = "n : Nat\n⊢ n + 0 = n", "n : Nat\nh : True\n⊢ n + 0 = n"
SCRIPT = {"goals": {"add_zero'": G1},
          "moves": {G1: {"intro h": G1B, "omega": "no goals"}, G1B: {"simp": "no goals"}},
          "step_errors": {"omega": "omega could not prove the goal"}}
BASIC = "import Init\n\nnamespace Toy\n\ntheorem add_zero' (n : Nat) : n + 0 = n := by\n  sorry\n\nend Toy\n"


@pytest.mark.parametrize("flags", [[], ["--no-polish"]])
def test_prove_stores_the_polished_proof_and_the_measures(db_url, tmp_path, monkeypatch, capsys, flags):
    install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/Basic.lean": BASIC})
    repos = tmp_path / "repos.yaml"
    # The example dataset gives the frequency proposer its tactics (omega, intro h, simp, rfl, ...).
    repos.write_text(f"repos:\n  - name: toy\n    path: {root}\n  - name: nat-list\n    traced: {EXAMPLE}\n")
    assert main(["trace", "--repos", str(repos), "--db", db_url]) == 0
    assert main(["prove", "--db", db_url, "--env", "leaninteract", "--repo", "toy", "--workers", "0",
                 "--proposer", "frequency", "--num-tactics", "64", "--max-expansions", "2", "--json",
                 "--polish-seconds", "30", *flags]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (summary["proved"], summary["polished"]) == (1, 0 if flags else 1)

    from leanagent.db.engine import open_db

    db = open_db(db_url, create=False)
    try:
        with db.session() as s:
            proof = s.scalars(select(Proof)).one()
            assert (proof.tactics, proof.check_status) == (["intro h", "simp"], "verified")  # the found proof stays
            found = proof.measures["found"]
            assert found["lines"] == 2 and found["seconds"] == pytest.approx(0.0021) and found["warnings"] == []
            if flags:
                assert proof.polish == {"skipped": "--no-polish"} and proof.polished_tactics is None
                assert set(proof.measures) == {"found"} and proof.chosen_tactics == ["intro h", "simp"]
            else:
                assert proof.polished_tactics == ["omega"] and proof.chosen_tactics == ["omega"]
                # `simp` (proposed too, tried first) does not close the goal in the file; `omega` does
                assert proof.polish["kept"] == ["collapse: omega"] and proof.polish["tried"] == 2
                assert proof.polish["budget_hit"] is False
                assert proof.measures["polished"]["lines"] == 1
    finally:
        db.dispose()
    assert (root / "Toy/Basic.lean").read_text() == BASIC
