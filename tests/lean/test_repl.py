"""`ReplSession` over lean-interact's real `LeanServer` and the stand-in REPL (tests/fake_repl)."""

from __future__ import annotations

import pytest

from leanagent.errors import ToolchainError
from leanagent.lean.repl import ReplError, ReplOptions, ReplSession, ReplTimeout, header_end
from tests.fake_repl.stand_in import install, launches, project, requests

SCRIPT = {"goals": {"t": "⊢ True"}, "moves": {"⊢ True": {"trivial": "no goals"}}, "slow": ["slow_tac"]}
TEXT = "/- A file. -/\nimport Init\nimport Init.Core\n\nnamespace A\n\ntheorem t : True := by\n  sorry\n\nend A\n"


def test_header_end():
    assert TEXT[:header_end(TEXT)] == "/- A file. -/\nimport Init\nimport Init.Core\n"
    assert header_end("theorem t : True := trivial\n") == 0
    assert header_end("module\n\npublic import Init -- c\n\ndef x := 1\n") == len("module\n\npublic import Init -- c\n")
    assert header_end("-- import Fake\ndef x := 1\n") == 0  # a comment is not an import


def test_file_pieces_and_restarts(tmp_path, monkeypatch):
    fake = install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "p", {"A.lean": TEXT})
    s = ReplSession(root, fake.options, command_timeout=20)
    try:
        out = s.check_text(TEXT)
        assert [(x.line, x.goal) for x in out.sorries] == [(8, "⊢ True")]  # the file's own line numbers
        assert [str(m) for m in out.messages] == ["7:0: warning: declaration uses 'sorry'"]
        env = s.context_env(TEXT, TEXT.index("theorem"))
        assert s.context_env(TEXT, TEXT.index("theorem")) == env  # kept, not elaborated twice
        ps = s.command("theorem t : True := by\n  sorry", env).sorries[0].proof_state
        assert s.step(ps, "trivial").status == "Completed"
        gen = s.generation
        with pytest.raises(ReplTimeout):
            s.step(ps, "slow_tac", timeout=0.5)
        assert s.generation > gen  # ids of the killed process are stale at once
        with pytest.raises(ReplError, match="Unknown proof state"):
            s.step(ps, "trivial")  # a fresh process: the old id means nothing (as in the real REPL)
        assert s.restarts == 1 and len(launches(fake.log)) == 2
        assert s.recycle(0.0001) and s.generation > gen + 1  # too much memory: the process is ended
        assert not s.recycle(None)
    finally:
        s.close()
    headers = [r for r in requests(fake.log) if "cmd" in r and "env" not in r]
    assert [h["cmd"] for h in headers] == ["/- A file. -/\nimport Init\nimport Init.Core\n"]  # one header, reused


def test_missing_repl_is_a_toolchain_error(tmp_path, monkeypatch):
    fake = install(tmp_path, monkeypatch, SCRIPT)
    root = project(tmp_path / "p", {"A.lean": TEXT})
    s = ReplSession(root, ReplOptions(path=str(tmp_path / "nowhere"), lake=fake.options.lake))
    with pytest.raises(ToolchainError) as err:
        s.check_text(TEXT)
    assert "nowhere" in err.value.message and "--repl-path" in err.value.fix
    (root / "lean-toolchain").unlink()
    with pytest.raises(ReplError, match="no lean-toolchain"):
        ReplSession(root, fake.options).check_text(TEXT)


@pytest.mark.parametrize("version", ["v4.36.0", "v4.40.0"])
def test_todays_and_future_lean_start_a_session(tmp_path, monkeypatch, version):
    # No stale upper bound: a release newer than any we have tested starts the REPL like any other.
    fake = install(tmp_path, monkeypatch, SCRIPT, version=version)
    root = project(tmp_path / "p", {"A.lean": TEXT}, version=version)
    s = ReplSession(root, fake.options)
    try:
        assert s.check_text(TEXT).env >= 0
    finally:
        s.close()


def test_a_release_lean_interact_cannot_build_names_the_version_and_the_fix(tmp_path, monkeypatch):
    import lean_interact

    def cannot(*args, **kwargs):  # what lean-interact does when it has no REPL revision for a toolchain
        raise RuntimeError("Failed to checkout REPL revision v1.0.0_lean-toolchain-v4.40.0\nmore detail")

    monkeypatch.setattr(lean_interact, "LeanREPLConfig", cannot)
    root = project(tmp_path / "p", {"A.lean": TEXT}, version="v4.40.0")
    with pytest.raises(ToolchainError) as err:
        ReplSession(root, ReplOptions(path=None)).check_text(TEXT)
    assert "v4.40.0" in err.value.message and "\n" not in err.value.message
    assert "--repl-path" in err.value.fix and "lean-interact" in err.value.fix
