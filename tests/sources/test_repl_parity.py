"""Parity: the example's LeanDojo-format dataset, imported, and its Lean sources traced through the REPL
(`trace --tracer repl`, the stand-in answering as the REPL would, tests/fake_repl/nat_list_script.py)
store the same theorems, steps and premise annotations.

The stand-in's answers are written from the Lean sources, not from the dataset (see that script). The
example covers nested tactics (`·` blocks, a `have ... := by` with its own proof), `sorry`, term-mode
`have`, an import between two files, and premises written in full, relative and as `X.mpr`.
"""

from __future__ import annotations

import shutil

from sqlalchemy import select

from leanagent.db.models import Premise, Repository, StepPremise, TacticStep, Theorem
from tests.conftest import EXAMPLE
from tests.fake_repl.nat_list_script import script
from tests.fake_repl.stand_in import install

SOURCES = EXAMPLE.parent / "nat-list-src"
#: Differences between the two stores, each with its reason. None are left: every theorem, step and
#: premise annotation is the same. (A difference found later goes here, keyed by (theorem, step index).)
KNOWN_DIFFERENCES: dict[tuple[str, int], str] = {}


def _stored(db, name: str) -> tuple[dict, dict]:
    """({(file, full name): (start, end, status, statement)}, {(full name, step index): step}) of one repository."""
    with db.session() as s:
        rid = s.scalar(select(Repository.id).where(Repository.name == name))
        theorems = {(t.file_path, t.full_name): ((t.start_line, t.start_col), (t.end_line, t.end_col),
                                                 t.status.value, t.statement)
                    for t in s.scalars(select(Theorem).where(Theorem.repo_id == rid))}
        rows = s.execute(select(Theorem.full_name, TacticStep.idx, TacticStep.id, TacticStep.state_before,
                                TacticStep.tactic, TacticStep.state_after, TacticStep.annotated_tactic)
                         .join(TacticStep, TacticStep.theorem_id == Theorem.id).where(Theorem.repo_id == rid)).all()
        links: dict[int, list] = {}
        for sid, pos, full, path, line, col in s.execute(
                select(StepPremise.step_id, StepPremise.position, Premise.full_name, Premise.path,
                       Premise.start_line, Premise.start_col).join(Premise, Premise.id == StepPremise.premise_id)
                .join(TacticStep, TacticStep.id == StepPremise.step_id)
                .join(Theorem, Theorem.id == TacticStep.theorem_id).where(Theorem.repo_id == rid)
                .order_by(StepPremise.step_id, StepPremise.position)):
            links.setdefault(sid, []).append((full, path))
    steps = {(r.full_name, r.idx): (r.state_before, r.tactic, r.state_after, r.annotated_tactic, links.get(r.id, []))
             for r in rows}
    return theorems, steps


def test_import_and_repl_trace_store_the_same_records(tmp_path, monkeypatch, run_cli, db_url, db):
    install(tmp_path, monkeypatch, script(), version="v4.9.0")
    root = tmp_path / "nat-list-src"
    shutil.copytree(SOURCES, root)
    repos = tmp_path / "repos.yaml"
    repos.write_text(f"repos:\n  - path: {root}\n    name: nat-list-repl\n")
    code, _, err = run_cli("--db", db_url, "import", EXAMPLE)
    assert code == 0, err
    code, out, err = run_cli("--db", db_url, "trace", "--repos", repos, "--tracer", "repl")
    assert code == 0, err
    dojo_thms, dojo_steps = _stored(db, "nat-list")
    repl_thms, repl_steps = _stored(db, "nat-list-repl")

    assert set(repl_thms) == set(dojo_thms) and len(dojo_thms) == 150  # every theorem, no other
    assert {k: v for k, v in repl_thms.items() if v != dojo_thms[k]} == {}  # positions, sorry status, statement
    keys = set(dojo_steps) | set(repl_steps)
    differ = {k for k in keys if dojo_steps.get(k) != repl_steps.get(k)}
    assert differ == set(KNOWN_DIFFERENCES), {k: (dojo_steps.get(k), repl_steps.get(k)) for k in differ}
    assert 1 - len(differ) / len(keys) >= 0.95 and len(keys) == 200
    # The nested tactics in LeanDojo's order, their premises resolved to the core's declarations.
    assert [repl_steps[("NatList.Nat.le_add_both", i)][1] for i in range(4)] == [
        "have h' : a + c ≤ b + c := by\n  exact Nat.add_le_add_right h c", "apply Nat.le_succ_of_le", "exact h'",
        "exact Nat.add_le_add_right h c"]
    assert repl_steps[("NatList.Nat.le_add_both", 3)][4] == [
        ("Nat.add_le_add_right", ".lake/packages/lean4/src/lean/Init/Data/Nat/Basic.lean")]
    with db.session() as s:
        assert s.scalar(select(Repository.tracer).where(Repository.name == "nat-list-repl")) == "repl"
