from leanagent.db.ingest import store_repo
from leanagent.db.models import Proof
from leanagent.db.records import RepoRecord, StepRecord, TheoremRecord, file_digest
from leanagent.generator.options import ProposerOptions
from leanagent.prover.campaign import Campaign, run_campaign


def test_proofs_record_the_digest_of_the_file_they_were_found_in(db, tmp_path):
    checkout = tmp_path / "proj"
    (checkout / "A").mkdir(parents=True)
    text = "theorem t (n : Nat) : n + 0 = n := by\n  rfl\n"
    (checkout / "A" / "B.lean").write_text(text)
    steps = [StepRecord(tactic="rfl", state_before="n : Nat\n⊢ n + 0 = n", state_after="no goals")]
    # A second theorem also closed by `rfl`: frequency may propose it to `t` (never `t`'s own step).
    other = [StepRecord(tactic="rfl", state_before="⊢ 0 = 0", state_after="no goals")]
    store_repo(db, RepoRecord(name="proj", kind="path", path=str(checkout), commit="c", digest="d", theorems=[
        TheoremRecord(file_path="A/B.lean", full_name="t", start=(1, 1), end=(2, 6), steps=steps),
        TheoremRecord(file_path="A/C.lean", full_name="u", start=(1, 1), end=(2, 6), steps=other)]))
    result = run_campaign(db, Campaign(env="replay", theorems="all", proposer=ProposerOptions(proposer="frequency",
                                                                                               source_split="all")))
    assert result.proved == 2
    with db.session() as s:
        proof = s.query(Proof).filter(Proof.theorem_id == 1).one()
        assert proof.file_digest == file_digest(text)


def test_the_campaign_counts_what_it_did_not_attempt_and_why(db, tmp_path):
    """Issue 27: 80 held-out theorems, 36 attempted, and nothing said why."""
    steps = [StepRecord(tactic="rfl", state_before="⊢ 0 = 0", state_after="no goals")]
    theorems = [TheoremRecord(file_path="A.lean", full_name=f"t{i}", start=(i * 10, 1), end=(i * 10 + 2, 1),
                              steps=steps if i < 3 else []) for i in range(5)]  # t3, t4: term-mode, no step
    store_repo(db, RepoRecord(name="proj", kind="path", commit="c", digest="d", theorems=theorems))
    c = Campaign(env="replay", theorems="all", limit=2, proposer=ProposerOptions(proposer="frequency",
                                                                                source_split="all"))
    result = run_campaign(db, c)
    assert result.attempted == 2
    assert result.left_out == {"proj": {"no_steps": 2, "over_limit": 1}}
    again = run_campaign(db, c)  # the same model and budget: what was attempted is not attempted again
    assert again.left_out["proj"]["done_before"] == 2 and again.attempted == 1
