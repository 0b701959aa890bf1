"""Patch text functions and the export: placement, indentation, refusals, `git apply --check`."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from leanagent.db.models import ReviewStatus
from leanagent.review.export import export_patch, write_patch
from leanagent.review.patch import (
    ExportItem,
    Location,
    PatchError,
    build_patch,
    file_digest,
    find_sorry_proof,
    read_checkout_file,
    render_tactics,
    replace_proof,
    safe_relpath,
    unified_diff,
)

from review_data import BASIC, THEOREMS, add_proof, add_repo, add_theorem

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def loc(name: str) -> Location:
    for n, sl, sc, el, ec, text in THEOREMS:
        if n == name:
            return Location(sl, sc, el, ec, text)
    raise KeyError(name)


def make_git_repo(path, files: dict[str, str]):
    path.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(text.encode())
    run = lambda *a: subprocess.run(["git", *a], cwd=path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    run("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    return path


def git_apply(repo, patch_path, check=True):
    args = ["git", "apply"] + (["--check"] if check else []) + [str(patch_path)]
    return subprocess.run(args, cwd=repo, capture_output=True, text=True)


def test_tactic_block_replaces_sorry_and_keeps_indentation():
    new, region, inserted = replace_proof(BASIC, loc("Demo.add_zero'"), ["intro x", "simp"])
    assert BASIC[region[0]:region[1]] == "by\n  sorry"
    assert "theorem add_zero' (n : Nat) : n + 0 = n := by\n  intro x\n  simp\n" in new
    new, region, _ = replace_proof(BASIC, loc("Demo.nested_two"), ["omega"])
    assert "a + b = b + a := by\n    omega\n" in new  # the original 4-space proof indentation


def test_term_mode_sorry_becomes_indented_tactic_block():
    new, region, _ = replace_proof(BASIC, loc("Demo.term_mode"), ["exact h"])
    assert BASIC[region[0]:region[1]] == "sorry"
    assert "(h : p) : p := by\n  exact h\n\nend Demo" in new


def test_multiline_tactic_keeps_its_relative_layout():
    assert render_tactics(["constructor", "· simp\n  rfl"], "    ") == "by\n    constructor\n    · simp\n      rfl"


def test_without_proof_text_the_last_sorry_after_assign_is_replaced():
    text = "theorem t : True ∧ True := by\n  constructor\n  · trivial\n  · sorry\n"
    a, b = find_sorry_proof(text, Location(1, 1, 4, 10))
    assert text[a:b] == "by\n  constructor\n  · trivial\n  · sorry"


def test_no_sorry_or_bad_position_is_refused():
    with pytest.raises(PatchError, match="no `sorry`"):
        find_sorry_proof("theorem t : True := trivial\n", Location(1, 1, 1, 28))
    with pytest.raises(PatchError, match="outside"):
        find_sorry_proof("theorem t : True := sorry\n", Location(5, 1, 6, 1))
    with pytest.raises(PatchError, match="no tactics"):
        render_tactics([], "  ")


@pytest.mark.parametrize("bad", ["../x.lean", "a/../../x.lean", "/etc/passwd", "C:/x.lean", "", "a\n.lean"])
def test_unsafe_paths_are_refused(bad):
    with pytest.raises(PatchError, match="unsafe file path"):
        safe_relpath(bad)


def test_symlink_out_of_checkout_is_refused(tmp_path):
    (tmp_path / "outside.lean").write_text("x")
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "link.lean").symlink_to(tmp_path / "outside.lean")
    with pytest.raises(PatchError, match="outside the checkout"):
        read_checkout_file(str(tmp_path / "repo"), "link.lean")


def test_changed_file_is_refused_with_the_theorem_named():
    item = ExportItem(1, "Demo.add_zero'", "Demo/Basic.lean", loc("Demo.add_zero'"), ["simp"], file_digest(BASIC))
    with pytest.raises(PatchError, match=r"Demo/Basic.lean: the file changed since the proof was found \(Demo.add_zero'\)"):
        build_patch([item], lambda rel: BASIC + "-- edited\n")
    item.file_digest = None
    with pytest.raises(PatchError, match="no file digest was recorded"):
        build_patch([item], lambda rel: BASIC)


@needs_git
def test_patch_applies_with_git_including_no_final_newline(tmp_path):
    other = "theorem u : 1 = 1 := by sorry"  # no newline at the end of the file
    items = [ExportItem(i, n, "Demo/Basic.lean", Location(sl, sc, el, ec, t), ["simp", "rfl"], file_digest(BASIC))
             for i, (n, sl, sc, el, ec, t) in enumerate(THEOREMS)]
    items.append(ExportItem(9, "u", "Other.lean", Location(1, 1, 1, 31), ["rfl"], file_digest(other)))
    files = {"Demo/Basic.lean": BASIC, "Other.lean": other}
    repo = make_git_repo(tmp_path / "repo", files)
    result = build_patch(items, files.get)
    assert result.files == ["Demo/Basic.lean", "Other.lean"] and sorted(result.proofs) == [0, 1, 2, 9]
    patch = tmp_path / "p.patch"
    patch.write_text(result.text)
    check = git_apply(repo, patch)
    assert check.returncode == 0, check.stderr
    assert git_apply(repo, patch, check=False).returncode == 0
    applied = (repo / "Other.lean").read_text()
    assert applied == "theorem u : 1 = 1 := by\n  rfl"
    assert "sorry" not in (repo / "Demo/Basic.lean").read_text()


def test_unified_diff_is_empty_for_identical_text():
    assert unified_diff("a.lean", "x\n", "x\n") == ""


@needs_git
def test_export_from_database_and_checkout_applies(db, tmp_path):
    repo_dir = make_git_repo(tmp_path / "checkout", {"Demo/Basic.lean": BASIC})
    repo_id = add_repo(db, "co", path=repo_dir)  # text read from the checkout, not SourceFile
    for n, sl, sc, el, ec, t in THEOREMS[:2]:
        tid = add_theorem(db, repo_id, n, start=(sl, sc), end=(el, ec), proof_text=t)
        add_proof(db, tid, tactics=["simp"], digest=file_digest(BASIC), status=ReviewStatus.ACCEPTED)
    tid = add_theorem(db, repo_id, THEOREMS[2][0], start=(11, 1), end=(11, 50))
    add_proof(db, tid, digest=file_digest(BASIC), status=ReviewStatus.REJECTED)  # not exported
    out = tmp_path / "out" / "co.patch"
    out.parent.mkdir()
    write_patch(export_patch(db, "co"), out)
    assert sorted(p.name for p in tmp_path.joinpath("out").iterdir()) == ["co.patch"]
    assert git_apply(repo_dir, out).returncode == 0
    assert "\n-theorem term_mode" not in out.read_text()  # the rejected proof is left out
    assert out.read_text().count("+    simp") + out.read_text().count("+  simp") == 2
    (repo_dir / "Demo/Basic.lean").write_text(BASIC.replace("namespace", "-- moved\nnamespace"))
    with pytest.raises(PatchError, match="changed since the proof was found"):
        export_patch(db, "co")


def test_export_refuses_dotdot_paths_before_reading(db, tmp_path):
    repo_id = add_repo(db, "evil", path=tmp_path / "repo")
    tid = add_theorem(db, repo_id, "x", file_path="../../etc/passwd")
    add_proof(db, tid, status=ReviewStatus.ACCEPTED, digest="0" * 64)
    with pytest.raises(PatchError, match="unsafe file path"):
        export_patch(db, "evil")


def test_export_with_nothing_accepted_says_so(db, demo):
    with pytest.raises(PatchError, match="no accepted proofs"):
        export_patch(db, "demo")


def test_export_picks_latest_decided_proof_per_theorem(db, demo):
    from leanagent.db.review import record_review

    tid_proofs = list(demo["proofs"].values())
    record_review(db, tid_proofs[0], "accepted", "ann")
    result = export_patch(db, "demo")
    assert result.proofs == [tid_proofs[0]]
    assert "+  simp" in result.text
