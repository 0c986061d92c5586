"""A head's weights and their row statistics, computed in place, against plain-Python loops.

``attention_weights`` shifts each row and normalizes it in one scratch array, and
``weight_stats`` shares passes between the row sums, the entropies and the count of
non-finite weights; each is checked here against a loop written from the formulas, on rows
that break the shortcuts: +∞ scores, rows with every key masked, NaN, tiny temperatures.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special

from attnstudio.core import Settings
from attnstudio.core.normalizers import attention_weights, naive_softmax, weight_stats
from attnstudio.core.pipeline import attend

INF = math.inf
ROWS = [
    [1.0, 2.0, 3.0, 4.0],
    [INF, 1.0, INF, 2.0],          # +∞ scores share the row's weight evenly
    [-INF, -INF, -INF, -INF],      # every key masked: 0/0
    [-INF, 0.5, -INF, 5.0],        # masked keys get 0
    [-5.0, -6.0, -7.0, -1e5],
    [30.0, -30.0, 0.0, 3.0],
]


def softmax_row_loop(row: list[float], t: float) -> list[float]:
    """softmax(x / T) of one row, written out: the even split over +∞ entries, NaN for 0/0."""
    if any(x == INF for x in row):
        count = sum(x == INF for x in row)
        return [1.0 / count if x == INF else 0.0 for x in row]
    top = max(row)
    if top == -INF:
        return [math.nan] * len(row)
    e = [math.exp((x - top) / t) for x in row]
    return [v / sum(e) for v in e]


def stats_loop(w: np.ndarray) -> tuple[list[float], list[float], int]:
    """Row sums, entropies in bits (NaN for a row that is no distribution), non-finite count."""
    sums, entropies, bad = [], [], 0
    for row in w.tolist():
        finite = all(math.isfinite(p) for p in row)
        bad += sum(not math.isfinite(p) for p in row)
        sums.append(math.fsum(row) if finite else sum(row))  # NaN and ±∞ carry through a sum
        if finite and any(p > 0 for p in row):
            entropies.append(-math.fsum(p * math.log2(p) for p in row if p > 0))
        else:
            entropies.append(math.nan)
    return sums, entropies, bad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("t", [1.0, 0.5, 3.0])
def test_softmax_weights_match_a_loop(dtype: type, t: float) -> None:
    x = np.array(ROWS, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        got = attention_weights(x, "softmax", t)
    want = np.array([softmax_row_loop(r, t) for r in ROWS])
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert got.dtype == dtype


def test_softmax_weights_leave_their_input_alone_and_match_scipy() -> None:
    x = np.random.default_rng(7).normal(scale=4.0, size=(6, 9))
    before = x.copy()
    got = attention_weights(x, "softmax", 0.7)
    assert np.array_equal(x, before) and not np.shares_memory(got, x)
    np.testing.assert_allclose(got, scipy.special.softmax(x / 0.7, axis=-1), rtol=1e-13, atol=1e-15)


def test_tiny_temperature_gives_one_hot_rows() -> None:
    x = np.array([[-3.0, -1.0, -2.0], [5.0, 4.0, 5.5]])
    with np.errstate(over="ignore", invalid="ignore"):
        got = attention_weights(x, "softmax", 1e-300)
    assert np.array_equal(got, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def test_naive_softmax_is_not_shifted() -> None:
    x = np.array([[800.0, 1.0], [1.0, 2.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        got = attention_weights(x, "naive-softmax", 1.0)
        want = naive_softmax(x)
    assert np.isnan(got[0, 0]) and np.array_equal(got, want, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_stats_match_a_loop(dtype: type) -> None:
    w = np.array(
        [
            [0.25, 0.25, 0.25, 0.25],
            [0.0, 1.0, 0.0, 0.0],        # one-hot: 0 bits
            [0.0, 0.0, 0.0, 0.0],        # all zero (naive softmax's sum overflowed): no entropy
            [math.nan, 0.5, 0.5, 0.0],   # NaN: no entropy, one non-finite weight
            [INF, 0.0, 0.0, 0.0],        # ∞: no entropy
            [0.1, 0.2, 0.3, 0.4],
        ],
        dtype=dtype,
    )
    with np.errstate(over="ignore", invalid="ignore"):
        sums, entropy, bad = weight_stats(w)
    want_sums, want_entropy, want_bad = stats_loop(w)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(sums, want_sums, rtol=tol, atol=tol)
    np.testing.assert_allclose(entropy, want_entropy, rtol=tol, atol=tol)
    assert bad == want_bad == 2
    assert entropy[1] == 0.0


def test_weight_stats_on_finite_weights_count_nothing() -> None:
    w = scipy.special.softmax(np.random.default_rng(3).normal(size=(5, 7)), axis=-1)
    sums, entropy, bad = weight_stats(w)
    want_sums, want_entropy, want_bad = stats_loop(w)
    assert bad == want_bad == 0
    np.testing.assert_allclose(entropy, want_entropy, rtol=1e-13)
    np.testing.assert_allclose(sums, want_sums, rtol=1e-15)


def test_a_masked_head_keeps_each_stage_apart() -> None:
    """The stages are computed in place in their own arrays: none shares memory with another,
    and masking does not write −∞ into the scaled scores."""
    rng = np.random.default_rng(11)
    q, k, v = (rng.normal(size=(5, 4)) for _ in range(3))
    head = attend(q, k, v, Settings(d_model=4, mask="causal"))
    stages = [head.q, head.k, head.v, head.scores, head.scaled, head.masked, head.weights, head.output]
    for i, a in enumerate(stages):
        for b in stages[i + 1:]:
            assert not np.shares_memory(a, b)
    assert np.isfinite(head.scaled).all()
    assert np.isneginf(head.masked[np.triu_indices(5, 1)]).all()
    np.testing.assert_allclose(head.scaled, q @ k.T / 2.0, rtol=1e-14)
