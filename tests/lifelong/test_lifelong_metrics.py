import pytest

from leanagent.lifelong.metrics import (
    average_accuracy,
    backward_transfer,
    forgetting,
    forward_transfer,
    plasticity,
    summarize,
)

# Three repositories; row i = after training on repository i.
R = [
    [0.5, 0.2, 0.1],
    [0.4, 0.6, 0.3],
    [0.3, 0.5, 0.9],
]
B = [0.1, 0.1, 0.2]


def test_known_answers():
    assert average_accuracy(R) == pytest.approx((0.3 + 0.5 + 0.9) / 3)
    assert backward_transfer(R) == pytest.approx(((0.3 - 0.5) + (0.5 - 0.6)) / 2)
    assert forward_transfer(R, B) == pytest.approx(((0.2 - 0.1) + (0.3 - 0.2)) / 2)
    assert forgetting(R) == pytest.approx(((0.5 - 0.3) + (0.6 - 0.5)) / 2)
    assert plasticity(R) == pytest.approx((0.5 + 0.6 + 0.9) / 3)


def test_no_forgetting_when_accuracy_only_rises():
    up = [[0.2, None], [0.4, 0.5]]
    assert forgetting(up) == pytest.approx(-0.2)
    assert backward_transfer(up) == pytest.approx(0.2)


def test_single_repository_has_no_transfer():
    s = summarize([[0.7]], [0.1])
    assert s["average_accuracy"] == 0.7 and s["plasticity"] == 0.7
    assert s["backward_transfer"] is None and s["forward_transfer"] is None and s["forgetting"] is None


def test_missing_cells_are_skipped():
    R2 = [[0.5, None], [None, 0.6]]
    assert backward_transfer(R2) is None
    assert average_accuracy(R2) == pytest.approx(0.6)


def test_wilson_interval_at_the_edges_and_in_the_middle():
    from leanagent.lifelong.metrics import count_with_interval, wilson_interval

    assert wilson_interval(0, 0) is None and count_with_interval(0, 0) == "0 / 0"
    lo, hi = wilson_interval(0, 7)
    assert lo == 0.0 and 30 < hi < 45          # nothing proved of 7 still allows up to ~35%
    lo, hi = wilson_interval(7, 7)
    assert hi == 100.0 and 55 < lo < 70
    lo, hi = wilson_interval(6, 99)            # the real sample's figure: 6 of 99
    assert round(lo, 1) == 2.8 and round(hi, 1) == 12.6
    assert count_with_interval(6, 99) == "6 / 99 (3–13%)"
    narrow, wide = wilson_interval(50, 100), wilson_interval(5, 10)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]  # more theorems, a tighter figure
