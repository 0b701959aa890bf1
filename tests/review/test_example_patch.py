"""Review -> patch -> `git apply` on the shipped example (examples/repos.yaml), without training.

The example is a traced dataset; its `source:` gives the Lean files, so the proof page shows the
original proof and export-proofs patches the file. Replay proves a held-out theorem with another
theorem's recorded step, often a different proof than the original: here `le_succ_of_le'`, stated
with a hypothesis, by the `omega` that its implication twin `le_succ_of_le'_imp` used after `intro h`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "examples" / "nat-list-src"
NAME = "NatList.Nat.le_succ_of_le'"


@pytest.fixture
def example(db, tmp_path):
    from leanagent.config import load_repos
    from leanagent.sources.sync import sync_entry

    for entry in load_repos(ROOT / "examples" / "repos.yaml").enabled():
        sync_entry(db, entry, cache=tmp_path / "cache")
    return db


def _prove_by_replay(db, name: str, tactics: list[str]) -> int:
    """Record the proof that replay finds, as the campaign writes it (file digest included)."""
    from leanagent.db.models import TacticStep, Theorem
    from leanagent.db.proofs import AttemptRecord, record_attempt
    from leanagent.db.records import file_digest

    with db.session() as s:
        thm = s.scalar(select(Theorem).where(Theorem.full_name == name))
        start = s.scalar(select(TacticStep.state_before).where(TacticStep.theorem_id == thm.id, TacticStep.idx == 0))
        path = thm.file_path
    # The twin recorded this very state: that is what lets replay accept its tactic here.
    with db.session() as s:
        twin = s.scalars(select(TacticStep.tactic).join(Theorem).where(
            Theorem.full_name == name + "_imp", TacticStep.state_before == start)).all()
    assert twin == tactics
    digest = file_digest((SRC / path).read_text(encoding="utf-8"))
    return record_attempt(db, AttemptRecord(theorem_id=thm.id, model="m", budget="b", env="replay",
                                            outcome="proved", tactics=tactics, states=[start, "no goals"],
                                            file_digest=digest))


def test_proof_page_shows_the_original_proof_and_a_real_diff(example):
    from leanagent.db.review import proof_detail
    from leanagent.review.views import build_preview

    pid = _prove_by_replay(example, NAME, ["omega"])
    detail = proof_detail(example, pid)
    # It used to say "Original proof: Not recorded" and diff against a made-up `sorry`.
    assert detail.proof_text == "by\n  exact Nat.le_succ_of_le h"
    preview = build_preview(detail)
    assert preview.problem is None and preview.file_state == "same"
    changed = [line for kind, line in preview.diff if kind in ("add", "del")]
    assert changed == ["-  exact Nat.le_succ_of_le h", "+  omega"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_accepted_proof_exports_as_a_patch_that_git_applies(example, run_cli, db_url, tmp_path):
    from leanagent.db.review import record_review

    pid = _prove_by_replay(example, NAME, ["omega"])
    record_review(example, pid, "accepted", "tester")
    out = tmp_path / "nat.patch"
    code, stdout, err = run_cli("--db", db_url, "export-proofs", "--repo", "nat", "--out", out)
    assert code == 0, err
    text = out.read_text()
    assert "-  exact Nat.le_succ_of_le h\n+  omega\n" in text
    # The README's check: the sources as a repository of their own (examples/source_repo.py), `git -C`.
    checkout = _source_repo(tmp_path / "checkout")
    check = subprocess.run(["git", "-C", str(checkout), "apply", "--check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    subprocess.run(["git", "-C", str(checkout), "apply", str(out)], check=True)
    assert "theorem le_succ_of_le' (a b : Nat) (h : a ≤ b) : a ≤ b + 1 := by\n  omega\n" in \
        (checkout / "NatList" / "Nat" / "Order.lean").read_text()


def test_nothing_to_patch_says_so(example, run_cli, db_url, tmp_path):
    """An accepted proof equal to the file's own used to make an empty patch that `git apply` refuses."""
    from leanagent.db.review import record_review

    # Both statements of this fact are proved by `omega`: replay finds exactly the file's proof.
    pid = _prove_by_replay(example, "NatList.Nat.eq_zero_of_add_eq_zero", ["omega"])
    record_review(example, pid, "accepted", "tester")
    code, _, err = run_cli("--db", db_url, "export-proofs", "--repo", "nat", "--out", tmp_path / "x.patch")
    assert code == 1 and "nothing to patch" in err and "eq_zero_of_add_eq_zero" in err
    assert not (tmp_path / "x.patch").exists()


def _source_repo(dest: Path) -> Path:
    import importlib.util

    spec = importlib.util.spec_from_file_location("source_repo", ROOT / "examples" / "source_repo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make(dest)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_readme_patch_check_can_fail(tmp_path):
    """Issue 27: run inside the leanagent checkout, `git apply --check` skipped the patch and passed
    whatever it held. In the sources' own repository a patch that does not fit fails."""
    broken = tmp_path / "broken.patch"
    broken.write_text("diff --git a/NatList/Nat/Order.lean b/NatList/Nat/Order.lean\n"
                      "--- a/NatList/Nat/Order.lean\n+++ b/NatList/Nat/Order.lean\n"
                      "@@ -1,1 +1,1 @@\n-this line is not in the file\n+omega\n")
    repo = _source_repo(tmp_path / "src")
    check = subprocess.run(["git", "-C", str(repo), "apply", "--check", str(broken)], capture_output=True, text=True)
    assert check.returncode != 0 and "patch does not apply" in check.stderr
    # The old check, run inside a parent repository, "passed" the same broken patch.
    outer = tmp_path / "outer"
    shutil.copytree(SRC, outer / "examples" / "nat-list-src")
    subprocess.run(["git", "init", "-q"], cwd=outer, check=True)
    old = subprocess.run(["git", "apply", "--check", str(broken)], cwd=outer / "examples" / "nat-list-src",
                         capture_output=True, text=True)
    assert old.returncode == 0
