from sqlalchemy import select

from leanagent.db.models import Theorem, TheoremStatus
from leanagent.db.proofs import AttemptRecord, agent_proof_examples, record_attempt
from leanagent.db.splits import random_split
from leanagent.training.generator import examples_for


def _prove(db, thm, tactics, states):
    record_attempt(db, AttemptRecord(theorem_id=thm.id, model="m", budget="b", env="replay", outcome="proved",
                                     tactics=tactics, states=states))


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
