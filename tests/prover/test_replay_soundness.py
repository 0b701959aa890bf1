"""Sound replay: another theorem's recorded step is accepted only where it would plausibly be legal."""

from __future__ import annotations

from leanagent.data import ImportGraph, PremiseItem
from leanagent.db.ingest import store_repo
from leanagent.db.records import PremiseRecord, RepoRecord, StepRecord, TheoremRecord
from leanagent.prover.env import TacOutcome
from leanagent.data import TheoremRef
from leanagent.prover.replay import NOT_LEGAL_HERE, ReplayEnv, ReplayIndex

S = "n : ℕ\n⊢ n + 0 = n"


def _ref(ids, name, file="A/B.lean", start=(1, 1)):
    return TheoremRef(ids[name], "r", file, name, start)


def _store(db, theorems):
    store_repo(db, RepoRecord(name="r", theorems=theorems))
    from sqlalchemy import select

    from leanagent.db.models import Theorem

    with db.session() as s:
        return {t.full_name: t.id for t in s.scalars(select(Theorem))}


def test_exact_of_the_target_recorded_elsewhere_is_rejected(db):
    # T's own proof is `simp`; U, later in the same file, proved the same goal with `exact T`.
    ids = _store(db, [
        TheoremRecord("A/B.lean", "T", (1, 1), (2, 1), [StepRecord("simp", S, "no goals")]),
        TheoremRecord("A/B.lean", "U", (5, 1), (6, 1), [StepRecord("exact T", S, "no goals")]),
        TheoremRecord("A/B.lean", "V", (9, 1), (10, 1), [StepRecord("exact U", S, "no goals")]),
    ])
    env = ReplayEnv(ReplayIndex.from_db(db))
    s0 = env.start(_ref(ids, "T"))
    bad = env.run_tac(s0, "exact T")
    assert bad.kind is TacOutcome.ERROR and bad.message == NOT_LEGAL_HERE
    assert env.run_tac(s0, "exact U").kind is TacOutcome.ERROR  # U is declared after T: not visible in T
    assert env.run_tac(s0, "simp").kind is TacOutcome.PROVED     # T's own record: Lean's answer for T
    # For V (after T and U), `exact T` names an earlier theorem: legal, so accepted from U's record.
    s0 = env.start(_ref(ids, "V", start=(9, 1)))
    assert env.run_tac(s0, "exact T").kind is TacOutcome.PROVED


def test_a_step_whose_premise_is_not_accessible_is_rejected():
    corpus = [PremiseItem(1, "Other.lemma", "Other/File.lean", "lemma", (3, 1)),
              PremiseItem(2, "Base.lemma", "Base/File.lean", "lemma", (3, 1))]
    graph = ImportGraph({"A.B": ["Base.File"], "Other.File": [], "Base.File": []})
    steps = [(1, 0, "simp", S, "no goals"),                          # T's own
             (2, 0, "exact Other.lemma", S, "no goals", (1,)),        # a premise T's file does not import
             (3, 0, "exact Base.lemma", S, "no goals", (2,))]         # an imported premise
    idx = ReplayIndex.from_steps(steps, {}, corpus, graph)
    env = ReplayEnv(idx)
    s0 = env.start(TheoremRef(1, "r", "A/B.lean", "T", (1, 1)))
    assert env.run_tac(s0, "exact Other.lemma").message == NOT_LEGAL_HERE
    assert env.run_tac(s0, "exact Base.lemma").kind is TacOutcome.PROVED


def test_a_one_line_version_of_a_recorded_block_does_not_match(db):
    block = "constructor\n  · simp\n  · rfl"
    ids = _store(db, [TheoremRecord("A/B.lean", "T", (1, 1), (4, 1), [StepRecord(block, "⊢ p ∧ q", "no goals")])])
    env = ReplayEnv(ReplayIndex.from_db(db))
    s0 = env.start(_ref(ids, "T"))
    assert env.run_tac(s0, "constructor · simp · rfl").kind is TacOutcome.ERROR
    assert env.run_tac(s0, "constructor\n    · simp\n    · rfl").kind is TacOutcome.PROVED


def test_premise_positions_in_the_same_file_count(db):
    # A premise defined later in T's own file is not accessible from T, even without an import graph.
    store_repo(db, RepoRecord(name="r", premises=[PremiseRecord("late", "A/B.lean", (20, 1))], theorems=[
        TheoremRecord("A/B.lean", "T", (1, 1), (2, 1), [StepRecord("simp", S, "no goals")]),
        TheoremRecord("A/C.lean", "W", (1, 1), (2, 1), [StepRecord("exact late", S, "no goals",
                                                                   premises=[PremiseRecord("late", "A/B.lean", (20, 1))])]),
    ]))
    env = ReplayEnv(ReplayIndex.from_db(db))
    from sqlalchemy import select

    from leanagent.db.models import Theorem

    with db.session() as s:
        tid = s.scalar(select(Theorem.id).where(Theorem.full_name == "T"))
    s0 = env.start(TheoremRef(tid, "r", "A/B.lean", "T", (1, 1)))
    assert env.run_tac(s0, "exact late").message == NOT_LEGAL_HERE


def test_a_later_premise_of_the_same_file_is_refused_whatever_its_package_prefix(db):
    """Issue 24: LeanDojo writes T's path as `Mathlib/X.lean` and the same file's premises with
    `.lake/packages/mathlib/`; a move naming a later declaration of T's file stays illegal."""
    late = PremiseRecord("Mathlib.X.late", ".lake/packages/mathlib/Mathlib/X.lean", (20, 1))
    ids = _store(db, [
        TheoremRecord("Mathlib/X.lean", "T", (1, 1), (2, 1), [StepRecord("simp", S, "no goals")]),
        TheoremRecord("Mathlib/Y.lean", "W", (1, 1), (2, 1), [StepRecord("exact Mathlib.X.late", S, "no goals",
                                                                        premises=[late])]),
    ])
    env = ReplayEnv(ReplayIndex.from_db(db))
    s0 = env.start(_ref(ids, "T", file="Mathlib/X.lean"))
    assert env.run_tac(s0, "exact Mathlib.X.late").message == NOT_LEGAL_HERE
