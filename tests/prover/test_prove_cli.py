"""`leanagent prove` end to end on the replay backend."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from leanagent.cli import main
from leanagent.db.models import Proof, ProofAttempt, Theorem, TheoremStatus


def _prove(db_url, *extra):
    return main(["prove", "--db", db_url, "--env", "replay", "--workers", "0", "--knn-encoder", "tiny-bert",
                 "--num-tactics", "4", "--max-expansions", "5", *extra])


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_prove_sorry_in_replay_writes_proof_and_skips_on_second_run(toy_db, db_url, capsys):
    assert _prove(db_url, "--proposer", "knn", "--json") == 0
    lines = _json_lines(capsys.readouterr().out)
    summary = lines[-1]
    assert {k: summary[k] for k in ("proved", "attempted")} == {"proved": 1, "attempted": 1}
    assert summary["env"] == "replay" and "expansions" in summary and "seconds" in summary
    assert lines[0]["event"] == "attempt" and lines[0]["proof"] == ["norm_num"]
    with toy_db.session() as s:
        proof = s.scalars(select(Proof)).one()
        assert proof.tactics == ["norm_num"] and proof.states == ["⊢ 1 + 1 = 2", "no goals"]
        assert proof.env == "replay" and proof.model.startswith("knn[tiny-bert")
        # Replay is no proof: only a whole-file check that verifies makes a theorem proved (issue 23).
        assert proof.check_status == "unchecked"
        assert s.get(Theorem, proof.theorem_id).status is TheoremStatus.SORRY
    # Already attempted under this model and budget: skipped.
    assert _prove(db_url, "--proposer", "knn") == 0
    assert "replay: proved 0/0" in capsys.readouterr().out


def test_prove_all_with_frequency_counts_failures(toy_db, db_url, capsys):
    assert _prove(db_url, "--proposer", "frequency", "--theorems", "all", "--repo", "toy", "--json") == 0
    summary = _json_lines(capsys.readouterr().out)[-1]
    assert summary["attempted"] == 5  # theorems with recorded steps
    assert 1 <= summary["proved"] < 5
    with toy_db.session() as s:
        outcomes = [a.outcome for a in s.scalars(select(ProofAttempt))]
        assert set(outcomes) <= {"proved", "failed"} and outcomes.count("proved") == summary["proved"]
    # Same model and budget: skipped; another budget or --retry attempts again.
    assert _prove(db_url, "--proposer", "frequency", "--theorems", "all", "--json") == 0
    again = _json_lines(capsys.readouterr().out)[-1]
    assert again["attempted"] == 0 and again["skipped"] == 5
    assert _prove(db_url, "--proposer", "frequency", "--theorems", "all", "--json", "--retry", "--limit", "2") == 0
    assert _json_lines(capsys.readouterr().out)[-1]["attempted"] == 2
    assert _prove(db_url, "--proposer", "frequency", "--theorems", "all", "--json", "--timeout", "99") == 0
    assert _json_lines(capsys.readouterr().out)[-1]["attempted"] == 5


def test_prove_model_without_checkpoint_fails_cleanly(toy_db, db_url, capsys):
    assert _prove(db_url, "--proposer", "model") == 1
    assert "no generator checkpoint" in capsys.readouterr().err


def test_prove_unknown_repo_is_one_line_error(toy_db, db_url, capsys):
    assert _prove(db_url, "--repo", "nope") == 1
    assert "no repository named 'nope'" in capsys.readouterr().err


def test_prove_with_forked_workers(toy_db, db_url, capsys):
    # The default pool on a CPU machine: two workers forked from one host that loaded the proposer.
    assert _prove(db_url, "--proposer", "knn", "--workers", "2", "--theorems", "all", "--json") == 0
    lines = _json_lines(capsys.readouterr().out)
    assert lines[-1]["attempted"] == 5 and lines[-1]["proved"] == 1
    assert sorted(x["theorem"] for x in lines if x.get("event") == "attempt") == \
        sorted(["add_zero'", "add_comm'", "one_add_one", "two_eq", "imp_self'"])


@pytest.mark.slow
def test_prove_with_ray_workers(toy_db, db_url, capsys):
    assert _prove(db_url, "--proposer", "knn", "--workers", "2", "--pool", "ray", "--theorems", "all",
                  "--json") == 0
    summary = _json_lines(capsys.readouterr().out)[-1]
    # Leave-one-out by theorem: only two_eq is provable, by `norm_num` from one_add_one's record; every
    # other toy theorem's tactics exist only in its own record.
    assert summary["attempted"] == 5 and summary["proved"] == 1


@pytest.mark.slow
def test_prove_with_ray_workers_searching_several_theorems_each(toy_db, db_url, capsys):
    # Threaded Ray actors: each worker takes 3 theorems at a time, its proposer calls batched together.
    assert _prove(db_url, "--proposer", "knn", "--workers", "1", "--pool", "ray", "--searches-per-worker", "3",
                  "--theorems", "all", "--json") == 0
    summary = _json_lines(capsys.readouterr().out)[-1]
    assert summary["attempted"] == 5 and summary["proved"] == 1


def test_prove_in_process_with_concurrent_searches(toy_db, db_url, capsys):
    assert _prove(db_url, "--proposer", "knn", "--searches-per-worker", "4", "--theorems", "all", "--json") == 0
    summary = _json_lines(capsys.readouterr().out)[-1]
    assert summary["attempted"] == 5 and summary["proved"] == 1
    assert _prove(db_url, "--searches-per-worker", "0") == 1
    assert "--searches-per-worker must be >= 1" in capsys.readouterr().err


def test_prove_leandojo_without_toolchain_fails_before_work(toy_db, db_url, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["prove", "--db", db_url, "--env", "leandojo", "--workers", "0"]) == 1
    err = capsys.readouterr().err
    assert "no Lean toolchain" in err and "--env replay" in err and err.count("\n") == 1


def test_safety_options_reach_the_search(toy_db, db_url, capsys):
    # Every tactic is longer than 2 characters: all rejected, nothing proved.
    assert _prove(db_url, "--proposer", "frequency", "--theorems", "all", "--max-chars", "2", "--json") == 0
    assert _json_lines(capsys.readouterr().out)[-1]["proved"] == 0


def test_prove_needs_a_database_and_creates_nothing(tmp_path, monkeypatch, capsys):
    """In an empty folder `prove` used to create db/ and checkpoints/ and report `proved 0/0`, exit 0."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEANAGENT_HOME", raising=False)
    assert main(["prove", "--env", "replay", "--workers", "0"]) == 1
    assert "no database at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_replay_on_sorry_theorems_that_it_cannot_prove_gives_a_hint(toy_db, db_url, capsys):
    assert _prove(db_url, "--proposer", "frequency", "--repo", "toy", "--theorems", "sorry", "--limit", "0") == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "replay: proved 0/0" in out and "hint: replay proves a sorry theorem only when" in out
    assert "--theorems test" in out
    assert captured.err.strip() == ""  # no empty progress bar left as a blank line


def test_ray_start_does_not_announce_token_authentication(monkeypatch):
    """`Token authentication is enabled for this Ray cluster...` landed in the middle of the progress bar."""
    import logging

    import ray

    from leanagent.prover import pool

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kw: None)
    pool.init_ray(1, None)
    logger = logging.getLogger("ray._private.authentication.authentication_token_setup")
    assert not logger.isEnabledFor(logging.WARNING)
