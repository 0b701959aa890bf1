from __future__ import annotations

import math

import numpy as np
import pytest

from leanagent.generator.base import TacticProposer, dedupe_top
from leanagent.generator.frequency import FrequencyProposer
from leanagent.data import RecordedStep, TheoremRef
from leanagent.generator.knn import KnnProposer
from leanagent.generator.merged import MergedProposer, mix

NONE = [TheoremRef.none()]  # nothing held out: these tests look at ranking, not leave-one-out


def _onehot_embed(vocab):
    """Deterministic unit vectors: states sharing a first word are near, others orthogonal."""
    def embed(texts):
        out = np.zeros((len(texts), len(vocab) + 1), dtype="float32")
        for i, t in enumerate(texts):
            word = t.split()[0]
            out[i, vocab.index(word) if word in vocab else len(vocab)] = 1.0
            out[i, len(vocab)] += 0.1 * len(t) / 100  # small tie-breaker
        return out / np.linalg.norm(out, axis=1, keepdims=True)
    return embed


# (step id, state, tactic, annotated, theorem id): steps 4 and 6 belong to theorem 40.
STEPS = [RecordedStep(1, 10, "nat n", "simp", None), RecordedStep(2, 20, "nat m", "simp", None),
         RecordedStep(3, 30, "nat k", "omega", None), RecordedStep(4, 40, "list l", "induction l", None),
         RecordedStep(5, 50, "nat z", "sorry", None), RecordedStep(6, 40, "list l ++ []", "simp [List.append_nil]",
                                                                  None)]


def test_frequency_proposes_most_common_with_log_shares():
    gen = FrequencyProposer(["simp", "simp ", "ring", "sorry", "rfl", "simp"], top=2)
    assert isinstance(gen, TacticProposer) and gen.name == "frequency-2"
    out = gen.generate(["a", "b"], 5, NONE * 2)
    assert out[0] == out[1] == [("simp", math.log(3 / 5)), ("rfl", math.log(1 / 5))] or \
        out[0] == [("simp", math.log(3 / 5)), ("ring", math.log(1 / 5))]
    assert gen.generate(["a"], 1, NONE) == [[("simp", math.log(3 / 5))]]


def test_knn_proposes_neighbour_tactics_as_a_distribution():
    knn = KnnProposer(_onehot_embed(["nat", "list"]), STEPS, neighbours=3)
    (cands,) = knn.generate(["nat q"], 5, NONE)
    tactics = [t for t, _ in cands]
    assert tactics[0] == "simp" and set(tactics) == {"simp", "omega"}  # sorry steps are never proposed
    assert math.isclose(sum(math.exp(lp) for _, lp in cands), 1.0, rel_tol=1e-6)
    (lst,) = knn.generate(["list x"], 1, NONE)
    assert lst[0][0] == "induction l"


def test_knn_leave_one_out_never_uses_any_step_of_the_target_theorem():
    knn = KnnProposer(_onehot_embed(["nat", "list"]), STEPS, neighbours=1)
    (own,) = knn.generate(["list l"], 3, targets=[TheoremRef(40)])
    # Both of theorem 40's steps are out, not just the one at this state: the neighbour is a nat step.
    assert own and all(t not in ("induction l", "simp [List.append_nil]") for t, _ in own)
    (other,) = knn.generate(["list l"], 3, targets=[TheoremRef(99)])
    assert other[0][0] == "induction l"


def test_frequency_leaves_the_target_theorems_own_tactics_out():
    steps = [RecordedStep(1, 1, "a", "ring", None), RecordedStep(2, 1, "b", "ring", None),
             RecordedStep(3, 2, "c", "simp", None)]
    gen = FrequencyProposer(steps, top=5)
    assert [t for t, _ in gen.generate(["x"], 5, NONE)[0]] == ["ring", "simp"]
    assert gen.generate(["x"], 5, targets=[TheoremRef(1)]) == [[("simp", 0.0)]]
    assert [t for t, _ in gen.generate(["x"], 5, targets=[TheoremRef(2)])[0]] == ["ring"]


def test_mix_is_a_mixture_of_distributions():
    a = [("simp", math.log(0.5)), ("ring", math.log(0.5))]
    b = [("simp ", math.log(1.0))]
    out = dict(mix([a, b], [1.0, 1.0], 5))
    assert out["simp"] == pytest.approx(math.log(0.75)) and out["ring"] == pytest.approx(math.log(0.25))
    assert mix([a, b], [0.0, 1.0], 5) == [("simp", 0.0)]  # a weight-0 proposer adds nothing


def test_merged_proposer_batches_and_names():
    freq = FrequencyProposer(["rfl", "rfl", "simp"])
    knn = KnnProposer(_onehot_embed(["nat", "list"]), STEPS, neighbours=2)
    merged = MergedProposer([freq, knn])
    assert merged.name == "merged(frequency-64,knn)"
    out = merged.generate(["nat a", "list b"], 3, NONE * 2)
    assert len(out) == 2 and out[0][0][0] == "simp"  # both proposers like simp at a nat state
    assert all(lp <= 0 for cands in out for _, lp in cands)


def test_dedupe_top_keeps_best_score_per_normalised_tactic():
    assert dedupe_top([("a  b", -2.0), ("a b", -1.0), ("c", -3.0), ("", 0.0)], 5) == [("a b", -1.0), ("c", -3.0)]


def test_cached_embed_computes_once_and_keys_on_texts(tmp_path):
    from leanagent.generator.build import cached_embed

    calls = []

    def embed(texts):
        calls.append(list(texts))
        return np.ones((len(texts), 3), dtype="float32")

    a = cached_embed(embed, "enc", ["s1", "s2"], cache_dir=tmp_path)
    b = cached_embed(embed, "enc", ["s1", "s2"], cache_dir=tmp_path)
    assert np.array_equal(a, b) and len(calls) == 1
    cached_embed(embed, "enc", ["s1", "s3"], cache_dir=tmp_path)
    cached_embed(embed, "other", ["s1", "s2"], cache_dir=tmp_path)
    # Per text: only s3 was new for "enc"; "other" is another encoder, another store.
    assert calls == [["s1", "s2"], ["s3"], ["s1", "s2"]]


def test_knn_uses_given_state_embeddings():
    embed = _onehot_embed(["nat", "list"])
    pre = embed([s.state for s in STEPS])
    knn = KnnProposer(lambda texts: embed(texts), STEPS, neighbours=2, state_embeddings=pre)
    assert knn.generate(["list x"], 1, NONE)[0][0][0] == "induction l"


@pytest.mark.parametrize("make", ["frequency", "knn"])
def test_a_proposer_without_a_target_raises(make):
    """Issue 24, fail closed: no target (or one without a theorem) holds nothing out, so it is refused;
    `TheoremRef.none()` says so explicitly."""
    from leanagent.data import MissingTargetError

    gen = FrequencyProposer(STEPS) if make == "frequency" else KnnProposer(_onehot_embed(["nat", "list"]), STEPS)
    for bad in (None, [None], [TheoremRef(None, file_path="A.lean", start=(1, 1))]):
        with pytest.raises(MissingTargetError):
            gen.generate(["nat q"], 2, bad)
    assert gen.generate(["nat q"], 2, NONE)[0]
