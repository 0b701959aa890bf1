"""The LeanInteract backend against lean-interact's real client and a stand-in REPL (tests/fake_repl).

Nothing of lean-interact is replaced: `LeanREPLConfig` gets the stand-in REPL folder as its local
REPL and the stand-in `lake`, `LeanServer` starts `lake env .../repl` in the project folder, and every
request and answer goes through its JSON protocol. The stand-in keeps environment and proof-state
ids per process, so a request with an id from a killed process is refused as by the real REPL.
"""

from __future__ import annotations

import shutil

import pytest

from leanagent.db.proof_checks import TheoremSource
from leanagent.errors import ProverError, ToolchainError
from leanagent.prover.env import TacOutcome
from leanagent.data import TheoremRef
from leanagent.prover.leandojo_env import LeanLimits
from leanagent.prover.leaninteract_env import LeanInteractEnv, check_toolchain
from leanagent.prover.search import BestFirstSearch, SearchConfig
from tests.fake_repl.stand_in import install, launches, project, requests

S0 = "p q : Prop\n⊢ p → q → p"
S1 = "p q : Prop\nhp : p\n⊢ q → p"
S2 = "p q : Prop\nhp : p\nhq : q\n⊢ p"
TRUE = "⊢ True"
SCRIPT = {"goals": {"imp_self'": S0, "other": TRUE},
          "moves": {S0: {"intro hp": S1}, S1: {"intro hq": S2, "skip": S1},
                    S2: {"exact hp": "no goals", "exact_bad": "no goals"}, TRUE: {"trivial": "no goals"}},
          "slow": ["slow_tac"], "crash": ["crash_tac"], "step_errors": {"bad_simp": "simp made no progress"},
          "kernel_reject": ["exact_bad"]}
TEXT = """import Init

namespace Toy

variable (p q : Prop)

/-- The first projection. -/
theorem imp_self' : p → q → p := by
  sorry

theorem other : True := by
  sorry

end Toy
"""


@pytest.fixture
def toy(tmp_path, monkeypatch):
    fake = install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "toy", {"Toy/Basic.lean": TEXT})

    def source(ref: TheoremRef) -> TheoremSource:
        return TheoremSource(ref.id or 0, ref.repo, "path", str(root), "v4.15.0", ref.file_path, ref.start,
                             (ref.start[0] + 1, 9), "by\n  sorry", None)

    def env(**limits) -> LeanInteractEnv:
        return LeanInteractEnv(LeanLimits(init_timeout=20, **limits), fake.options, sources=source)

    fake.env, fake.root = env, root
    return fake


def ref(name: str, line: int) -> TheoremRef:
    return TheoremRef(id=1, repo="toy", file_path="Toy/Basic.lean", full_name=f"Toy.{name}", start=(line, 1))


IMP = ref("imp_self'", 8)
OTHER = ref("other", 11)


def test_start_in_file_context_and_steps(toy):
    env = toy.env()
    try:
        s0 = env.start(IMP)
        assert s0.text == S0 and s0.path == ()
        r1 = env.run_tac(s0, "intro hp")
        assert r1.kind is TacOutcome.STATE and r1.state.text == S1 and r1.state.path == ("intro hp",)
        unknown = env.run_tac(r1.state, "simp")
        assert unknown.kind is TacOutcome.ERROR and "unknown tactic" in unknown.message
        logged = env.run_tac(r1.state, "bad_simp")  # an error message inside a proof-step answer
        assert logged.kind is TacOutcome.ERROR and logged.message == "simp made no progress"
        assert env.run_tac(r1.state, "exact sorry").kind is TacOutcome.GIVEN_UP
        r2 = env.run_tac(r1.state, "intro hq")
        kernel = env.run_tac(r2.state, "exact_bad")
        assert kernel.kind is TacOutcome.ERROR and "kernel type check failed" in kernel.message
        done = env.run_tac(r2.state, "exact hp")
        assert done.kind is TacOutcome.PROVED and done.state.path == ("intro hp", "intro hq", "exact hp")
    finally:
        env.close()
    (launch,) = launches(toy.log)
    assert launch["cwd"] == str(toy.root)  # lake env repl runs in the project
    cmds = [r for r in requests(toy.log) if "cmd" in r]
    assert cmds[0]["cmd"] == "import Init\n" and "env" not in cmds[0]  # the header, in a new session
    # the file up to the declaration (its doc comment stays with it), then the statement with `by sorry`
    assert cmds[1]["env"] == 0 and cmds[1]["cmd"].endswith("variable (p q : Prop)\n\n")
    assert cmds[2]["cmd"] == "/-- The first projection. -/\ntheorem imp_self' : p → q → p := by\n  sorry"


def test_theorems_of_one_file_share_the_process_and_the_prefix(toy):
    env = toy.env()
    try:
        assert env.start(IMP).text == S0
        s = env.start(OTHER)
        assert s.text == TRUE and env.run_tac(s, "trivial").kind is TacOutcome.PROVED
    finally:
        env.close()
    assert len(launches(toy.log)) == 1
    cmds = [r["cmd"] for r in requests(toy.log) if "cmd" in r]
    assert sum(c.startswith("import") for c in cmds) == 1
    # the second theorem's prefix continues from the first one's: no stretch of the file twice
    assert cmds[3].startswith("/-- The first projection. -/") and cmds[3].endswith("sorry\n\n")
    assert cmds[4] == "theorem other : True := by\n  sorry"


def test_timeout_restarts_and_replays_the_path(toy):
    env = toy.env()
    try:
        s0 = env.start(IMP)
        s1 = env.run_tac(s0, "intro hp").state
        slow = env.run_tac(s1, "slow_tac", timeout=0.5)
        assert slow.kind is TacOutcome.TIMEOUT and env.restarts == 1
        # The old proof state ids are gone with the killed process: the path is replayed.
        r2 = env.run_tac(s1, "intro hq", timeout=5)
        assert r2.kind is TacOutcome.STATE and r2.state.text == S2
        assert env.run_tac(r2.state, "exact hp").kind is TacOutcome.PROVED
        crash = env.run_tac(r2.state, "crash_tac", timeout=5)
        assert crash.kind is TacOutcome.ERROR and "crashed" in crash.message and env.restarts == 2
        assert env.run_tac(r2.state, "exact hp").kind is TacOutcome.PROVED  # replayed again
    finally:
        env.close()
    assert len(launches(toy.log)) == 3
    steps = [r.get("tactic") or ("CMD" if "cmd" in r else None) for r in requests(toy.log)]
    i = steps.index("slow_tac")
    # after the timeout: the file context and the statement again, "intro hp" replayed, then the new tactic
    assert steps[i + 1:i + 6] == ["CMD", "CMD", "CMD", "intro hp", "intro hq"]


def test_too_many_restarts_is_an_error_of_the_search(toy):
    env = toy.env(max_restarts=0)
    try:
        s0 = env.start(IMP)
        with pytest.raises(ProverError, match="restarted more than 0 times"):
            env.run_tac(s0, "crash_tac")
    finally:
        env.close()


def test_search_over_leaninteract_backend(toy):
    from tests.prover.conftest import ScriptedGenerator

    gen = ScriptedGenerator({S0: [("intro hp", -0.1), ("native_decide", -0.05)],
                             S1: [("slow_tac", -0.01), ("intro hq", -0.2)], S2: [("exact hp", -0.1)]})
    env = toy.env()
    try:
        search = BestFirstSearch(gen, env, config=SearchConfig(num_sampled_tactics=4, tactic_timeout=0.5),
                                 on_step=lambda t: t.check_invariants())
        res = search.search(IMP)
    finally:
        env.close()
    assert res.outcome == "proved" and res.proof == ["intro hp", "intro hq", "exact hp"]
    assert res.states == [S0, S1, S2, "no goals"] and res.rejected == 1 and env.restarts == 1


def test_opening_errors_are_prover_errors(toy, tmp_path):
    env = toy.env()
    try:
        with pytest.raises(ProverError, match="Toy.nope is not declared in"):
            env.start(ref("nope", 3))
    finally:
        env.close()
    gone = LeanInteractEnv(LeanLimits(init_timeout=20), toy.options, sources=lambda r: TheoremSource(
        1, "toy", "traced", None, None, r.file_path, r.start, r.start, None, "theorem x : True := sorry"))
    with pytest.raises(ProverError, match="no local project folder"):
        gone.start(IMP)


def test_check_toolchain(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("ELAN_HOME", str(tmp_path / "no-elan"))
    with pytest.raises(ToolchainError) as err:
        check_toolchain()
    assert "elan" in err.value.fix and "--env replay" in err.value.fix


def _installed_lean() -> str | None:
    """`v4.x.y` of the `lean` on PATH, None without one."""
    import re
    import subprocess

    if shutil.which("lake") is None or shutil.which("lean") is None:
        return None
    out = subprocess.run(["lean", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"version (\d+\.\d+\.\d+(?:-rc\d+)?)", out)
    return "v" + m.group(1) if m else None


@pytest.mark.lean
@pytest.mark.skipif(_installed_lean() is None,
                    reason="needs a Lean toolchain: curl https://elan.lean-lang.org/elan-init.sh -sSf | sh "
                           "(lean-interact fetches and builds its REPL once, or set LEANAGENT_REPL_PATH)")
def test_real_lean_opens_proves_and_rechecks(tmp_path):
    from leanagent.prover.recheck import Rechecker
    from leanagent.lean.versions import leaninteract_supports

    version = _installed_lean()
    if not leaninteract_supports(version):
        pytest.skip(f"the installed Lean {version} is outside lean-interact's range")
    text = "theorem add_zero' (n : Nat) : n + 0 = n := by\n  sorry\n"
    root = project(tmp_path / "toy", {"Toy/Basic.lean": text}, version=version)
    src = TheoremSource(1, "toy", "path", str(root), version, "Toy/Basic.lean", (1, 1), (2, 7), "by\n  sorry", None)
    ref = TheoremRef(1, "toy", "Toy/Basic.lean", "add_zero'", start=(1, 1))
    env = LeanInteractEnv(LeanLimits(init_timeout=300), sources=lambda r: src)
    try:
        s0 = env.start(ref)
        assert "n + 0 = n" in s0.text
        assert env.run_tac(s0, "simp", timeout=60).kind is TacOutcome.PROVED
        assert env.run_tac(s0, "exact sorry", timeout=60).kind is TacOutcome.GIVEN_UP
        assert env.run_tac(s0, "exact Nat.succ_ne_zero", timeout=60).kind is TacOutcome.ERROR
        assert Rechecker(env, env.source).check(ref, ["simp"]).status == "verified"
        assert Rechecker(env, env.source).check(ref, ["skip"]).status == "rejected"  # unsolved goals
    finally:
        env.close()

    class DojoLike:  # the LeanDojo backend's re-check: `lake env lean` on the file
        name = "leandojo"

    assert Rechecker(DojoLike(), lambda r: src).check(ref, ["simp"]).status == "verified"
    assert Rechecker(DojoLike(), lambda r: src).check(ref, ["skip"]).status == "rejected"
