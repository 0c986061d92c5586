"""Direct mode: a user-supplied q, k or v replaces X·W for that head, and the trace says so."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special

from attnstudio.core import Settings, compute
from attnstudio.core.errors import MatrixError
from attnstudio.core.matrices import check_direct, direct_banner, direct_label

S = Settings(d_model=4, heads=2, layers=2)
SENTENCE = "the cat sat"


def test_supplied_q_replaces_x_times_w_q() -> None:
    plain = compute(SENTENCE, S)
    q = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, -0.5]])
    trace = compute(SENTENCE, S, direct={(0, 1, "q"): q})
    h = trace.head(0, 1)
    np.testing.assert_array_equal(h.q, q)
    np.testing.assert_array_equal(h.k, plain.head(0, 1).k)  # k and v still come from X·W
    np.testing.assert_array_equal(h.v, plain.head(0, 1).v)
    np.testing.assert_allclose(h.scores, q @ h.k.T, rtol=1e-15)
    np.testing.assert_allclose(h.scaled, q @ h.k.T / math.sqrt(2), rtol=1e-15)
    np.testing.assert_allclose(h.weights, scipy.special.softmax(h.scaled, axis=-1), rtol=1e-12)
    assert h.direct == frozenset({"q"})
    assert trace.head(0, 0).direct == frozenset()
    np.testing.assert_array_equal(trace.head(0, 0).weights, plain.head(0, 0).weights)  # other head untouched


def test_direct_k_and_v_and_the_it_cat_lesson_numbers() -> None:
    # The it-cat lesson: q_it = [1, 0, 1, 0] against k_cat, k_mat, k_tired gives 0.6, 0.3, 1.1.
    q = np.array([[1.0, 0.0, 1.0, 0.0]] * 3)
    k = np.array([[0.5, 0.2, 0.1, 0.3], [0.1, 0.8, 0.2, 0.1], [0.2, 0.1, 0.9, 0.4]])
    v = np.eye(3, 4)
    s = Settings(d_model=4, heads=1, scale=False)
    trace = compute(["cat", "mat", "tired"], s, direct={(0, 0, "q"): q, (0, 0, "k"): k, (0, 0, "v"): v})
    h = trace.head()
    np.testing.assert_allclose(h.scores[0], [0.6, 0.3, 1.1], atol=1e-15)
    e = [math.exp(0.6), math.exp(0.3), math.exp(1.1)]
    np.testing.assert_allclose(h.weights[0], [x / sum(e) for x in e], rtol=1e-14)
    np.testing.assert_allclose(h.output, h.weights @ v, rtol=1e-15)
    assert h.direct == frozenset({"q", "k", "v"})
    assert int(np.argmax(h.weights[0])) == 2  # "tired", not "cat", wins with these numbers


def test_direct_in_the_second_layer_only() -> None:
    plain = compute(SENTENCE, S)
    v = np.full((3, 2), 0.25)
    trace = compute(SENTENCE, S, direct={(1, 0, "v"): v})
    np.testing.assert_array_equal(trace.layers[0].residual, plain.layers[0].residual)
    h = trace.head(1, 0)
    np.testing.assert_array_equal(h.v, v)
    np.testing.assert_allclose(h.output, np.full((3, 2), 0.25), rtol=1e-15)  # rows of A sum to 1
    assert h.direct == frozenset({"v"}) and plain.head(1, 0).direct == frozenset()


def test_a_direct_matrix_is_named_and_checked_one_way() -> None:
    assert direct_label("q", 0, 1) == "Q (layer 1, head 2, direct)"
    assert direct_banner("k") == "K is given directly — not X·W_K"
    m = check_direct("v", 1, 0, [[1, 2], [3, 4], [5, 6]], 3, 2)
    assert m.dtype == np.float64 and m.shape == (3, 2)
    with pytest.raises(MatrixError, match=r"^V \(layer 2, head 1, direct\) must be 3 × 2, got 2 × 2"):
        check_direct("v", 1, 0, np.zeros((2, 2)), 3, 2)
    with pytest.raises(MatrixError, match=r"^Q \(layer 1, head 1, direct\) row 2, column 1 is not a number"):
        check_direct("q", 0, 0, [[0.0], [math.nan]], 2, 1)
    with pytest.raises(MatrixError, match="'w_q'"):
        check_direct("w_q", 0, 0, np.zeros((2, 1)), 2, 1)
    # compute names a bad direct matrix the same way.
    with pytest.raises(MatrixError, match=r"K \(layer 1, head 2, direct\) must be 3 × 2"):
        compute(SENTENCE, S, direct={(0, 1, "k"): np.zeros((2, 2))})
