"""The LeanDojo backend against lean-dojo's real `Dojo` code and a stand-in `lake` on PATH.

Seam: a real LeanDojo session needs a traced repository in LeanDojo's cache
(`*.ast.json` files, a Lake build). Only the three lookups that read that
cache are replaced (`get_traced_repo_path`, `Dojo._locate_traced_file`,
`Dojo._get_modified_proof`). Everything else is lean-dojo's own code: it
writes the modified file, launches `lake env lean --threads --memory FILE`
with pexpect, and speaks the REPL protocol with the stand-in in
tests/prover/fake_lean/lake.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from leanagent.prover.env import TacOutcome
from leanagent.data import TheoremRef
from leanagent.prover.leandojo_env import LeanDojoEnv, LeanLimits
from leanagent.prover.search import BestFirstSearch, SearchConfig

FAKE = Path(__file__).parent / "fake_lean"
S0 = "p q : Prop\n⊢ p → q → p"
S1 = "p q : Prop\nhp : p\n⊢ q → p"
S2 = "p q : Prop\nhp : p\nhq : q\n⊢ p"
SCRIPT = {"init": S0, "moves": {S0: {"intro hp": S1}, S1: {"intro hq": S2, "skip": S1},
                                S2: {"exact hp": "no goals"}},
          "slow": ["slow_tac"], "crash": ["crash_tac"], "oom": ["oom_tac"]}
REF = TheoremRef(id=1, repo="toy", file_path="Toy/Basic.lean", full_name="imp_self'",
                 url="https://github.com/x/toy", commit="0" * 40)


@pytest.fixture
def fake_lean(tmp_path, monkeypatch):
    import lean_dojo
    from lean_dojo.interaction import dojo as dojo_module

    traced = tmp_path / "traced"
    (traced / "Toy").mkdir(parents=True)
    (traced / "Lean4Repl.lean").write_text("-- stand-in\n")
    (traced / "Toy" / "Basic.lean").write_text("theorem imp_self' (p q : Prop) : p → q → p := by\n  sorry\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    log = tmp_path / "lean.log"
    monkeypatch.setenv("FAKE_LEAN_SCRIPT", str(script))
    monkeypatch.setenv("FAKE_LEAN_LOG", str(log))
    monkeypatch.setenv("PATH", f"{FAKE}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(dojo_module, "get_traced_repo_path", lambda repo, build_deps=True: traced)
    monkeypatch.setattr(dojo_module.Dojo, "_locate_traced_file",
                        lambda self, path: SimpleNamespace(abs_path=traced / "Toy" / "Basic.lean", has_prelude=False))
    monkeypatch.setattr(dojo_module.Dojo, "_get_modified_proof",
                        lambda self, tf: self._get_imports() + "theorem imp_self' := by\n  lean_dojo_repl\n  sorry\n")
    # LeanGitRepo would ask GitHub; Theorem itself is lean-dojo's real class.
    factory = lambda ref: lean_dojo.Theorem(SimpleNamespace(url=ref.url, commit=ref.commit), ref.file_path,
                                            ref.full_name)
    monkeypatch.setattr(dojo_module, "TACTIC_MEMORY_LIMIT", dojo_module.TACTIC_MEMORY_LIMIT)
    monkeypatch.setattr(dojo_module, "TACTIC_CPU_LIMIT", dojo_module.TACTIC_CPU_LIMIT)
    monkeypatch.setenv("TACTIC_MEMORY_LIMIT", "32g")
    monkeypatch.setenv("TACTIC_CPU_LIMIT", "1")
    return SimpleNamespace(factory=factory, log=log, requests=Path(str(log) + ".requests"))


def _launches(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_protocol_and_limits_pass_through(fake_lean):
    env = LeanDojoEnv(LeanLimits(memory_gb=3, cpus=2, init_timeout=20), theorem_factory=fake_lean.factory)
    try:
        s0 = env.start(REF)
        assert s0.text == S0 and s0.path == ()
        r1 = env.run_tac(s0, "intro hp")
        assert r1.kind is TacOutcome.STATE and r1.state.text == S1 and r1.state.path == ("intro hp",)
        bad = env.run_tac(r1.state, "simp")
        assert bad.kind is TacOutcome.ERROR and "unknown tactic simp" in bad.message
        assert env.run_tac(r1.state, "exact sorry").kind is TacOutcome.GIVEN_UP
        r2 = env.run_tac(r1.state, "intro hq")
        done = env.run_tac(r2.state, "exact hp")
        assert done.kind is TacOutcome.PROVED and done.state.path == ("intro hp", "intro hq", "exact hp")
    finally:
        env.close()
    (argv,) = _launches(fake_lean.log)
    assert argv[:4] == ["env", "lean", "--threads=2", f"--memory={3 * 1024}"]
    assert argv[4].startswith("Toy/Basic") and argv[4].endswith(".lean")


def test_timeout_restarts_and_replays_the_path(fake_lean):
    env = LeanDojoEnv(LeanLimits(init_timeout=20), theorem_factory=fake_lean.factory)
    try:
        s0 = env.start(REF)
        s1 = env.run_tac(s0, "intro hp").state
        slow = env.run_tac(s1, "slow_tac", timeout=0.5)
        assert slow.kind is TacOutcome.TIMEOUT and env.restarts == 1
        # Without the restart this would read the stale answer of slow_tac (issue 218).
        r2 = env.run_tac(s1, "intro hq", timeout=5)
        assert r2.kind is TacOutcome.STATE and r2.state.text == S2
        assert env.run_tac(r2.state, "exact hp").kind is TacOutcome.PROVED
        crash = env.run_tac(r2.state, "crash_tac", timeout=5)
        assert crash.kind is TacOutcome.ERROR and "crashed" in crash.message and env.restarts == 2
        assert env.run_tac(r2.state, "exact hp").kind is TacOutcome.PROVED  # path re-run again
        oom = env.run_tac(s0, "oom_tac", timeout=5)
        assert oom.kind is TacOutcome.ERROR and "out of memory" in oom.message
    finally:
        env.close()
    assert len(_launches(fake_lean.log)) == 4
    cmds = [json.loads(line)["cmd"] for line in fake_lean.requests.read_text().splitlines()]
    # after the timeout: "intro hp" replayed, then the new tactic
    i = cmds.index("slow_tac")
    assert cmds[i + 1:i + 3] == ["intro hp", "intro hq"]


def test_search_over_leandojo_backend(fake_lean):
    from tests.prover.conftest import ScriptedGenerator

    gen = ScriptedGenerator({S0: [("intro hp", -0.1), ("native_decide", -0.05)],
                             S1: [("slow_tac", -0.01), ("intro hq", -0.2)], S2: [("exact hp", -0.1)]})
    env = LeanDojoEnv(LeanLimits(init_timeout=20), theorem_factory=fake_lean.factory)
    try:
        search = BestFirstSearch(gen, env, config=SearchConfig(num_sampled_tactics=4, tactic_timeout=0.5),
                                 on_step=lambda t: t.check_invariants())
        res = search.search(REF)
    finally:
        env.close()
    assert res.outcome == "proved" and res.proof == ["intro hp", "intro hq", "exact hp"]
    assert res.rejected == 1 and env.restarts == 1


def _has_lean() -> bool:
    return shutil.which("lake") is not None and shutil.which("lean") is not None


@pytest.mark.lean
@pytest.mark.skipif(not _has_lean() or not os.environ.get("LEANAGENT_TEST_LEAN_THEOREM"),
                    reason="needs a Lean toolchain (lake, lean) and LEANAGENT_TEST_LEAN_THEOREM="
                           "'URL COMMIT FILE NAME TACTIC' naming a theorem that TACTIC proves")
def test_real_lean_proves_one_tactic_theorem():
    url, commit, file_path, name, *tactic = os.environ["LEANAGENT_TEST_LEAN_THEOREM"].split()
    env = LeanDojoEnv()
    try:
        s0 = env.start(TheoremRef(None, "real", file_path, name, url=url, commit=commit))
        assert env.run_tac(s0, " ".join(tactic), timeout=60).kind is TacOutcome.PROVED
    finally:
        env.close()
