"""Test data for the review app: Lean text with sorry theorems and writers for repositories,
theorems, runs and agent proofs (rows written directly through SQLAlchemy sessions)."""

from __future__ import annotations

from datetime import datetime, timezone

from leanagent.db.models import Proof, Repository, ReviewStatus, Run, SourceFile, Theorem, TheoremStatus
from leanagent.review.patch import file_digest

BASIC = """\
import Mathlib

namespace Demo

theorem add_zero' (n : Nat) : n + 0 = n := by
  sorry

  theorem nested_two (a b : Nat) : a + b = b + a := by
    sorry

theorem term_mode (p : Prop) (h : p) : p := sorry

end Demo
"""

#: Positions in BASIC: (full name, start line, start col, end line, end col, proof_text).
THEOREMS = [
    ("Demo.add_zero'", 5, 1, 6, 8, "by\n  sorry"),
    ("Demo.nested_two", 8, 3, 9, 10, None),
    ("Demo.term_mode", 11, 1, 11, 50, "sorry"),
]

XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', '{{ 7*7 }}']


def add_repo(db, name="demo", path=None, files=None) -> int:
    with db.session() as s:
        repo = Repository(name=name, kind="path", path=str(path) if path else None)
        s.add(repo)
        s.flush()
        for rel, content in (files or {}).items():
            s.add(SourceFile(repo_id=repo.id, path=rel, content=content))
        return repo.id


def add_theorem(db, repo_id, full_name, file_path="Demo/Basic.lean", start=(5, 1), end=(6, 8),
                statement=None, proof_text=None) -> int:
    with db.session() as s:
        t = Theorem(repo_id=repo_id, file_path=file_path, full_name=full_name, start_line=start[0],
                    start_col=start[1], end_line=end[0], end_col=end[1], statement=statement,
                    proof_text=proof_text, status=TheoremStatus.SORRY)
        s.add(t)
        s.flush()
        return t.id


def add_proof(db, theorem_id, tactics=("simp",), digest=None, env="leandojo", model="tiny-v1", run_id=None,
              status=ReviewStatus.NEW, found_at=None, expansions=7, polished=None, polish=None, measures=None,
              variant=None) -> int:
    with db.session() as s:
        p = Proof(theorem_id=theorem_id, tactics=list(tactics), states=["⊢ goal"] * len(tactics) + ["no goals"],
                  env=env, expansions=expansions, time_model=0.5, time_lean=0.25, time_search=1.5, model=model,
                  run_id=run_id, review_status=status, file_digest=digest,
                  found_at=found_at or datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc),
                  polished_tactics=polished, polish=polish, measures=measures, variant=variant)
        s.add(p)
        s.flush()
        return p.id


def add_run(db, kind="prove") -> int:
    with db.session() as s:
        run = Run(kind=kind, name="fixture")
        s.add(run)
        s.flush()
        return run.id


def populate_demo(db) -> dict:
    """One repository `demo` with BASIC stored, three sorry theorems, one proof each
    (found on 18, 19 and 20 November; the last two in one run; models tiny-v1, tiny-v1, tiny-v2)."""
    repo_id = add_repo(db, "demo", files={"Demo/Basic.lean": BASIC})
    digest = file_digest(BASIC)
    run_id = add_run(db)
    ids = {}
    for i, (name, sl, sc, el, ec, text) in enumerate(THEOREMS):
        tid = add_theorem(db, repo_id, name, start=(sl, sc), end=(el, ec), proof_text=text)
        tactics = ["exact h"] if name.endswith("term_mode") else ["simp"]
        ids[name] = add_proof(db, tid, tactics=tactics, digest=digest, run_id=run_id if i else None,
                              model="tiny-v1" if i < 2 else "tiny-v2",
                              found_at=datetime(2026, 11, 18 + i, 9, 30, tzinfo=timezone.utc))
    return {"repo_id": repo_id, "run_id": run_id, "proofs": ids}


def measure(seconds, lines, heartbeats=20_000, warnings=0, median=0.3) -> dict:
    """One variant's measurements, as the whole-file re-check stores them (Proof.measures[variant])."""
    return {"seconds": seconds, "file_median_seconds": median, "heartbeats": heartbeats, "lines": lines,
            "warnings": warnings, "max_heartbeats": 200_000}


#: nested_two as polishing leaves it: a three-line proof that polishing cut to one line.
NESTED_FOUND = ["induction a with", "| zero => simp", "| succ n ih => omega"]
NESTED_POLISHED = ["omega"]
NESTED_POLISH = {"tried": 4, "kept": ["the whole proof is `omega`"], "seconds": 6.25, "budget_hit": False}


def populate_measured(db) -> dict:
    """populate_demo, with what polishing and the re-check's measures add (issue 28):
    - Demo.term_mode (found 20 November): measured, polishing kept nothing: 0.3 s, 2 lines;
    - Demo.nested_two (19 November): a polished variant (exported by default): found 2.5 s and 3 lines,
      polished 0.4 s and 1 line;
    - Demo.add_zero' (18 November): found before measuring existed, no measures, no polish.
    By time (exported variant, the largest first): nested_two, term_mode, add_zero'; by lines: term_mode,
    nested_two, add_zero' (unmeasured proofs last both ways)."""
    data = populate_demo(db)
    ids = data["proofs"]
    with db.session() as s:
        term = s.get(Proof, ids["Demo.term_mode"])
        term.measures = {"found": measure(0.3, 2)}
        term.polish = {"tried": 1, "kept": [], "seconds": 0.5, "budget_hit": False}
        nested = s.get(Proof, ids["Demo.nested_two"])
        nested.tactics, nested.states = NESTED_FOUND, ["⊢ goal"] * 3 + ["no goals"]
        nested.polished_tactics, nested.polish = NESTED_POLISHED, NESTED_POLISH
        nested.measures = {"found": measure(2.5, 3, heartbeats=41_000, warnings=1), "polished": measure(0.4, 1)}
    return data
