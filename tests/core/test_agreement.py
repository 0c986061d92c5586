"""The stage-by-stage comparison the GPU check uses: exact on identical traces, and it finds a
difference where there is one, in the stage where it is, with the size computed here."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from attnstudio.core.agreement import TOLERANCE, agreement, cases, max_difference, trace_differences
from attnstudio.core.backends import numpy_backend
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import Settings


def test_max_difference_counts_masked_cells_as_equal_and_a_lost_one_as_infinite() -> None:
    a = np.array([[1.0, -np.inf], [3.0, 4.0]])
    assert max_difference(a, a.copy()) == (0.0, 4.0)
    b = a.copy()
    b[1, 0] = 2.5
    assert max_difference(a, b) == (0.5, 4.0)
    for bad in (np.nan, np.inf, 0.0):
        c = a.copy()
        c[0, 1] = bad  # −∞ on one side only: a masked cell that is not masked on the other
        assert max_difference(a, c)[0] == math.inf
    assert max_difference(np.array([0.1]), np.array([0.2])) == (pytest.approx(0.1), 1.0)  # scale at least 1
    with pytest.raises(ValueError, match="shapes differ"):
        max_difference(np.zeros((2, 2)), np.zeros((2, 3)))


def test_the_same_computation_twice_agrees_exactly_in_every_case() -> None:
    found = [agreement(c, numpy_backend()) for c in cases((9,))]
    assert len(found) == 8 and {a["dtype"] for a in found} == set(TOLERANCE)
    for a in found:
        assert a["ok"] and a["worst"] == 0.0
        assert set(a["stages"]) == {"q", "k", "v", "scores", "scaled", "masked", "weights", "output", "row_sums",
                                    "row_entropy", "input", "concat", "heads", "residual"}


def test_a_changed_stage_is_found_where_it_is() -> None:
    s = Settings(d_model=8, heads=2, layers=2, mask="causal")
    t = compute("the cat sat on the mat", s)
    head = t.layers[1].heads[1]
    w = head.weights.copy()
    w[3, 1] += 2e-3
    changed = replace(t, layers=(t.layers[0], replace(t.layers[1], heads=(t.layers[1].heads[0],
                                                                          replace(head, weights=w)))))
    diffs = trace_differences(t, changed)
    assert diffs["weights"] == pytest.approx(2e-3)  # weights ≤ 1: the scale is 1
    assert all(v == 0.0 for k, v in diffs.items() if k != "weights")
    assert diffs["weights"] > TOLERANCE["float64"]
