"""Σ row and H beside the weights: the summary for many rows, with overflowed (NaN) rows."""

from __future__ import annotations

import warnings

import numpy as np

from attnstudio.qt.weights_side import WeightsSide


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
