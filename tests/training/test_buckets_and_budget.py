"""Length-bucketed batches under a token budget, and the one time budget of a training command."""

from __future__ import annotations

import random

import numpy as np
import pytest

from leanagent.training.budget import MIN_TRAIN_SECONDS, TimeBudget, stage_seconds
from leanagent.training.buckets import (BucketBatchSampler, bucket_batches, fisher_batches, padded_tokens,
                                        rehearsal_draws)


def _sizes(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(10, 2300, n), rng.integers(2, 60, n)], axis=1)  # (N, 2): input, target


def test_every_example_once_and_every_batch_under_the_budget():
    sizes = _sizes(500)
    batches = bucket_batches(sizes, 8000, random.Random(1))
    assert sorted(i for b in batches for i in b) == list(range(500))
    assert all(padded_tokens(sizes[b]) <= 8000 for b in batches)
    assert batches == bucket_batches(sizes, 8000, random.Random(1))  # pure given the seed
    # Similar lengths travel together: far less padding than the same number of random batches.
    padded = sum(padded_tokens(sizes[b]) for b in batches)
    shuffled = list(range(500))
    random.Random(2).shuffle(shuffled)
    width = 500 // len(batches) + 1
    naive = sum(padded_tokens(sizes[shuffled[i:i + width]]) for i in range(0, 500, width))
    assert padded < 0.7 * naive


def test_an_example_over_the_budget_is_a_batch_of_its_own():
    batches = bucket_batches([5, 5, 500, 5], 20, random.Random(0))
    assert [2] in batches and sorted(len(b) for b in batches) == [1, 3]
    assert padded_tokens([[3, 4], [5, 1]]) == 2 * 9 and padded_tokens([]) == 0


def test_sampler_knows_its_length_and_mixes_the_rehearsal_fraction_over_an_epoch():
    new, old = _sizes(300, 1), _sizes(100, 2)
    sampler = BucketBatchSampler(new, old, 6000, fraction=0.25, seed=3)
    n = len(sampler)
    epoch = list(sampler)
    assert len(epoch) == n
    flat = [i for b in epoch for i in b]
    assert sorted(i for i in flat if i < 300) == list(range(300))  # every new example once
    assert sum(i >= 300 for i in flat) == 100  # 300 * 0.25 / 0.75 replayed
    again = list(sampler)
    assert again != epoch and len(sampler) >= 1  # a new order each epoch
    pool: list[int] = []
    draws = rehearsal_draws(3, 2, 0.5, random.Random(0), pool) + rehearsal_draws(3, 2, 0.5, random.Random(0), pool)
    assert sorted(draws) == [3, 3, 3, 4, 4, 4]  # without replacement, starting over when used up
    assert rehearsal_draws(3, 0, 0.5, random.Random(0), []) == []


def test_fisher_batches_are_budgeted_too():
    sizes = _sizes(200)
    got = fisher_batches(sizes, 5000, 4, seed=0)
    assert len(got) == 4 and all(padded_tokens(sizes[b]) <= 5000 for b in got)


def test_generator_training_uses_token_budgeted_batches(tmp_path):
    from leanagent.generator.model import GenExample, GeneratorOptions, TacticModel
    from leanagent.training.loop import TrainOptions, fit

    model = TacticModel.create(GeneratorOptions(d_model=8, num_layers=1, num_heads=2, d_ff=16,
                                                max_input_bytes=64, max_output_bytes=8))
    seen = []
    real = model.loss

    def loss(batch):
        seen.append(tuple(batch["input_ids"].shape))  # (B, L)
        return real(batch)

    model.loss = loss
    data = [GenExample("x" * n, "rfl") for n in (3, 5, 40, 45, 50, 60)]
    stats = fit(model, data, TrainOptions(epochs=1, batch_tokens=150, warmup_steps=0))
    assert sum(b for b, _ in seen) == 6 and stats["batches_per_epoch"] == len(seen) > 1
    assert all(b * (length + 4) <= 150 for b, length in seen)  # inputs + targets under the budget


def test_stage_seconds_split_what_is_left():
    assert stage_seconds(100.0, 2, evaluates=True) == (37.5, 50.0)
    assert stage_seconds(100.0, 1, evaluates=False) == (100.0, 100.0)
    assert stage_seconds(-5.0, 3, evaluates=True) == (MIN_TRAIN_SECONDS, 0.0)


def test_time_budget_gives_each_stage_a_slot_and_the_evaluation_its_end():
    now = [0.0]
    budget = TimeBudget(2.0, clock=lambda: now[0])  # 120 s
    assert budget.limited and budget.remaining() == 120.0
    assert budget.next_stage(2, evaluates=True) == 45.0 and budget.eval_deadline() == 60.0
    now[0] = 50.0
    assert not budget.expired()
    now[0] = 61.0
    assert budget.expired()
    assert budget.next_stage(1, evaluates=True) == pytest.approx(44.25) and budget.eval_deadline() == 120.0
    free = TimeBudget(None)
    assert free.next_stage(3, True) is None and free.eval_deadline() is None and not free.expired()


def test_evaluation_stops_at_its_deadline():
    from leanagent.data import RecordedStep
    from leanagent.generator.evaluate import tactic_accuracy

    class Echo:
        calls = 0

        def generate(self, states, num, targets=None):
            Echo.calls += 1
            now[0] += 10.0
            return [[("rfl", 0.0)] for _ in states]

    now = [0.0]
    steps = [RecordedStep(i, i, "⊢ p", "rfl", repo="r", file_path="F.lean", theorem_name=f"t{i}",
                          theorem_start=(1, 0), split="test") for i in range(10)]
    out = tactic_accuracy(Echo(), steps, k=1, batch=2, deadline=25.0, clock=lambda: now[0])
    # Batches take 10 s: the third would end at 30 s, past the deadline, so it does not start.
    assert Echo.calls == 2 and out["steps"] == 4 and out["exact_match"] == 100.0 and out["limited_by_time"]
    full = tactic_accuracy(Echo(), steps, k=1, batch=2)
    assert full["steps"] == 10 and not full["limited_by_time"]


def test_progressive_training_stays_within_the_command_budget(toy, tmp_path):
    from leanagent.training.loop import Stage, TrainOptions, train_progressive

    now = [0.0]
    budget = TimeBudget(1.0, clock=lambda: now[0])
    seen = []

    def evaluate(model, k, stage, folder):
        seen.append((k, budget.eval_deadline()))
        now[0] = budget.eval_deadline()  # the evaluation uses up its slot
        return {}

    stages = [Stage("a", [(0.0, 0.0)] * 8), Stage("b", [(1.0, 1.0)] * 8)]
    train_progressive(toy.load, stages, TrainOptions(epochs=1, batch_size=4, warmup_steps=0), tmp_path,
                      on_stage_end=evaluate, budget=budget)
    assert seen == [(0, 30.0), (1, 60.0)]  # two slots of 30 s; the second ends at the command's deadline
