"""Easy-first training stages: both batch samplers serve a stage's examples by difficulty band."""

from __future__ import annotations

import random

import pytest

from leanagent.errors import ConfigError
from leanagent.training.buckets import BucketBatchSampler
from leanagent.training.loop import Stage, TrainOptions, batch_sampler
from leanagent.training.rehearsal import RehearsalBatchSampler, rehearsal_batches

# 12 new examples, three of each difficulty: the 4 bands (3 each) are the difficulties 1 < 3 < 9 < 27.
DIFF = [1.0, 9.0, 1.0, 27.0, 3.0, 9.0, 27.0, 3.0, 27.0, 9.0, 1.0, 3.0]
BAND = {i: sorted(DIFF).index(d) // 3 for i, d in enumerate(DIFF)}


def _bands_in_order(indices):
    bands = [BAND[i] for i in indices if i < len(DIFF)]  # replayed ones (>= 12) do not count
    return bands == sorted(bands)


def test_fixed_batches_go_easy_to_hard_with_replay_mixed_in():
    batches = rehearsal_batches(len(DIFF), 5, 4, 0.25, random.Random(0), DIFF)
    new = [i for b in batches for i in b if i < len(DIFF)]
    assert sorted(new) == list(range(len(DIFF)))
    assert _bands_in_order(new)
    assert all(any(i >= len(DIFF) for i in b) for b in batches)  # every batch replays
    # Shuffled stages are not ordered (with this seed) and are the old behaviour.
    plain = [i for b in rehearsal_batches(len(DIFF), 5, 4, 0.25, random.Random(0)) for i in b if i < len(DIFF)]
    assert not _bands_in_order(plain)


def test_token_budget_batches_go_easy_to_hard_too():
    sampler = BucketBatchSampler([[5, 2]] * len(DIFF), [[5, 2]] * 6, max_tokens=21, fraction=0.25, seed=1,
                                 difficulty=DIFF)
    for _ in range(2):  # every epoch
        batches = list(iter(sampler))
        new = [i for b in batches for i in b if i < len(DIFF)]
        assert sorted(new) == list(range(len(DIFF)))
        assert _bands_in_order(new)


def test_the_loop_orders_only_when_asked():
    class Model:  # fixed batches (no example_sizes)
        pass

    where = __import__("leanagent.device", fromlist=["placement"]).placement("cpu")
    easy = batch_sampler(Model(), list(range(12)), [], TrainOptions(within_repo_order="easy-first", batch_size=4),
                         where, 0, DIFF)
    assert isinstance(easy, RehearsalBatchSampler) and easy.difficulty == DIFF
    stage = Stage.of("r", [type("E", (), {"theorem_id": t})() for t in (7, 8, 9)], {7: 1.0, 8: None})
    assert stage.difficulty == [1.0, None, None]


def test_unknown_within_repo_order_is_a_config_error():
    with pytest.raises(ConfigError, match="within_repo_order"):
        TrainOptions(within_repo_order="hard-first").check()
