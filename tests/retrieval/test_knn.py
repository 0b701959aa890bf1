"""kNN premise prior: neighbours vote, leave-one-out, and mixing with the dense score."""

from __future__ import annotations

import numpy as np
import pytest

from leanagent.data import MissingTargetError, TheoremRef
from leanagent.retrieval.knn import KnnPrior, mix_scores


def test_votes_come_from_nearest_states_and_never_from_itself():
    states = np.eye(3, dtype="float32")  # three orthogonal recorded states
    prior = KnnPrior(states, [[7], [8, 9], [9]], theorems=[100, 101, 102], neighbours=1)
    q = np.array([[1.0, 0.0, 0.0]], dtype="float32")
    assert prior.votes(q, [TheoremRef.none()]) == [{7: 1.0}]
    with pytest.raises(MissingTargetError):  # fail closed: a query must say whose states to hold out
        prior.votes(q, [None])
    # A query of theorem 100 gets no vote from theorem 100's states: the next nearest votes instead.
    q2 = np.array([[0.9, 0.1, 0.0]], dtype="float32")
    q2 /= np.linalg.norm(q2)
    assert prior.votes(q2, [TheoremRef(100)]) == [{8: 1.0, 9: 1.0}]


def test_mix_scores_adds_weighted_votes():
    assert mix_scores({1: 0.5, 2: 0.4}, {2: 1.0}, 0.2) == {1: 0.5, 2: 0.6000000000000001}
