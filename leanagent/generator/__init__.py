"""Tactic proposers: the retrieval-augmented ByT5 model, kNN over recorded states, frequency, merged."""

from leanagent.generator.base import Candidate, TacticProposer

__all__ = ["Candidate", "TacticProposer"]
