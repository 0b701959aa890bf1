from collections import Counter

from leanagent.db.splits import novel_premises_split, random_split


def test_random_split_is_deterministic_and_80_10_10():
    keys = [("r", f"F{i % 7}.lean", f"thm{i}", i, 1) for i in range(5000)]
    a = [random_split(k, 1) for k in keys]
    assert a == [random_split(k, 1) for k in keys]
    c = Counter(a)
    assert abs(c["train"] / 5000 - 0.8) < 0.03 and abs(c["test"] / 5000 - 0.1) < 0.02
    assert a != [random_split(k, 2) for k in keys]


def test_random_split_is_stable_when_repositories_are_added():
    k = ("r", "A.lean", "x", 1, 1)
    assert random_split(k, 5) == random_split(k, 5)


def test_novel_premises_val_test_use_a_premise_unseen_in_train():
    premises_of = {f"t{i}": {f"p{i % 40}", f"p{(i * 7) % 40}", "common"} for i in range(400)}
    premises_of.update({f"bare{i}": set() for i in range(20)})
    split = novel_premises_split(premises_of, seed=3)
    train_premises = set().union(*(premises_of[t] for t, s in split.items() if s == "train"))
    held = [t for t, s in split.items() if s != "train"]
    assert held, "some theorems must be held out"
    for t in held:
        assert premises_of[t] - train_premises, t
    assert all(split[f"bare{i}"] == "train" for i in range(20))
    assert split == novel_premises_split(premises_of, seed=3)
