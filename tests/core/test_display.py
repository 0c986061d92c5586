"""reduce_for_display pools big matrices by block means; checked against a plain loop."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attnstudio.core.display import display_factor, reduce_for_display, reduce_labels


def loop_pool(a: np.ndarray, f: int) -> np.ndarray:
    """The documented rule, cell by cell: mean of the finite cells of each f × f block; all −∞
    → −∞; any NaN → NaN; else any +∞ → +∞."""
    rows, cols = a.shape
    out = np.empty((math.ceil(rows / f), math.ceil(cols / f)))
    for bi in range(out.shape[0]):
        for bj in range(out.shape[1]):
            rows_i = range(bi * f, min(rows, bi * f + f))
            cols_j = range(bj * f, min(cols, bj * f + f))
            block = [a[i, j] for i in rows_i for j in cols_j]
            finite = [x for x in block if math.isfinite(x)]
            if any(math.isnan(x) for x in block):
                out[bi, bj] = math.nan
            elif any(x == math.inf for x in block):
                out[bi, bj] = math.inf
            elif finite:
                out[bi, bj] = sum(finite) / len(finite)
            else:
                out[bi, bj] = -math.inf
    return out


def test_small_matrix_is_unchanged_and_copied():
    a = np.arange(12.0).reshape(3, 4)
    out, f = reduce_for_display(a, np, max_side=4)
    assert f == 1
    np.testing.assert_array_equal(out, a)
    assert out is not a  # a host copy: the view may keep it while the trace changes


def test_pooling_equals_a_loop_with_ragged_edges():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(37, 53))
    out, f = reduce_for_display(a, np, max_side=10)
    assert f == 6  # ⌈53 / 10⌉
    assert out.shape == (7, 9)
    np.testing.assert_allclose(out, loop_pool(a, f), rtol=1e-12, atol=1e-12)
    assert max(out.shape) <= 10


def test_masked_cells_are_left_out_and_all_masked_blocks_stay_minus_inf():
    n = 8
    a = np.where(np.triu(np.ones((n, n), dtype=bool), k=1), -np.inf, np.arange(n * n, dtype=float).reshape(n, n))
    out, f = reduce_for_display(a, np, max_side=4)
    assert f == 2
    # Top-right block is entirely above the diagonal: stays −∞.
    assert out[0, 3] == -np.inf
    # A diagonal block [[0, −∞], [8, 9]] averages its 3 finite cells.
    assert out[0, 0] == pytest.approx((0 + 8 + 9) / 3)
    np.testing.assert_array_equal(out, loop_pool(a, f))


def test_overflow_stays_visible():
    a = np.zeros((4, 4))
    a[0, 0] = np.nan
    a[3, 3] = np.inf
    a[2, 0] = -np.inf
    out, f = reduce_for_display(a, np, max_side=2)
    assert f == 2
    assert np.isnan(out[0, 0]) and out[1, 1] == np.inf and out[1, 0] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    max_side=st.integers(1, 12),
    seed=st.integers(0, 1000),
)
def test_pooling_property(rows, cols, max_side, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(rows, cols))
    a[rng.random((rows, cols)) < 0.2] = -np.inf
    out, f = reduce_for_display(a, np, max_side=max_side)
    assert f == display_factor(a.shape, max_side)
    assert max(out.shape) <= max_side
    np.testing.assert_allclose(out, loop_pool(a, f), rtol=1e-12, atol=1e-12)


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="2-D"):
        reduce_for_display(np.zeros(5), np)
    with pytest.raises(ValueError, match="max_side"):
        reduce_for_display(np.zeros((2, 2)), np, max_side=0)


def test_labels_follow_the_blocks():
    tokens = ["The", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired"]
    assert reduce_labels(tokens, 1) == tokens
    assert reduce_labels(tokens, 4) == ["The … on", "the … it", "was … tired"]
    assert reduce_labels([str(i) for i in range(10)], 8) == ["0–7", "8–9"]
    assert reduce_labels(tokens, 9) == ["The … was", "tired"]
    assert len(reduce_labels(tokens, 3)) == math.ceil(len(tokens) / 3)


@pytest.mark.gpu
def test_cupy_pooling_matches_numpy():
    cp = pytest.importorskip("cupy")
    try:
        if not cp.is_available():
            pytest.skip("no CUDA device")
    except Exception as exc:  # a broken driver is a skip here, not a failure
        pytest.skip(str(exc))
    rng = np.random.default_rng(2)
    a = rng.normal(size=(300, 70))
    a[:, 5] = -np.inf
    host, f = reduce_for_display(cp.asarray(a), cp, max_side=64)
    assert isinstance(host, np.ndarray)
    ref, f_ref = reduce_for_display(a, np, max_side=64)
    assert f == f_ref
    np.testing.assert_allclose(host, ref, rtol=1e-12)


# --- the hover of a reduced cell, on a 300-token causal trace (f = 2) ------------------------


def _causal_300():
    from attnstudio.core import Settings, compute

    tr = compute([f"w{i}" for i in range(300)], Settings(mask="causal"))
    src = np.asarray(tr.matrix("masked"))
    shown, f = reduce_for_display(src)
    assert f == 2 and shown.shape == (150, 150)
    return src, shown, f


def _block_reference(src: np.ndarray, f: int, row: int, col: int) -> tuple[int, int, float]:
    """(cells in the block, −∞ cells among them, mean of the others) by a plain loop."""
    cells = masked = 0
    total = 0.0
    for i in range(row * f, min((row + 1) * f, src.shape[0])):
        for j in range(col * f, min((col + 1) * f, src.shape[1])):
            cells += 1
            if src[i, j] == -math.inf:
                masked += 1
            else:
                total += float(src[i, j])
    return cells, masked, (total / (cells - masked) if cells > masked else -math.inf)


def test_a_reduced_cell_names_its_block_of_rows_and_columns():
    from attnstudio.core.explain import explain_reduced_cell
    from attnstudio.core.numbers import format_result

    src, shown, f = _causal_300()
    cells, masked, mean = _block_reference(src, f, 3, 1)  # rows 6–7 × columns 2–3: below the diagonal
    assert (cells, masked) == (4, 0) and shown[3, 1] == pytest.approx(mean, abs=1e-12)
    assert explain_reduced_cell(src, shown, f, 3, 1, "masked") == (
        f"reduced for display: this cell is the mean of rows 6–7 × columns 2–3 (4 cells) = {format_result(mean)}")


def test_a_reduced_masked_cell_says_how_many_cells_are_masked_and_left_out():
    from attnstudio.core.explain import explain_reduced_cell
    from attnstudio.core.numbers import format_result

    src, shown, f = _causal_300()
    # The diagonal block of rows 6–7 × columns 6–7 holds one masked cell (row 6, column 7).
    cells, masked, mean = _block_reference(src, f, 3, 3)
    assert (cells, masked) == (4, 1) and shown[3, 3] == pytest.approx(mean, abs=1e-12)
    assert explain_reduced_cell(src, shown, f, 3, 3, "masked") == (
        "reduced for display: this cell is the mean of rows 6–7 × columns 6–7 (4 cells) without the 1 that is "
        f"−∞ (masked): the mean of the other 3 = {format_result(mean)}")
    # Above the diagonal every cell of the block is masked: the cell is −∞, and says so.
    cells, masked, mean = _block_reference(src, f, 3, 4)
    assert (cells, masked) == (4, 4) and shown[3, 4] == -math.inf == mean
    assert explain_reduced_cell(src, shown, f, 3, 4, "masked") == (
        "reduced for display: this cell stands for rows 6–7 × columns 8–9 (4 cells): "
        "all 4 cells are −∞ (masked), so it is −∞")


def test_a_reduced_tall_matrix_cell_is_a_run_of_rows_of_one_column():
    from attnstudio.core.explain import explain_reduced_cell
    from attnstudio.core.numbers import format_result

    k = np.arange(300 * 4, dtype=np.float64).reshape(300, 4)
    shown = np.hstack([reduce_for_display(k[:, j : j + 1])[0] for j in range(4)])
    assert explain_reduced_cell(k, shown, 2, 149, 0, "k") == (
        f"reduced for display: this cell is the mean of rows 298–299 of column 1 (2 cells) = "
        f"{format_result((k[298, 0] + k[299, 0]) / 2)}")
