"""`export-proofs --branch` and the disclosure (issue 28, part 4), on a real temporary git repository.

The clone holds two Lean files at one commit; the database holds accepted proofs checked against it.
The branch must have one commit per file with the disclosure and the Co-authored-by trailers, its
files must be the text the whole-file re-check placed each proof in and the `--out` patch (header
and all) applied to that commit; PR.md lists every proof; and every refusal leaves nothing behind.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from review_data import add_proof, add_repo, add_theorem

from leanagent.db.models import Proof, ProofAttempt, Repository
from leanagent.db.review import record_review
from leanagent.lean.axioms import axioms_probe
from leanagent.lean.check import probe_file
from leanagent.lean.proof_text import Location
from leanagent.review.patch import file_digest

A = """import Mathlib

namespace Demo

theorem plain (n : Nat) : n + 0 = n := by
  sorry

end Demo
"""
B = """import Mathlib

theorem Other.two (a b : Nat) : a + b = b + a := by
  sorry

theorem Other.three : 1 + 1 = 2 := sorry
"""
FAST = {"seconds": 0.12, "file_median_seconds": 0.1, "heartbeats": 900, "lines": 1, "warnings": 0}
ANN = "Ann Smith <ann@example.org>"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def clone(tmp_path) -> tuple[Path, str]:
    root = tmp_path / "clone"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Maintainer")
    git(root, "config", "user.email", "maintainer@example.org")
    (root / "Demo").mkdir()
    (root / "Demo" / "A.lean").write_text(A)
    (root / "Demo" / "B.lean").write_text(B)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "sorry theorems")
    return root, git(root, "rev-parse", "HEAD").strip()


def _accepted(db, rid, name, path, text, start, end, tactics, reviewer, commit, polished=None) -> int:
    tid = add_theorem(db, rid, name, file_path=path, start=start, end=end, proof_text="by\n  sorry")
    pid = add_proof(db, tid, tactics=tactics, env="leaninteract", model="stepper-v3", digest=file_digest(text))
    with db.session() as s:
        p = s.get(Proof, pid)
        p.check_status, p.checked_by, p.axioms, p.found_commit = "verified", "repl", ["propext"], commit
        p.polished_tactics = polished
        p.measures = {"found": FAST, "polished": FAST}
        s.add(ProofAttempt(theorem_id=tid, proof_id=pid, model="stepper-v3", budget="expansions=64,timeout=60s",
                           env="leaninteract", outcome="proved"))
    record_review(db, pid, "accepted", reviewer)
    return pid


@pytest.fixture
def proofs(db, clone):
    root, commit = clone
    rid = add_repo(db, "demo", path=root, files={"Demo/A.lean": A, "Demo/B.lean": B})
    return {
        "Demo.plain": _accepted(db, rid, "Demo.plain", "Demo/A.lean", A, (5, 1), (6, 8),
                                ["induction n", "all_goals simp"], ANN, commit, polished=["simp"]),
        "Other.two": _accepted(db, rid, "Other.two", "Demo/B.lean", B, (3, 1), (4, 8), ["omega"], "bob", commit),
        "Other.three": _accepted(db, rid, "Other.three", "Demo/B.lean", B, (6, 1), (6, 40), ["norm_num"], ANN,
                                 commit),
    }


def export(run_cli, db_url, out: Path, *extra):
    return run_cli("--db", db_url, "export-proofs", "--repo", "demo", "--out", out, "--no-upstream", *extra)


def test_branch_patch_and_pr_description(run_cli, db, db_url, clone, proofs, tmp_path):
    root, base = clone
    out = tmp_path / "out" / "demo.patch"
    out.parent.mkdir()
    code, stdout, err = export(run_cli, db_url, out, "--branch", "leanagent/proofs",
                               "--coauthor", "bob <bob@example.org>")
    assert code == 0, err
    assert "made branch leanagent/proofs" in stdout
    # The user's checkout is as it was: same branch, same commit, nothing changed.
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert git(root, "rev-parse", "HEAD").strip() == base and git(root, "status", "--porcelain") == ""

    # One commit per file on top of the proofs' commit, each with its trailers.
    commits = git(root, "rev-list", "--reverse", f"{base}..leanagent/proofs").split()
    assert len(commits) == 2 and git(root, "rev-parse", "leanagent/proofs^^").strip() == base
    for sha, path, coauthors in ((commits[0], "Demo/A.lean", [ANN]), (commits[1], "Demo/B.lean", ["bob <bob@example.org>", ANN])):
        assert git(root, "show", "--name-only", "--format=", sha).split() == [path]
        trailers = git(root, "log", "-1", "--format=%(trailers:key=Co-authored-by,valueonly)", sha).split("\n")
        assert [t for t in trailers if t] == coauthors
        message = git(root, "log", "-1", "--format=%B", sha)
        assert "leanagent 0.1.0" in message and "AI use" in message and f"Checked against commit: {base}" in message
        assert "model stepper-v3, search budget expansions=64,timeout=60s" in message
        assert "re-check: verified (the file elaborates with the proof; standard axioms only) by repl; axioms: propext" \
            in message
    assert "Prove plain in Demo/A.lean" in git(root, "log", "-1", "--format=%s", commits[0])

    # The branch's files are what the whole-file re-check saw (the chosen variant, placed the same way) ...
    branch_a = git(root, "show", "leanagent/proofs:Demo/A.lean")
    checked = probe_file(A, Location("Demo.plain", 5, "Demo/A.lean"), ["simp"])[0]  # the polished variant
    assert checked == branch_a + "\n" + axioms_probe("Demo.plain") + "\n"  # the file, plus `#print axioms`
    assert "induction n" not in branch_a
    # ... and the patch, its header included, applies to the proofs' commit and gives exactly those files.
    patch = out.read_text()
    assert patch.index("AI use") < patch.index("diff --git")
    applied = tmp_path / "applied"
    git(root, "worktree", "add", "-q", "--detach", str(applied), base)
    git(applied, "apply", "--check", str(out))
    git(applied, "apply", str(out))
    for path in ("Demo/A.lean", "Demo/B.lean"):
        assert (applied / path).read_text() == git(root, "show", f"leanagent/proofs:{path}")

    pr = (out.parent / "PR.md").read_text()
    assert pr.startswith("# Proofs of 3 `sorry` theorem(s) in demo") and "## AI use" in pr
    assert "branch `leanagent/proofs`" in pr and base in pr
    lines = [ln for ln in pr.splitlines() if ln.startswith("- `")]
    assert [ln.split("`")[1] for ln in lines] == ["Demo.plain", "Other.two", "Other.three"]
    assert "Demo/A.lean, polished variant): 1 lines, 0.12 s (file median 0.10 s)" in lines[0]
    assert all("flags waived with --force: none" in ln for ln in lines)


def test_waived_flags_are_disclosed_with_the_reason(run_cli, db, db_url, clone, proofs, tmp_path):
    with db.session() as s:
        s.get(Proof, proofs["Other.two"]).measures = {"found": {**FAST, "seconds": 2.5}}  # slow
    out = tmp_path / "p.patch"
    code, _, err = export(run_cli, db_url, out)
    assert code == 1 and "slow proof" in err and not out.exists() and not (tmp_path / "PR.md").exists()
    code, _, err = export(run_cli, db_url, out, "--force", "--force-reason", "the file's other proofs take 3 s",
                          "--pr", tmp_path / "desc.md")
    assert code == 0, err
    pr = (tmp_path / "desc.md").read_text()
    (line,) = [ln for ln in pr.splitlines() if ln.startswith("- `Other.two`")]
    assert "flags waived with --force: slow proof (the re-check took 2.50 s (over 1 s)" in line
    assert "waived because: the file's other proofs take 3 s" in line
    assert "1 proof(s) carry review flags" in pr and "slow proof" in out.read_text().split("diff --git")[0]


def test_without_a_branch_reviewers_need_no_email(run_cli, db, db_url, clone, proofs, tmp_path):
    code, _, err = export(run_cli, db_url, tmp_path / "p.patch")
    assert code == 0, err
    header = (tmp_path / "p.patch").read_text().split("diff --git")[0]
    assert f"Co-authored-by: {ANN}" in header and "accepted by bob" in header
    assert not any(line.startswith(("diff ", "--- ", "+++ ", "@@ ")) for line in header.splitlines())


def _refused(run_cli, db_url, tmp_path, root, *extra, branch="leanagent/proofs") -> str:
    """The one-line error of a refused export, after checking that it left no patch, PR.md or branch."""
    out = tmp_path / "r.patch"
    code, _, err = export(run_cli, db_url, out, f"--branch={branch}", *extra)
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "PR.md").exists()
    if (root / ".git").exists():
        assert "leanagent/proofs" not in git(root, "branch", "--list")
    return err


def test_branch_refusals(run_cli, db, db_url, clone, proofs, tmp_path):
    root, base = clone
    bob = ("--coauthor", "bob <bob@example.org>")
    assert "no email for the Co-authored-by trailer of reviewer(s) 'bob'" in _refused(run_cli, db_url, tmp_path, root)
    assert "is not of the form `Name <email>`" in _refused(run_cli, db_url, tmp_path, root, "--coauthor", "bob")

    git(root, "branch", "taken")
    assert "the branch taken already exists" in _refused(run_cli, db_url, tmp_path, root, *bob, branch="taken")
    assert "is not a valid git branch name" in _refused(run_cli, db_url, tmp_path, root, *bob, branch="bad..name")
    assert "is not a branch name" in _refused(run_cli, db_url, tmp_path, root, *bob, branch="-f")

    (root / "NOTES.md").write_text("a staged file the export does not touch\n")
    git(root, "add", "NOTES.md")
    assert "has uncommitted changes" in _refused(run_cli, db_url, tmp_path, root, *bob)
    git(root, "rm", "-q", "--cached", "NOTES.md")
    assert "made branch" in export(run_cli, db_url, tmp_path / "ok.patch", "--branch=ok", *bob)[1]  # untracked: fine
    (tmp_path / "ok.patch").unlink()
    (tmp_path / "PR.md").unlink()

    with db.session() as s:  # one proof checked against another commit
        s.get(Proof, proofs["Other.three"]).found_commit = "f" * 40
    assert "the proofs were checked against different commits" in _refused(run_cli, db_url, tmp_path, root, *bob)
    with db.session() as s:
        for pid in proofs.values():
            s.get(Proof, pid).found_commit = "f" * 40
    assert f"the proofs' commit {'f' * 12} is not in the clone" in _refused(run_cli, db_url, tmp_path, root, *bob)
    # A commit whose file is not the one the proofs were checked against (and the patch was made from).
    (root / "Demo" / "A.lean").write_text(A.replace("theorem plain", "-- before\ntheorem plain"))
    git(root, "commit", "-q", "-am", "an older text")
    older = git(root, "rev-parse", "HEAD").strip()
    git(root, "checkout", "-q", base, "--", "Demo/A.lean")
    git(root, "commit", "-q", "-am", "back")
    with db.session() as s:
        for pid in proofs.values():
            s.get(Proof, pid).found_commit = older
    assert f"Demo/A.lean at commit {older[:12]} is not the file the patch was made from" in \
        _refused(run_cli, db_url, tmp_path, root, *bob)

    import shutil
    shutil.rmtree(root / ".git")  # a plain folder: no git repository to branch in
    assert "is not a git repository" in _refused(run_cli, db_url, tmp_path, root, *bob)
    with db.session() as s:
        s.query(Repository).one().path = None
    assert "no local clone" in _refused(run_cli, db_url, tmp_path, root, *bob)


def test_disclosure_texts():
    from leanagent.db.pr_facts import ProofFacts
    from leanagent.review.disclosure import Disclosure, DisclosureError, patch_header, resolve_coauthors
    from leanagent.review.flags import Flag

    f = ProofFacts(1, "Demo.plain", "Demo/A.lean", "found", ["simp"], {}, "a" * 40, None, None, "replay", None,
                   None, None, None)
    d = Disclosure("demo", "a" * 40, [f], waived={1: [Flag("long", "21 lines")]},
                   force_reason="agreed\ndiff --git a/x b/x\n--- a/x")
    header = patch_header(d)
    assert not any(line.startswith(("diff ", "--- ", "+++ ", "@@ ")) for line in header.splitlines())
    assert "1 lines, time not measured" in header and "replayed against recorded steps only" in header
    assert "1 of them were not accepted by anyone in review" in header
    assert "waived because: agreed diff --git a/x b/x --- a/x" in header  # the reason stays on its line
    assert resolve_coauthors(["Ann <a@x.org>", "bob"], ["Bob B <b@x.org>"], strict=False) == {"Ann <a@x.org>": "Ann <a@x.org>"}
    assert resolve_coauthors(["bob"], ["bob <b@x.org>"]) == {"bob": "bob <b@x.org>"}
    with pytest.raises(DisclosureError, match="'bob'"):
        resolve_coauthors(["bob"], [])
