"""Curriculum: difficulty, percentiles, categories, spreading, ordering - hand-made inputs, known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leanagent.curriculum import (
    RepoDifficulty,
    category,
    curriculum,
    difficulty,
    easy_first_bands,
    order_repos,
    percentile,
    repo_difficulty,
    split_points,
    spread,
    theorem_difficulty,
)


def test_difficulty_is_e_to_the_steps_and_sorry_is_infinite():
    assert difficulty(0) == 1.0
    assert difficulty(3) == pytest.approx(math.exp(3))
    assert difficulty(2, is_sorry=True) == math.inf
    assert theorem_difficulty(2, is_sorry=True) is None
    # The exponent is capped, so a pathological trace does not overflow.
    assert math.isfinite(difficulty(10_000)) and difficulty(10_000) == difficulty(700)


@pytest.mark.parametrize("values", [[1.0], [5.0, 1.0], [1, 2, 3, 4], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5],
                                    [math.exp(s) for s in (1, 1, 2, 3, 5, 8, 13)]])
@pytest.mark.parametrize("q", [0, 33, 50, 67, 100])
def test_percentile_matches_numpy(values, q):
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_known_values():
    # ranks 0..9, 33rd percentile sits at rank 2.97 between 3 and 4.
    assert percentile(list(range(1, 11)), 33) == pytest.approx(3.97)
    assert percentile(list(range(1, 11)), 67) == pytest.approx(7.03)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_split_points_exclude_sorry_and_stepless():
    # Finite difficulties e^1, e^2, e^3, e^4 (and a sorry and a step-less theorem that must not count).
    thms = [(1, False), (2, False), (3, False), (4, False), (7, True), (0, False)]
    lo, hi = split_points(thms)
    assert lo == pytest.approx(float(np.percentile([math.exp(s) for s in (1, 2, 3, 4)], 33)))
    assert hi == pytest.approx(float(np.percentile([math.exp(s) for s in (1, 2, 3, 4)], 67)))
    assert split_points([(0, False), (3, True)]) is None


def test_category_boundaries_are_inclusive():
    cuts = (math.exp(2), math.exp(4))
    assert [category(s, False, cuts) for s in (1, 2, 3, 4, 5)] == ["easy", "easy", "medium", "medium", "hard"]
    assert category(1, True, cuts) == "sorry"
    assert category(0, False, cuts) is None


def test_spread_matches_leanagent():
    # LeanAgent: chunk = n // 3 to Easy and to Medium, the remainder to Hard.
    assert [spread(n) for n in (0, 1, 2, 3, 4, 5, 7)] == [(0, 0, 0), (0, 0, 1), (0, 0, 2), (1, 1, 1),
                                                           (1, 1, 2), (1, 1, 3), (2, 2, 3)]


def test_repo_difficulty_counts():
    cuts = (math.exp(1), math.exp(3))
    thms = [(1, False), (1, False), (2, False), (3, False), (9, False), (0, False), (0, False), (0, False),
            (0, False), (2, True)]
    r = repo_difficulty("r", thms, cuts)
    # easy: two 1-steppers + 1 spread; medium: 2 and 3 steps + 1 spread; hard: 9 steps + 2 spread.
    assert (r.theorems, r.easy, r.medium, r.hard, r.sorry) == (10, 3, 3, 3, 1)
    assert r.easy_fraction == pytest.approx(0.3)


def test_order_by_easy_count_then_name():
    rows = [RepoDifficulty("b", 10, 5, 3, 2, 0), RepoDifficulty("a", 20, 5, 10, 5, 0),
            RepoDifficulty("c", 4, 4, 0, 0, 0), RepoDifficulty("d", 30, 9, 10, 10, 1)]
    ordered = order_repos(rows)
    assert [(r.position, r.name) for r in ordered] == [(1, "d"), (2, "a"), (3, "b"), (4, "c")]
    by_fraction = order_repos(rows, "easy-fraction")  # c: 1.0, b: .5, d: .3, a: .25
    assert [r.name for r in by_fraction] == ["c", "b", "d", "a"]
    with pytest.raises(ValueError, match="unknown curriculum order"):
        order_repos(rows, "hardest")


def test_curriculum_end_to_end_known_answer():
    # Population finite steps: 1,1,1,2,2,3,4,5,6 -> e^S percentiles 33 at rank 2.64 (between e^1 and e^2),
    # 67 at rank 5.36 (between e^3 and e^4): Easy = 1 step, Medium = 2..3 steps, Hard = 4+ steps.
    per_repo = {
        "hard-repo": [(4, False), (5, False), (6, False), (1, False), (3, True)],
        "easy-repo": [(1, False), (1, False), (2, False)],
        "mid-repo": [(2, False), (3, False), (0, False), (0, False), (0, False)],
    }
    rows = curriculum(per_repo)
    got = {r.name: (r.easy, r.medium, r.hard, r.sorry) for r in rows}
    assert got == {"hard-repo": (1, 0, 3, 1), "easy-repo": (2, 1, 0, 0), "mid-repo": (1, 3, 1, 0)}
    assert [r.name for r in rows] == ["easy-repo", "hard-repo", "mid-repo"]  # 2 easy; then 1, 1 by name
    # Boundaries from a larger population (all repositories in the database) change the answer.
    rows = curriculum({"easy-repo": per_repo["easy-repo"]}, population=[(s, False) for s in (1, 1, 1, 1, 1, 1, 9)])
    assert (rows[0].easy, rows[0].medium, rows[0].hard) == (2, 0, 1)


def test_easy_first_bands_go_easy_to_hard_and_shuffle_inside_a_band():
    import random

    diffs = [5.0, 1.0, None, 1.0, 3.0, 2.0, 8.0, 1.0]
    bands = easy_first_bands(diffs, random.Random(0), bands=4)
    assert sorted(i for b in bands for i in b) == list(range(len(diffs)))  # a permutation
    assert [len(b) for b in bands] == [2, 2, 2, 2]
    # Every band is no harder than the next; None is infinitely hard (last).
    key = [float("inf") if d is None else d for d in diffs]
    for easier, harder in zip(bands, bands[1:]):
        assert max(key[i] for i in easier) <= min(key[i] for i in harder)
    assert 2 in bands[-1]
    # Deterministic given the generator, and shuffled within bands across seeds.
    assert easy_first_bands(diffs, random.Random(0), 4) == bands
    orders = {tuple(tuple(b) for b in easy_first_bands([1.0] * 8, random.Random(s), 1)) for s in range(5)}
    assert len(orders) > 1
    assert easy_first_bands([], random.Random(0)) == []


def test_random_and_hard_first_repository_orders():
    rows = [RepoDifficulty("a", 4, 1, 1, 2, 0), RepoDifficulty("b", 4, 3, 1, 0, 0), RepoDifficulty("c", 4, 2, 1, 1, 0)]
    assert [r.name for r in order_repos(rows, "easy-count")] == ["b", "c", "a"]
    assert [r.name for r in order_repos(rows, "hard-first")] == ["a", "c", "b"]
    shuffled = [r.name for r in order_repos(rows, "random", seed=7)]
    assert sorted(shuffled) == ["a", "b", "c"]
    # The seed decides, not the order the repositories came in.
    assert [r.name for r in order_repos(list(reversed(rows)), "random", seed=7)] == shuffled
    assert {tuple(r.name for r in order_repos(rows, "random", seed=s)) for s in range(10)} != {tuple(shuffled)}
