from sqlalchemy import select

from leanagent.db.models import Theorem, TheoremStatus
from leanagent.db.proofs import AttemptRecord, agent_proof_examples, record_attempt
from leanagent.db.splits import random_split
from leanagent.training.generator import examples_for


def _prove(db, thm, tactics, states, sources=("train",)):
    record_attempt(db, AttemptRecord(theorem_id=thm.id, model="m", budget="b", env="replay", outcome="proved",
                                     tactics=tactics, states=states, source_splits=list(sources)))


def test_agent_proofs_become_training_examples_with_states(example_db):
    with example_db.session() as s:
        sorry = s.scalar(select(Theorem).where(Theorem.full_name == "NatList.Nat.add_comm_three"))
        sorry.split = "train"  # agent proofs teach only when their theorem is in a train split
        held = next(t for t in s.scalars(select(Theorem).where(Theorem.status == TheoremStatus.PROVEN))
                    if random_split(("nat-list", t.file_path, t.full_name, t.start_line, t.start_col)) == "test")
    _prove(example_db, sorry, ["rw [Nat.add_comm a b]", "omega"],
           ["a b c : Nat\n⊢ a + b + c = c + b + a", "a b c : Nat\n⊢ b + a + c = c + b + a", "no goals"])
    _prove(example_db, held, ["simp"], ["⊢ held", "no goals"])
    got = agent_proof_examples(example_db, "nat-list")
    assert [(e.state, e.tactic) for e in got] == [("a b c : Nat\n⊢ a + b + c = c + b + a", "rw [Nat.add_comm a b]"),
                                                 ("a b c : Nat\n⊢ b + a + c = c + b + a", "omega")]
    assert all(e.step_id < 0 and e.split == "train" for e in got)
    train = examples_for(example_db, "nat-list", "train")
    assert {"rw [Nat.add_comm a b]", "omega"} <= {e.tactic for e in train}
    assert "⊢ held" not in {e.state for e in train}  # a held-out theorem's proof stays out of training
    assert "omega" not in {e.tactic for e in examples_for(example_db, "nat-list", "test") if e.step_id < 0}


def test_agent_proofs_of_held_out_sorry_theorems_never_become_training_data(example_db):
    with example_db.session() as s:
        sorry = s.scalar(select(Theorem).where(Theorem.full_name == "NatList.Nat.add_comm_three"))
        sorry.split = "test"
    _prove(example_db, sorry, ["omega"], ["a b c : Nat\n⊢ a + b + c = c + b + a", "no goals"])
    assert agent_proof_examples(example_db, "nat-list") == []
    assert "omega" not in {e.tactic for e in examples_for(example_db, "nat-list", "train") if e.step_id < 0}


def test_a_proof_found_with_held_out_steps_visible_never_trains(example_db):
    """Issue 24: a proposer that reads val/test steps can copy a held-out tactic into a train theorem's
    proof; such a proof is kept for review but is no training data. Found again from train alone, it is."""
    with example_db.session() as s:
        sorry = s.scalar(select(Theorem).where(Theorem.full_name == "NatList.Nat.add_comm_three"))
        sorry.split = "train"
    states = ["a b c : Nat\n⊢ a + b + c = c + b + a", "no goals"]
    _prove(example_db, sorry, ["omega"], states, sources=("train", "val", "test"))
    assert agent_proof_examples(example_db, "nat-list") == []
    record_attempt(example_db, AttemptRecord(theorem_id=sorry.id, model="m", budget="b", env="replay",
                                             outcome="proved", tactics=["omega"], states=states))  # unknown
    assert agent_proof_examples(example_db, "nat-list") == []
    _prove(example_db, sorry, ["omega"], states, sources=("train",))
    assert [e.tactic for e in agent_proof_examples(example_db, "nat-list")] == ["omega"]


def test_prove_all_on_the_examples_trains_no_tactic_recorded_only_in_held_out_theorems(run_cli, example_db, db_url):
    from leanagent.db.models import TacticStep

    for source in ([], ["--source-split", "all"]):
        code, out, err = run_cli("--db", db_url, "prove", "--env", "replay", "--workers", "0", "--theorems", "all",
                                 "--proposer", "knn", "--knn-encoder", "tiny-bert", "--retrieval", "none",
                                 "--retry", *source)
        assert code == 0, err
    with example_db.session() as s:
        rows = s.execute(select(TacticStep.tactic, Theorem.split).join(Theorem)).all()
    train_tactics = {t for t, sp in rows if sp == "train"}
    held_only = {t for t, sp in rows if sp != "train"} - train_tactics
    trained = {e.tactic for e in examples_for(example_db, "nat-list", "train") if e.step_id < 0}
    assert trained and not trained & held_only
