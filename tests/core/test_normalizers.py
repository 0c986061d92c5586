"""Row normalizers (softmax, sparsemax, entmax-1.5, naive softmax) against independent references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.special

from attnstudio.core import Settings, compute
from attnstudio.core.normalizers import (
    count_nonfinite,
    entmax15,
    naive_softmax,
    normalize,
    row_entropy,
    softmax,
    sparsemax,
)

STABLE = {"softmax": softmax, "sparsemax": sparsemax, "entmax15": entmax15}
RNG_ROWS = np.random.default_rng(20240601).normal(scale=3.0, size=(40, 9))


def bisect(f, lo: float, hi: float) -> float:
    """The root of a decreasing f on [lo, hi] (f(lo) >= 0 >= f(hi)), to float precision."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def entmax15_reference(row: list[float]) -> list[float]:
    """p_i = max(x_i/2 − τ, 0)² with τ solving Σ max(x_i/2 − τ, 0)² = 1, found by bisection."""
    top = max(row) / 2
    tau = bisect(lambda t: sum(max(x / 2 - t, 0.0) ** 2 for x in row) - 1.0, top - 1.0, top)
    return [max(x / 2 - tau, 0.0) ** 2 for x in row]


def sparsemax_reference(row: list[float]) -> list[float]:
    """p_i = max(x_i − τ, 0) with τ solving Σ max(x_i − τ, 0) = 1, found by bisection."""
    top = max(row)
    tau = bisect(lambda t: sum(max(x - t, 0.0) for x in row) - 1.0, top - 1.0, top)
    return [max(x - tau, 0.0) for x in row]


@pytest.mark.parametrize("name", sorted(STABLE))
def test_rows_sum_to_one_and_are_nonnegative(name: str) -> None:
    p = STABLE[name](RNG_ROWS)
    assert p.shape == RNG_ROWS.shape
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-12)
    assert np.array_equal(normalize(name, RNG_ROWS), p)


def test_softmax_equals_scipy() -> None:
    np.testing.assert_allclose(softmax(RNG_ROWS), scipy.special.softmax(RNG_ROWS, axis=-1), rtol=1e-13, atol=0)
    one = np.array([0.6, 0.3, 1.1])  # the it-cat lesson's raw scores
    by_hand = [math.exp(s) / sum(math.exp(t) for t in one) for s in one]
    np.testing.assert_allclose(softmax(one), by_hand, rtol=1e-14)


@pytest.mark.parametrize("shift", [-1e3, -7.5, 0.25, 1e3, 1e5])
def test_softmax_invariant_to_adding_a_constant(shift: float) -> None:
    np.testing.assert_allclose(softmax(RNG_ROWS + shift), softmax(RNG_ROWS), rtol=1e-9, atol=1e-15)


def test_sparsemax_hand_computed_projection() -> None:
    # Sorted [1, 0.5, -1]: support k = 2 (1 + 2·0.5 > 1.5 but 1 + 3·(−1) < 0.5),
    # τ = (1 + 0.5 − 1) / 2 = 0.25, so p = [0.75, 0.25, 0].
    p = sparsemax(np.array([1.0, 0.5, -1.0]))
    assert p.tolist() == pytest.approx([0.75, 0.25, 0.0], abs=1e-15)
    assert p[2] == 0.0  # exactly zero, not merely small
    # The same row in another order gives the same values in that order.
    assert sparsemax(np.array([-1.0, 1.0, 0.5])).tolist() == pytest.approx([0.0, 0.75, 0.25], abs=1e-15)
    # Equal scores share equally; one clear winner takes everything.
    assert sparsemax(np.array([2.0, 2.0, 0.0])).tolist() == [0.5, 0.5, 0.0]
    assert sparsemax(np.array([3.0, 1.0, 0.0])).tolist() == [1.0, 0.0, 0.0]


def test_sparsemax_matches_bisection_reference() -> None:
    for row in RNG_ROWS[:15]:
        np.testing.assert_allclose(sparsemax(row), sparsemax_reference(row.tolist()), atol=1e-12)


def test_entmax15_matches_bisection_reference() -> None:
    for row in [*RNG_ROWS[:15], np.array([2.0, 1.5, 1.0, 0.0, -1.0]), np.array([0.0]), np.array([5.0, 5.0])]:
        np.testing.assert_allclose(entmax15(row), entmax15_reference(row.tolist()), atol=1e-12)


def test_entmax15_crafted_row_values() -> None:
    # [2, 1.5, 1, 0, −1] halves to z = [1, .75, .5, 0, −.5]. On the support {1, .75, .5}
    # (mean .75, Σ(z − mean)² = .125), Σ(z − τ)² = 1 gives 3(.75 − τ)² + .125 = 1,
    # τ = .75 − √(.875/3) ≈ .21, which is above 0 and −.5: those two get exactly 0.
    p = entmax15(np.array([2.0, 1.5, 1.0, 0.0, -1.0]))
    tau = 0.75 - math.sqrt(0.875 / 3)
    expected = [(1 - tau) ** 2, (0.75 - tau) ** 2, (0.5 - tau) ** 2, 0.0, 0.0]
    assert p.tolist() == pytest.approx(expected, abs=1e-12)
    assert p[3] == 0.0 and p[4] == 0.0


@pytest.mark.parametrize(
    "row",
    [[2.0, 1.5, 1.0, 0.0, -1.0], [1.0, 0.8, 0.1, -0.3], [0.5, 0.4, 0.3, 0.2, 0.1, -1.5], [3.0, 1.0, 0.2, -0.5, -2.0]],
)
def test_entmax15_between_softmax_and_sparsemax(row: list[float]) -> None:
    x = np.array(row)
    dense, mid, sparse = softmax(x), entmax15(x), sparsemax(x)
    zeros = [int(np.sum(p == 0.0)) for p in (dense, mid, sparse)]
    entropy = [float(row_entropy(p)) for p in (dense, mid, sparse)]
    assert zeros[0] <= zeros[1] <= zeros[2], zeros
    assert entropy[0] >= entropy[1] - 1e-12 and entropy[1] >= entropy[2] - 1e-12, entropy


def test_entmax15_strictly_between_on_the_lesson_row() -> None:
    x = np.array([2.0, 1.5, 1.0, 0.0, -1.0])
    zeros = [int(np.sum(f(x) == 0.0)) for f in (softmax, entmax15, sparsemax)]
    assert zeros == [0, 2, 3]
    entropy = [float(row_entropy(f(x))) for f in (softmax, entmax15, sparsemax)]
    assert entropy[0] > entropy[1] > entropy[2]


@pytest.mark.parametrize("name", [*sorted(STABLE), "naive-softmax"])
def test_masked_entries_get_exactly_zero(name: str) -> None:
    inf = -np.inf
    x = np.array([[1.0, inf, 0.5, inf, 2.0], [inf, inf, inf, inf, -3.0], [0.0, 0.0, inf, 0.0, inf]])
    p = normalize(name, x)
    assert np.all(p[np.isneginf(x)] == 0.0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-12)
    assert p[1].tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("name", sorted(STABLE))
def test_positive_infinity_takes_all_the_weight(name: str) -> None:
    # Overflowed scores (+∞): the +∞ entries share the row; every finite entry gets 0.
    x = np.array([[np.inf, 1.0, np.inf], [np.inf, -np.inf, 5.0]])
    assert STABLE[name](x).tolist() == [[0.5, 0.0, 0.5], [1.0, 0.0, 0.0]]


def test_row_entropy_in_bits() -> None:
    assert np.isnan(row_entropy(np.array([np.nan, np.nan])))
    assert row_entropy(np.array([0.0, 1.0, 0.0])) == 0.0
    assert row_entropy(np.full(8, 1 / 8)) == pytest.approx(3.0, abs=1e-12)
    p = np.array([0.5, 0.25, 0.25, 0.0])
    assert row_entropy(p) == pytest.approx(-sum(q * math.log2(q) for q in p if q > 0), abs=1e-12)


def test_naive_softmax_overflows_without_raising() -> None:
    scores = np.array([[1000.0, 999.0, 1001.0], [1.0, 2.0, 3.0]])
    p = naive_softmax(scores)  # RuntimeWarnings from attnstudio are errors under pytest
    assert not np.all(np.isfinite(p[0]))
    assert count_nonfinite(p) == 3
    np.testing.assert_allclose(p[1], scipy.special.softmax([1.0, 2.0, 3.0]), rtol=1e-14)
    stable = softmax(scores)
    np.testing.assert_allclose(stable, scipy.special.softmax(scores, axis=-1), rtol=1e-13)
    np.testing.assert_allclose(stable.sum(axis=-1), 1.0, atol=1e-15)


def _near_1000(normalizer: str):
    """A trace whose scores (no scaling) are 1000 ± 1, from direct q and k."""
    q = np.array([[1000.0, 0.0], [999.0, 0.0], [1001.0, 0.0]])
    k = np.array([[1.0, 0.0], [1.001, 0.0], [0.999, 0.0]])
    s = Settings(d_model=2, heads=1, scale=False, normalizer=normalizer)
    return compute(["a", "b", "c"], s, direct={(0, 0, "q"): q, (0, 0, "k"): k})


def test_naive_softmax_in_the_pipeline_is_flagged_not_raised() -> None:
    naive = _near_1000("naive-softmax")
    head = naive.head()
    assert np.all((head.scores > 995) & (head.scores < 1005))
    assert head.nonfinite_weights > 0
    assert head.nonfinite_weights == count_nonfinite(head.weights)
    assert naive.warnings == ("exp overflowed to ∞ in rows 0–2 of head 1: ∞/∞ is NaN",)
    assert np.all(np.isnan(head.row_entropy))  # an overflowed row has no entropy (not "0 bits")

    stable = _near_1000("softmax")
    h = stable.head()
    assert h.nonfinite_weights == 0 and stable.warnings == ()
    np.testing.assert_allclose(h.row_sums, 1.0, atol=1e-12)
    np.testing.assert_allclose(h.weights, scipy.special.softmax(h.scores, axis=-1), rtol=1e-12)


SENTENCE = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]


@pytest.mark.parametrize("name", sorted(STABLE))
@pytest.mark.parametrize("mask", ["none", "causal"])
def test_temperature_to_zero_approaches_one_hot(name: str, mask: str) -> None:
    base = Settings(d_model=8, heads=2, mask=mask, normalizer=name)
    masked = compute(SENTENCE, base).head(0, 1).masked
    top2 = -np.sort(-masked, axis=-1)[:, :2]
    assert np.all((top2[:, 0] - top2[:, 1] > 1e-3) | np.isneginf(top2[:, 1]))  # no ties: one winner
    max_weight = []
    for t in (4.0, 1.0, 0.1, 1e-2, 1e-5):
        a = compute(SENTENCE, base.with_(temperature=t)).head(0, 1).weights
        max_weight.append(a.max(axis=-1))
    assert all(np.all(later >= earlier - 1e-12) for earlier, later in itertools.pairwise(max_weight))
    coldest = compute(SENTENCE, base.with_(temperature=1e-5)).head(0, 1).weights
    one_hot = np.eye(len(SENTENCE))[np.argmax(masked, axis=-1)]
    np.testing.assert_allclose(coldest, one_hot, atol=1e-12)


@pytest.mark.parametrize("name", sorted(STABLE))
def test_tiny_temperature_with_negative_scores_is_one_hot_not_nan(name: str) -> None:
    # Every score negative and T so small that score / T overflows to −∞ for the whole row.
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    k = -np.array([[1.0, 0.5], [0.5, 1.0]])
    s = Settings(d_model=2, temperature=1e-320, normalizer=name)
    trace = compute(["a", "b"], s, direct={(0, 0, "q"): q, (0, 0, "k"): k})
    assert trace.head().weights.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert trace.warnings == ()


@pytest.mark.parametrize("name", sorted(STABLE))
@pytest.mark.parametrize("mask", ["none", "causal"])
def test_large_temperature_approaches_uniform(name: str, mask: str) -> None:
    a = compute(SENTENCE, Settings(d_model=8, heads=2, mask=mask, normalizer=name, temperature=1e7)).head().weights
    n = len(SENTENCE)
    allowed = np.tril(np.ones((n, n))) if mask == "causal" else np.ones((n, n))
    uniform = allowed / allowed.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(a, uniform, atol=1e-6)


def test_temperature_divides_before_softmax() -> None:
    s = Settings(d_model=4, heads=1, temperature=0.37)
    head = compute(SENTENCE, s).head()
    np.testing.assert_allclose(head.weights, scipy.special.softmax(head.masked / 0.37, axis=-1), rtol=1e-12)


def naive_row_trace(row: list[float]):
    """Every query scores the keys with ``row`` (direct Q and K, scaling off) under naive softmax."""
    n = len(row)
    q = np.zeros((n, 4))
    q[:, 0] = 1.0
    k = np.zeros((n, 4))
    k[:, 0] = row
    return compute([f"t{i}" for i in range(n)], Settings(scale=False, normalizer="naive-softmax"),
                   direct={(0, 0, "q"): q, (0, 0, "k"): k})


def test_naive_softmax_sum_overflow_is_flagged_though_every_weight_is_finite() -> None:
    # Each exp is finite (e^709.78 ≈ 1.79e308 is just below the largest float); their sum is not.
    assert all(math.isfinite(math.exp(s)) for s in (709.78, 708.78))
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(709.78) + np.exp(708.78))
    tr = naive_row_trace([709.78, 708.78])
    head = tr.head()
    assert head.scores[0].tolist() == [709.78, 708.78]
    assert head.weights.tolist() == [[0.0, 0.0], [0.0, 0.0]]  # x/∞, finite and wrong
    assert head.nonfinite_weights == 0
    assert head.row_sums.tolist() == [0.0, 0.0]
    assert np.isnan(head.row_entropy).all()  # no distribution, so no entropy (not 0 bits)
    assert tr.warnings == ("the sum of exp overflowed to ∞ in rows 0–1 of head 1: every weight became 0",)


def test_naive_softmax_total_underflow_is_called_0_over_0_not_overflow() -> None:
    tr = naive_row_trace([-1000.0, -999.0, -998.0])
    head = tr.head()
    assert np.isnan(head.weights).all() and np.isnan(head.row_entropy).all()
    assert tr.warnings == ("every exp underflowed to 0 in rows 0–2 of head 1: 0/0 is NaN",)
    assert not any("overflow" in w for w in tr.warnings)


def test_naive_softmax_exp_overflow_and_healthy_rows() -> None:
    tr = naive_row_trace([1000.0, 999.0, 998.0])
    assert tr.warnings == ("exp overflowed to ∞ in rows 0–2 of head 1: ∞/∞ is NaN",)
    assert naive_row_trace([2.0, 1.0, 0.0]).warnings == ()
    # Partial underflow is harmless: the largest exp carries the row.
    healthy = naive_row_trace([0.0, -800.0])
    assert healthy.warnings == () and healthy.head().weights[0].tolist() == [1.0, 0.0]


def test_naive_softmax_warnings_name_each_kind_with_its_rows() -> None:
    q = np.zeros((4, 4))
    q[:, 0] = [1.0, 1.0, -1.0, 0.0]
    k = np.zeros((4, 4))
    k[:, 0] = [709.78, 708.78, 1000.0, 0.0]
    # Rows 0 and 1 hold 1000, so exp overflows there; rows 2 and 3 hold a 0 (exp 1): healthy.
    tr = compute(list("abcd"), Settings(scale=False, normalizer="naive-softmax", layers=2),
                 direct={(1, 0, "q"): q, (1, 0, "k"): k})
    assert "exp overflowed to ∞ in rows 0–1 of layer 2, head 1: ∞/∞ is NaN" in tr.warnings
