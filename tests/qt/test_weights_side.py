"""Σ row and H beside the weights: the summary for many rows, with overflowed (NaN) rows."""

from __future__ import annotations

import math
import warnings

import numpy as np

from attnstudio.core.numbers import BELOW_CELL, MASKED_MARK, format_column, format_weight, parse_shown, reads_as
from attnstudio.qt.weights_side import WeightsSide, rounded_row_sums


def test_summary_ranges_skip_overflowed_rows_and_count_them(qtbot):
    side = WeightsSide()
    qtbot.addWidget(side)
    sums = np.array([1.0, np.nan, 1.0, np.nan, 0.0])  # the last: a naive softmax whose sum overflowed
    entropy = np.array([0.5, np.nan, 1.5, np.nan, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's all-NaN warnings reach stderr and fail the self-test
        side.set_rows(list("abcde"), sums, entropy, 4)
        text = side.summary()
        side.set_rows(list("ab"), np.array([np.nan, np.nan]), np.array([np.nan, np.nan]), 2)
        all_nan = side.summary()
    assert "Σ from 0.000 to 1.000" in text
    assert "H from 0.50 to 1.50 bits (mean 1.00; uniform = 2.00)" in text
    assert "3 rows are not a distribution: exp overflowed or underflowed" in text
    assert "Σ from NaN to NaN" in all_nan and "2 rows are not a distribution" in all_nan


def _rounded_sums_by_hand(cells: np.ndarray, masked: np.ndarray) -> list[float]:
    """Each row's cells written as the heatmap writes them, read back and added, one by one."""
    out = []
    for row, hid in zip(cells.tolist(), masked.tolist()):
        texts = [format_weight(w, m) for w, m in zip(row, hid)]
        out.append(math.fsum(0.0 if t in (MASKED_MARK, BELOW_CELL) else parse_shown(t) for t in texts))
    return out


def test_rounded_row_sums_add_the_cells_as_printed():
    rng = np.random.default_rng(7)
    cells = rng.random((40, 40))
    cells /= cells.sum(axis=1, keepdims=True)
    # Values a rounding shortcut gets wrong: exact and inexact half hundredths, tiny ones that
    # print "<0.01", negatives that round to zero, exact zeros; NaN and ∞ (an overflowed naive
    # softmax) and huge values in rows of their own (their sums are NaN and ∞ whatever else).
    halves = [0.125, 0.285, 0.005, 0.015, 0.995, 0.0049999, -0.004, -0.006, 0.0, 1.005, 2.675, 0.045, 1e-300]
    cells[0, :len(halves)] = halves
    cells[1, :len(halves)] = halves[::-1]
    cells[2] = np.round(rng.random(40), 2) + 0.005  # half hundredths, most not exact in binary
    cells[4, :4] = [np.nan, 0.5, 0.015, 0.25]
    cells[5, :5] = [np.inf, 12345.678, -2.5e5, 0.015, 0.1]
    masked = rng.random(cells.shape) < 0.2
    masked[3] = True
    masked[:3] = False
    got = rounded_row_sums(cells, masked)
    want = _rounded_sums_by_hand(cells, masked)
    assert got.shape == (40,)
    np.testing.assert_array_equal(got, np.array(want))
    one_row = _rounded_sums_by_hand(cells[6:7], np.zeros((1, 40), bool))
    np.testing.assert_array_equal(rounded_row_sums(cells[6]), one_row)  # a vector is one row


def test_rows_marked_are_those_whose_rounded_cells_do_not_read_as_their_sum(qtbot):
    side = WeightsSide()
    qtbot.addWidget(side)
    rng = np.random.default_rng(11)
    cells = rng.random((60, 9))
    cells /= cells.sum(axis=1, keepdims=True)
    sums = cells.sum(axis=1)
    # Σ near and at half thousandths, far from 1, NaN: each read as the column prints it.
    sums[:8] = [0.9995, 1.0005, 0.98951, 1.0104999, 0.5, np.nan, 1.0015, 0.99849999]
    side.set_rows([str(i) for i in range(60)], sums, np.ones(60), 9, cells=cells)
    rounded = _rounded_sums_by_hand(cells, np.zeros(cells.shape, bool))
    want = [i for i, (s, r) in enumerate(zip(sums, rounded))
            if math.isfinite(s) and not reads_as(r, format_column(s, 3))]
    assert side.off_rows() == want and len(want) >= 3
