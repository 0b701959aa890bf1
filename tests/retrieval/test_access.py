"""Accessible premises: same file before the theorem, or transitively imported; unknown imports -> other files."""

from __future__ import annotations

import numpy as np

from leanagent.data import ImportGraph, PremiseItem
from leanagent.retrieval.access import Accessibility, transitive_imports

CORPUS = [
    PremiseItem(1, "A.x", "A.lean", "A.x A", (1, 1)),
    PremiseItem(2, "B.y", "B.lean", "B.y B", (5, 1)),
    PremiseItem(3, "C.z", "C.lean", "C.z C", (3, 1)),
    PremiseItem(4, "C.later", "C.lean", "C.later C", (50, 1)),
    PremiseItem(5, "D.w", "D.lean", "D.w D", (1, 1)),
]
GRAPH = ImportGraph({"A": [], "B": ["A"], "C": ["B"], "D": []})


def test_transitive_imports_follow_chains_and_cycles():
    assert transitive_imports("C", GRAPH.imports) == {"A", "B"}
    assert transitive_imports("X", {"X": ["Y"], "Y": ["X"]}) == {"Y"}


def test_mask_same_file_before_and_imported():
    acc = Accessibility(CORPUS, GRAPH)
    mask = acc.mask("C.lean", (10, 1))
    assert mask.tolist() == [True, True, True, False, False]
    assert acc.allowed("C.lean", (10, 1), np.array([3, 1])).tolist() == [False, True]


def test_unknown_imports_make_other_files_accessible_but_not_later_declarations():
    # Without an import graph, only C.later (after the theorem in its own file) is out.
    assert Accessibility(CORPUS, ImportGraph()).mask("C.lean", (10, 1)).tolist() == [True, True, True, False, True]
    # The theorem's own declaration (same position) is never accessible to itself.
    assert Accessibility(CORPUS, ImportGraph()).mask("C.lean", (3, 1)).tolist() == [True, True, False, False, True]
    assert Accessibility(CORPUS, GRAPH).mask("Z.lean", (1, 1)) is None
    assert Accessibility(CORPUS, GRAPH).mask(None, None) is None


def test_same_file_is_decided_by_module_whatever_the_package_prefix():
    """Issue 24: LeanDojo writes theorem paths as `Mathlib/X.lean` and premise paths as
    `.lake/packages/mathlib/Mathlib/X.lean`; the theorem itself and what follows it stay out."""
    corpus = [
        PremiseItem(1, "Mathlib.X.early", ".lake/packages/mathlib/Mathlib/X.lean", "early", (3, 1)),
        PremiseItem(2, "Mathlib.X.me", ".lake/packages/mathlib/Mathlib/X.lean", "me", (10, 1)),
        PremiseItem(3, "Mathlib.X.later", ".lake/packages/mathlib/Mathlib/X.lean", "later", (20, 1)),
        PremiseItem(4, "Mathlib.Y.other", ".lake/packages/mathlib/Mathlib/Y.lean", "other", (99, 1)),
        PremiseItem(5, "Nat.core", ".lake/packages/lean4/src/lean/Init/Core.lean", "core", (1, 1)),
    ]
    for graph in (ImportGraph(), ImportGraph({"Mathlib.X": ["Mathlib.Y", "Init.Core"], "Mathlib.Y": [],
                                              "Init.Core": []})):
        mask = Accessibility(corpus, graph).mask("Mathlib/X.lean", (10, 1))
        assert mask.tolist() == [True, False, False, True, True], graph
