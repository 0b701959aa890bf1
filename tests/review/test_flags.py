"""Review flags: each one with a case that must be flagged and one that must not.

Upstream facts come from real git repositories made in tmp_path (an upstream work tree, and the
clone leanagent proves in), through `refresh_upstream`, as `leanagent review`/`export-proofs` run it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from review_data import add_proof, add_repo, add_theorem

from leanagent.cli import main
from leanagent.db.models import ReviewStatus
from leanagent.review.flags import (
    FlaggedProofsError,
    check_export,
    exercise_reason,
    placeholder_defs,
    proof_flags,
    trivial_lemma,
    upstream_flags,
)
from leanagent.review.patch import file_digest
from leanagent.sources.upstream import refresh_upstream, upstream_status

TEXT = """import Mathlib

namespace Demo

def weight (n : Nat) : Nat := sorry

theorem weight_pos (n : Nat) : 0 < weight n := by
  sorry

theorem plain (n : Nat) : n + 0 = n := by
  sorry

end Demo
"""


#: What the whole-file re-check measures of a quick, clean one-line proof (Proof.measures).
FAST = {"seconds": 0.05, "file_median_seconds": 0.04, "heartbeats": 900, "lines": 1, "warnings": 0}
MEASURED = {"found": FAST}


def codes(db, pid) -> list[str]:
    return [f.code for f in proof_flags(db, [pid])[pid]]


def demo_repo(db, path=None, files=None, commit=None):
    rid = add_repo(db, "demo", path=path, files=files if files is not None else {"Demo/Basic.lean": TEXT})
    return rid


# -- placeholder definitions (teorth/pfr#226) ----------------------------------------------------


def test_placeholder_definition(db):
    rid = demo_repo(db)
    add_theorem(db, rid, "Demo.weight", start=(5, 1), end=(5, 40), statement="def weight (n : Nat) : Nat")
    uses = add_theorem(db, rid, "Demo.weight_pos", start=(7, 1), end=(8, 8),
                       statement="theorem weight_pos (n : Nat) : 0 < weight n", proof_text="by\n  sorry")
    clean = add_theorem(db, rid, "Demo.plain", start=(10, 1), end=(11, 8),
                        statement="theorem plain (n : Nat) : n + 0 = n", proof_text="by\n  sorry")
    flagged = add_proof(db, uses, tactics=["simp [weight]"])
    ok = add_proof(db, clean, tactics=["simp"])
    (flag,) = proof_flags(db, [flagged])[flagged]
    assert flag.code == "placeholder-def" and "`Demo.weight`" in flag.detail and flag.source == "teorth/pfr#226"
    assert codes(db, ok) == []


def test_placeholder_names():
    defs = ["A.Foo.bar", "x"]
    assert placeholder_defs("theorem t : Foo.bar 1 = 2", defs) == ["A.Foo.bar"]
    assert placeholder_defs("theorem t : bar 1 = 2", defs) == ["A.Foo.bar"]
    assert placeholder_defs("theorem t (x : Nat) : x = x", defs) == []  # a binder, not the def `x`
    assert placeholder_defs("theorem t : barbar = 1", defs) == []


# -- exercise files (avigad/mathematics_in_lean_source#247) --------------------------------------


@pytest.mark.parametrize("path,text,flagged", [
    ("MIL/C02_Basics/Exercises.lean", TEXT, True),
    ("Solutions/Ch1.lean", TEXT, True),
    ("Course/Week1.lean", "import Mathlib\n/-! # Week 1: exercises on groups -/\n" + TEXT, True),
    ("MIL/C03_Logic/S01.lean", "import MIL.Common\n\nexample : True := trivial\n\n/- SOLUTIONS:\n-/\n", True),
    ("Demo/Basic.lean", TEXT, False),
    # the word later in the file, not in its header, is no sign of an exercise sheet
    ("Demo/Basic.lean", TEXT + "\n/-- A solution of the equation. -/\ntheorem s : True := trivial\n", False),
])
def test_exercise_files(path, text, flagged):
    assert (exercise_reason(path, text) is not None) == flagged


def test_exercise_flag_reads_the_stored_file(db):
    rid = add_repo(db, "demo", files={"Exercises/Sheet1.lean": TEXT, "Demo/Basic.lean": TEXT})
    ex = add_proof(db, add_theorem(db, rid, "Demo.plain", file_path="Exercises/Sheet1.lean", start=(10, 1),
                                   end=(11, 8)))
    ok = add_proof(db, add_theorem(db, rid, "Demo.plain", start=(10, 1), end=(11, 8)))
    assert codes(db, ex) == ["exercise"] and codes(db, ok) == []


# -- a single exact/apply (mo271/FormalBook#67) ----------------------------------------------------


def test_trivial_proof(db):
    assert trivial_lemma(["exact Nat.add_comm a b"]) == "Nat.add_comm"
    assert trivial_lemma(["apply mul_pos"]) == "mul_pos"
    assert trivial_lemma(["intro x", "exact foo_bar x"]) is None
    assert trivial_lemma(["exact ⟨1, rfl⟩"]) is None and trivial_lemma(["exact fun x => x"]) is None
    assert trivial_lemma(["exact h"]) is None  # a hypothesis
    assert trivial_lemma(["exact hyp_ab"], "theorem t (hyp_ab : a < b) : a < b") is None
    rid = demo_repo(db)
    tid = add_theorem(db, rid, "Demo.plain", start=(10, 1), end=(11, 8))
    assert codes(db, add_proof(db, tid, tactics=["exact Nat.add_zero n"])) == ["trivial-proof"]
    assert codes(db, add_proof(db, tid, tactics=["rw [Nat.add_zero]"])) == []


# -- the whole-file re-check -------------------------------------------------------------------------


def test_recheck_failed(db):
    from leanagent.db.models import Proof

    rid = demo_repo(db)
    tid = add_theorem(db, rid, "Demo.plain", start=(10, 1), end=(11, 8))
    bad, good = add_proof(db, tid), add_proof(db, tid)
    with db.session() as s:
        s.get(Proof, bad).check_status, s.get(Proof, bad).check_message = "rejected", "11:2: error: no"
        s.get(Proof, good).check_status, s.get(Proof, good).measures = "verified", MEASURED
    (flag,) = proof_flags(db, [bad])[bad]
    assert flag.code == "recheck-failed" and "11:2: error: no" in flag.detail
    assert codes(db, good) == []


def _checked(db, **fields) -> int:
    from leanagent.db.models import Proof

    rid = demo_repo(db)
    pid = add_proof(db, add_theorem(db, rid, "Demo.plain", start=(10, 1), end=(11, 8)),
                    env=fields.pop("env", "leaninteract"), status=ReviewStatus.ACCEPTED, digest=file_digest(TEXT))
    with db.session() as s:
        for k, v in fields.items():
            setattr(s.get(Proof, pid), k, v)
    return pid


@pytest.mark.parametrize("fields, flagged", [
    # Issue 23: a Lean backend's proof with no verdict (a crash, a timeout, an error before it) is flagged.
    ({"check_status": "unchecked", "check_message": "Lean did not run to the end of the file: exit status 134"},
     ["unchecked"]),
    ({"check_status": "unchecked", "env": "replay"}, []),  # replay never claims Lean checked it
    ({"check_status": "flagged", "axioms": ["propext", "Lean.ofReduceBool"], "measures": MEASURED}, ["native"]),
    ({"check_status": "flagged", "axioms": ["cheat_axiom", "Classical.choice"], "measures": MEASURED}, ["axiom"]),
    ({"check_status": "verified", "axioms": ["propext", "Classical.choice", "Quot.sound"], "measures": MEASURED},
     []),
])
def test_recheck_verdict_flags(db, fields, flagged):
    pid = _checked(db, **fields)
    assert codes(db, pid) == flagged
    if flagged:
        with pytest.raises(FlaggedProofsError, match=flagged[0].replace("unchecked", "no re-check verdict")
                           .replace("native", "native evaluation").replace("axiom", "extra axiom")):
            check_export(db, "demo")
        assert check_export(db, "demo", force=True)[pid]
    else:
        assert check_export(db, "demo") == {pid: []}


def test_an_option_as_a_commit_never_reaches_git(db, upstream, tmp_path):
    pid = _proof(db, upstream["clone"], "--output=" + str(tmp_path / "pwned"), "Demo.plain", (10, 1), (11, 8))
    refresh_upstream(db, ["demo"])
    assert not (tmp_path / "pwned").exists()
    status = upstream_status(upstream["clone"], "Demo/Basic.lean", "Demo.plain", "--output=x", fetch=False)
    assert status.behind is None and "is not a commit id" in status.reason
    assert codes(db, pid) == []


# -- upstream: already proven (fpvandoorn/carleson#145) and stale commits (m4lvin/lean4-pdl#6) -------


def _commit(repo, files: dict[str, str], message: str) -> str:
    root = Path(repo.working_tree_dir)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    repo.index.add(list(files))
    return repo.index.commit(message).hexsha


@pytest.fixture
def upstream(tmp_path):
    """An upstream work tree with the sorry file, and a clone of it (where leanagent found its proofs)."""
    from git import Repo

    up = Repo.init(tmp_path / "upstream", initial_branch="main")
    with up.config_writer() as cw:
        cw.set_value("user", "name", "t").set_value("user", "email", "t@example.org")
    found = _commit(up, {"Demo/Basic.lean": TEXT}, "sorry theorems")
    clone = Repo.clone_from(tmp_path / "upstream", tmp_path / "clone")
    return {"up": up, "clone": Path(clone.working_tree_dir), "found": found}


def _proof(db, clone: Path, found: str, name: str, start: tuple, end: tuple) -> int:
    from leanagent.db.models import Proof

    rid = add_repo(db, "demo", path=clone) if not getattr(db, "_demo", None) else db._demo
    db._demo = rid
    pid = add_proof(db, add_theorem(db, rid, name, start=start, end=end, proof_text="by\n  sorry"),
                    digest=file_digest(TEXT))
    with db.session() as s:
        s.get(Proof, pid).found_commit = found
    return pid


def test_already_proven_upstream(db, upstream):
    proven = _proof(db, upstream["clone"], upstream["found"], "Demo.weight_pos", (7, 1), (8, 8))
    still = _proof(db, upstream["clone"], upstream["found"], "Demo.plain", (10, 1), (11, 8))
    _commit(upstream["up"], {"Demo/Basic.lean": TEXT.replace(
        "0 < weight n := by\n  sorry", "0 < weight n := by\n  exact weight_pos_aux n")}, "prove weight_pos")
    assert refresh_upstream(db, ["demo"]) == {"known": 2, "unknown": 0}
    (flag,) = proof_flags(db, [proven])[proven]
    assert flag.code == "proven-upstream" and "no `sorry` at origin/main" in flag.detail
    assert codes(db, still) == []


def test_stale_commit_shows_how_far(db, upstream):
    pid = _proof(db, upstream["clone"], upstream["found"], "Demo.plain", (10, 1), (11, 8))
    for i in range(3):
        _commit(upstream["up"], {f"Other{i}.lean": "-- more\n"}, f"more {i}")
    refresh_upstream(db, ["demo"])
    assert codes(db, pid) == []  # 3 commits behind: not far
    (flag,) = proof_flags(db, [pid], stale_after=3)[pid]
    assert flag.code == "stale-commit" and "3 commits behind origin/main" in flag.detail
    assert flag.detail.startswith(f"found on {upstream['found'][:12]}")


def test_unreachable_remote_is_unknown_not_flagged(db, upstream, tmp_path):
    import shutil

    pid = _proof(db, upstream["clone"], upstream["found"], "Demo.plain", (10, 1), (11, 8))
    shutil.rmtree(tmp_path / "upstream")  # the remote cannot be fetched (as without network)
    assert refresh_upstream(db, ["demo"]) == {"known": 0, "unknown": 1}
    assert codes(db, pid) == []
    status = upstream_status(upstream["clone"], "Demo/Basic.lean", "Demo.plain", upstream["found"])
    assert status.state == "unknown" and status.reason.startswith("cannot fetch origin")
    assert upstream_status(tmp_path / "nowhere", "X.lean", "x", None).reason.endswith("is not a git repository (a local folder: there is no upstream branch to compare the "
                                                                                "proof with)")


def test_upstream_flags_pure():
    known = {"state": "known", "branch": "origin/main", "head": "a" * 40, "found_commit": "b" * 40,
             "behind": 120, "present": True, "sorry_at_head": True}
    assert [f.code for f in upstream_flags(known, "F.lean")] == ["stale-commit"]
    assert "120 commits behind" in upstream_flags(known, "F.lean")[0].detail
    gone = {**known, "behind": 0, "present": False, "sorry_at_head": False}
    assert [f.code for f in upstream_flags(gone, "F.lean")] == ["proven-upstream"]
    assert upstream_flags({"state": "unknown", "reason": "no network"}, "F.lean") == []


# -- export refuses flagged proofs unless forced -----------------------------------------------------


def test_export_refuses_flagged_proofs_unless_forced(db, db_url, tmp_path, capsys):
    rid = demo_repo(db)
    clean = add_theorem(db, rid, "Demo.weight_pos", start=(7, 1), end=(8, 8), proof_text="by\n  sorry")
    flagged = add_theorem(db, rid, "Demo.plain", start=(10, 1), end=(11, 8), proof_text="by\n  sorry")
    add_proof(db, clean, tactics=["simp [weight]"], digest=file_digest(TEXT), status=ReviewStatus.ACCEPTED)
    bad = add_proof(db, flagged, tactics=["exact Nat.add_zero n"], digest=file_digest(TEXT),
                    status=ReviewStatus.ACCEPTED)
    with pytest.raises(FlaggedProofsError, match=f"proof {bad} Demo.plain: one exact/apply"):
        check_export(db, "demo", "accepted")
    out = tmp_path / "p.patch"
    args = ["export-proofs", "--db", db_url, "--repo", "demo", "--out", str(out), "--no-upstream"]
    assert main(args) == 1 and not out.exists()
    err = capsys.readouterr().err
    assert "flagged" in err and "--force" in err and err.count("\n") == 1
    assert main(args + ["--force", "--json"]) == 0 and "exact Nat.add_zero n" in out.read_text()
    assert '"flagged": {"%d": ["trivial-proof"]}' % bad in capsys.readouterr().out


def test_download_button_refuses_flagged_proofs(db):
    from fastapi.testclient import TestClient

    from leanagent.review import create_app

    rid = demo_repo(db)
    tid = add_theorem(db, rid, "Demo.plain", start=(10, 1), end=(11, 8), proof_text="by\n  sorry")
    add_proof(db, tid, tactics=["exact Nat.add_zero n"], digest=file_digest(TEXT), status=ReviewStatus.ACCEPTED)
    client = TestClient(create_app(db), base_url="http://127.0.0.1:8765")  # the Host check
    refused = client.get("/patch?repo=demo&status=accepted")
    assert refused.status_code == 409 and "one exact/apply" in refused.text
    forced = client.get("/patch?repo=demo&status=accepted&force=1")
    assert forced.status_code == 200 and "exact Nat.add_zero n" in forced.text
    page = client.get("/proofs?repo=demo").text
    assert 'class="flag"' in page and "one exact/apply" in page


def test_proof_page_shows_which_check_passed_and_the_flags(db):
    from fastapi.testclient import TestClient

    from leanagent.db.models import Proof
    from leanagent.review import create_app

    rid = demo_repo(db)
    tid = add_theorem(db, rid, "Demo.plain", start=(10, 1), end=(11, 8), proof_text="by\n  sorry")
    good = add_proof(db, tid, tactics=["simp"], env="leaninteract", digest=file_digest(TEXT))
    bad = add_proof(db, tid, tactics=["omega"], env="leaninteract", digest=file_digest(TEXT))
    with db.session() as s:
        g, b = s.get(Proof, good), s.get(Proof, bad)
        g.check_status, g.checked_by, g.axioms, g.measures = "verified", "repl", ["propext"], MEASURED
        g.upstream = {"state": "unknown", "reason": "cannot fetch origin (https://x): no network"}
        b.check_status, b.checked_by, b.check_message = "rejected", "repl", "11:2: error: omega could not prove the goal"
    client = TestClient(create_app(db), base_url="http://127.0.0.1:8765")
    page = client.get(f"/proofs/{good}").text
    assert "checked by real Lean (LeanInteract)" in page
    assert "verified: placed in Demo.plain (found by name), the whole file elaborates to its end without an " \
           "error (REPL command), and `#print axioms` answers propext" in page
    assert "upstream unknown: cannot fetch origin" in page and 'id="flags"' not in page
    assert "found on" not in page  # issue 27: a found commit says nothing without an upstream head beside it
    with db.session() as s:
        s.get(Proof, good).upstream = {"state": "known", "branch": "origin/main", "head": "a" * 40, "behind": 3,
                                       "present": True, "sorry_at_head": True}
        s.get(Proof, good).found_commit = "c" * 40
    page = client.get(f"/proofs/{good}").text
    assert "upstream origin/main at aaaaaaaaaaaa" in page and f"found on {'c' * 12}" in page
    page = client.get(f"/proofs/{bad}").text
    assert "whole-file re-check failed (repl)" in page and "omega could not prove the goal" in page
    assert 'id="flags"' in page and "failed the re-check" in page
    listing = client.get("/proofs?repo=demo").text
    assert ">verified<" in listing and "re-check failed" in listing
