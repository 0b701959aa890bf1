"""Patch text functions and the export: placement, indentation, refusals, `git apply --check`."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from leanagent.db.models import ReviewStatus
from leanagent.review.export import export_patch, write_patch
from leanagent.lean.declarations import declarations, statement_digest
from leanagent.lean.proof_text import (
    Location,
    PatchError,
    place,
    read_checkout_file,
    render_tactics,
    replace_proof,
    safe_relpath,
)
from leanagent.review.patch import ExportItem, build_patch, file_digest, unified_diff

from review_data import BASIC, THEOREMS, add_proof, add_repo, add_theorem

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def loc(name: str) -> Location:
    for n, sl, sc, el, ec, text in THEOREMS:
        if n == name:
            return Location(n, sl, "Demo/Basic.lean")
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
    new, at, inserted = replace_proof(BASIC, loc("Demo.add_zero'"), ["intro x", "simp"])
    assert BASIC[at.region[0]:at.region[1]] == "by\n  sorry"
    assert "theorem add_zero' (n : Nat) : n + 0 = n := by\n  intro x\n  simp\n" in new
    new, at, _ = replace_proof(BASIC, loc("Demo.nested_two"), ["omega"])
    assert "a + b = b + a := by\n    omega\n" in new  # the original 4-space proof indentation


def test_term_mode_sorry_becomes_indented_tactic_block():
    new, at, _ = replace_proof(BASIC, loc("Demo.term_mode"), ["exact h"])
    assert BASIC[at.region[0]:at.region[1]] == "sorry"
    assert "(h : p) : p := by\n  exact h\n\nend Demo" in new


def test_the_theorem_is_found_by_name_after_the_file_moved():
    # A `sorry` helper added above after the sync: the recorded line 5 now holds the helper.
    moved = BASIC.replace("theorem add_zero'", "theorem helper : True := by\n  sorry\n\ntheorem add_zero'")
    new, at, _ = replace_proof(moved, loc("Demo.add_zero'"), ["simp"])
    assert "theorem helper : True := by\n  sorry\n" in new
    assert "theorem add_zero' (n : Nat) : n + 0 = n := by\n  simp\n" in new and at.first_line == 8


def test_a_changed_statement_or_a_missing_theorem_is_refused():
    d = next(d for d in declarations(BASIC) if d.full_name == "Demo.add_zero'")
    digest = statement_digest(BASIC, d)
    assert place(BASIC, loc("Demo.add_zero'"), digest).statement_digest == digest
    reindented = BASIC.replace("theorem add_zero' (n : Nat)", "theorem add_zero'\n    (n : Nat)")
    assert place(reindented, loc("Demo.add_zero'"), digest).statement_digest == digest  # layout is not a change
    with pytest.raises(PatchError, match="not the one its proof was found for"):
        place(BASIC.replace("n + 0 = n := by", "0 + n = n := by"), loc("Demo.add_zero'"), digest)
    with pytest.raises(PatchError, match="Demo.gone is not declared in Demo/Basic.lean as it is now"):
        place(BASIC, Location("Demo.gone", 5, "Demo/Basic.lean"))
    twice = BASIC.replace("end Demo", "theorem term_mode : True := sorry\nend Demo")
    with pytest.raises(PatchError, match="declared 2 times"):
        place(twice, Location("Demo.term_mode", 99, "Demo/Basic.lean"))
    assert place(twice, Location("Demo.term_mode", 11, "Demo/Basic.lean")).first_line == 11


def test_multiline_tactic_keeps_its_relative_layout():
    assert render_tactics(["constructor", "· simp\n  rfl"], "    ") == "by\n    constructor\n    · simp\n      rfl"


def test_the_whole_proof_after_assign_is_replaced():
    # A `have ... := by sorry` inside the proof is not the theorem's proof: the whole body goes.
    text = "theorem t : True ∧ True := by\n  have h : True := by sorry\n  constructor\n  · trivial\n  · sorry\n"
    a, b = place(text, Location("t", 1)).region
    assert text[a:b] == "by\n  have h : True := by sorry\n  constructor\n  · trivial\n  · sorry"


def test_no_assign_body_or_no_tactics_is_refused():
    with pytest.raises(PatchError, match="no `:=` body"):
        place("instance t : Inhabited Nat where\n  default := 0\n", Location("t", 1))
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
    items = [ExportItem(i, n, "Demo/Basic.lean", Location(n, sl), ["simp", "rfl"], file_digest(BASIC))
             for i, (n, sl, sc, el, ec, t) in enumerate(THEOREMS)]
    items.append(ExportItem(9, "u", "Other.lean", Location("u", 1), ["rfl"], file_digest(other)))
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
@pytest.mark.parametrize("odd", ["\x85", "\u2028", "\x0c", "\r"])
def test_lines_split_on_newline_only_so_git_accepts_the_patch(tmp_path, odd):
    # `str.splitlines` also splits on these; git and Lean do not.
    text = f"-- a comment with {odd} inside\ntheorem u : 1 = 1 := by\n  sorry\n-- after{odd}x\n"
    repo = make_git_repo(tmp_path / "repo", {"U.lean": text})
    assert read_checkout_file(str(repo), "U.lean") == text  # read exactly as stored
    result = build_patch([ExportItem(1, "u", "U.lean", Location("u", 2), ["rfl"], file_digest(text))],
                         {"U.lean": text}.get)
    patch = tmp_path / "p.patch"
    patch.write_text(result.text, encoding="utf-8", newline="")
    check = git_apply(repo, patch)
    assert check.returncode == 0, check.stderr
    assert git_apply(repo, patch, check=False).returncode == 0
    assert (repo / "U.lean").read_bytes().decode() == text.replace("  sorry", "  rfl")


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
