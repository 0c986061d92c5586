"""The padding and custom masks: exact zeros where they hide a key, rows summing to 1 over
the keys they leave, checked against references written here (a loop over the unmasked
keys with scipy's softmax; sparsemax and entmax-1.5 by bisection on their threshold)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gpu_marks import needs_gpu
from scipy.special import softmax as scipy_softmax

from attnstudio.core.errors import MaskError
from attnstudio.core.explain import explain_cell, token_view
from attnstudio.core.formats import trace_to_json, trace_to_table
from attnstudio.core.masks import (
    check_cells,
    check_padding,
    mask_matrix,
    parse_cells_text,
    parse_positions_text,
)
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import Settings

SENTENCE = "the cat sat on the mat PAD PAD"
NORMALIZERS = ("softmax", "sparsemax", "entmax15")
CELLS = [(0, 0), (0, 3), (2, 1), (2, 2), (5, 0), (5, 1), (5, 2), (5, 4), (7, 7)]


def _by_threshold(z: np.ndarray, alpha: float) -> np.ndarray:
    """sparsemax (alpha 2) or entmax-1.5 (alpha 1.5) of one row by bisection on τ:
    p_j = max(z_j − τ, 0) or max(z_j/2 − τ, 0)², Σp = 1 (independent of core.normalizers)."""
    f = (lambda t: np.maximum(z - t, 0.0)) if alpha == 2 else (lambda t: np.maximum(z / 2 - t, 0.0) ** 2)
    lo, hi = float(np.min(z)) - 2.0, float(np.max(z))
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid).sum() > 1 else (lo, mid)
    p = f((lo + hi) / 2)
    return p / p.sum()


def reference_row(scaled_row: np.ndarray, hidden: np.ndarray, normalizer: str, t: float) -> np.ndarray:
    """The weights of one row, normalized over its unmasked keys only (a loop picks them)."""
    keep = [j for j in range(len(scaled_row)) if not hidden[j]]
    out = np.zeros(len(scaled_row))
    if not keep:
        return out
    z = np.array([scaled_row[j] for j in keep]) / t
    w = scipy_softmax(z) if normalizer == "softmax" else _by_threshold(z, 2 if normalizer == "sparsemax" else 1.5)
    for j, v in zip(keep, w, strict=True):
        out[j] = v
    return out


@pytest.mark.parametrize("normalizer", NORMALIZERS)
@pytest.mark.parametrize("kind", ["padding", "custom"])
def test_masked_keys_get_exactly_zero_and_rows_sum_to_one_over_the_rest(kind, normalizer):
    s = Settings(d_model=8, heads=2, mask=kind, normalizer=normalizer, temperature=0.7, seed=3)
    trace = compute(SENTENCE, s, padding=[6, 7], mask_cells=CELLS)
    n = trace.n
    hidden = np.zeros((n, n), dtype=bool)
    if kind == "padding":
        for j in (6, 7):
            for i in range(n):
                hidden[i, j] = True
    else:
        for i, j in CELLS:
            hidden[i, j] = True
    for head in trace.layers[0].heads:
        assert np.array_equal(np.isneginf(head.masked), hidden)
        assert np.array_equal(head.masked[~hidden], head.scaled[~hidden])
        assert np.all(head.weights[hidden] == 0.0)  # exactly, not nearly
        for i in range(n):
            ref = reference_row(head.scaled[i], hidden[i], normalizer, 0.7)
            np.testing.assert_allclose(head.weights[i], ref, atol=1e-9)
            assert math.fsum(head.weights[i][~hidden[i]]) == pytest.approx(1.0, abs=1e-12)
        # the output mixes only the unmasked values: Z = A·V by a loop
        z = np.zeros_like(head.output)
        for i in range(n):
            for j in range(n):
                if not hidden[i, j]:
                    z[i] += head.weights[i, j] * head.v[j]
        np.testing.assert_allclose(head.output, z, atol=1e-12)


def test_a_padding_token_s_own_row_attends_over_the_real_tokens():
    trace = compute(SENTENCE, Settings(mask="padding"), padding=[6, 7])
    h = trace.head()
    for i in (6, 7):
        assert h.weights[i, 6] == 0.0 and h.weights[i, 7] == 0.0
        assert h.weights[i, :6].sum() == pytest.approx(1.0, abs=1e-12)
        assert np.all(h.weights[i, :6] > 0)
    assert trace.warnings == ()


@pytest.mark.parametrize("normalizer", (*NORMALIZERS, "naive-softmax"))
def test_a_row_with_every_key_masked_is_all_zero_with_a_warning_never_nan(normalizer):
    cells = [(1, j) for j in range(4)]
    trace = compute("a b c d", Settings(mask="custom", normalizer=normalizer), mask_cells=cells)
    h = trace.head()
    assert np.all(h.weights[1] == 0.0) and np.all(h.output[1] == 0.0)
    assert np.isfinite(h.weights).all() and h.nonfinite_weights == 0
    assert h.weights[0].sum() == pytest.approx(1.0, abs=1e-12)
    assert any("every key of row 1 ('b') is masked" in w for w in trace.warnings)
    assert "every key of this row is masked" in explain_cell(trace, 0, 0, "weights", 1, 2)
    every = compute("a b", Settings(mask="padding", normalizer=normalizer), padding=[0, 1])
    assert np.all(every.head().weights == 0.0) and len(every.warnings) == 1


def test_drawn_cells_count_only_under_their_own_mask():
    base = compute("a b c d", Settings())
    for kind in ("none", "causal"):
        t = compute("a b c d", Settings(mask=kind), padding=[1], mask_cells=[(0, 0)])
        ref = compute("a b c d", Settings(mask=kind))
        assert np.array_equal(t.head().weights, ref.head().weights)
    pad = compute("a b c d", Settings(mask="padding"), padding=[1], mask_cells=[(0, 0)])
    assert np.isneginf(pad.head().masked[:, 1]).all() and not np.isneginf(pad.head().masked[:, 0]).any()
    assert not np.isneginf(base.head().masked).any()


@pytest.mark.parametrize(("cells", "message"), [
    ([(0, 4)], "masked cell's key 4 does not exist: the sentence has tokens 0..3"),
    ([(-1, 0)], "masked cell's query -1 does not exist"),
    ([(1, 1), (1, 1)], r"masked cell \(1, 1\) is given twice"),
    ([(0.5, 1)], "masked cell's query must be a token position"),
    ([(True, 1)], "masked cell's query must be a token position"),
    (["ab"], "a masked cell is a \\(query, key\\) pair"),
    ([(1, 2, 3)], "a masked cell is a \\(query, key\\) pair"),
])
def test_bad_mask_cells_are_one_clear_error(cells, message):
    with pytest.raises(MaskError, match=message):
        compute("a b c d", Settings(mask="custom"), mask_cells=cells)


def test_bad_padding_is_one_clear_error():
    with pytest.raises(MaskError, match="padding token 4 does not exist"):
        check_padding([4], 4)
    with pytest.raises(MaskError, match="padding token 2 is given twice"):
        check_padding([2, 2], 4)
    assert check_padding([3, 0], 4) == (0, 3)
    assert check_cells([(2, 1), (0, 3)], 4) == ((0, 3), (2, 1))


def test_mask_matrix_of_each_kind():
    assert mask_matrix("none", 3) is None
    assert np.array_equal(mask_matrix("causal", 3), np.triu(np.ones((3, 3), bool), k=1))
    assert mask_matrix("padding", 3, padding=(2,)).tolist() == [[False, False, True]] * 3
    assert np.argwhere(mask_matrix("custom", 3, cells=((1, 0),))).tolist() == [[1, 0]]


def test_the_hover_and_one_token_view_say_minus_infinity_and_zero():
    trace = compute("it cat mat tired", Settings(mask="custom"), mask_cells=[(0, 0)])
    assert "= −∞ (custom mask: this cell is masked)" in explain_cell(trace, 0, 0, "masked", 0, 0)
    assert "custom mask: this cell is not masked" in explain_cell(trace, 0, 0, "masked", 0, 1)
    weight = explain_cell(trace, 0, 0, "weights", 0, 0)
    assert "exp(−∞)" in weight and "= 0 " in weight + " " and "masked" in weight
    view = token_view(trace, 0, 0, 0)
    assert view.masked.tolist() == [True, False, False, False] and view.weights[0] == 0.0
    pad = compute("a b PAD", Settings(mask="padding"), padding=[2])
    assert "padding: PAD is a padding token" in explain_cell(pad, 0, 0, "masked", 0, 2)
    assert "PAD is padding itself" in explain_cell(pad, 0, 0, "masked", 2, 0)


def test_exports_name_the_drawn_cells():
    trace = compute("a b c", Settings(mask="custom"), mask_cells=[(2, 0)])
    doc = trace_to_json(trace)
    assert doc["mask_cells"] == [[2, 0]] and doc["padding"] == []
    assert doc["layers"][0]["heads"][0]["masked"][2][0] is None  # −∞ is JSON null
    assert doc["layers"][0]["heads"][0]["weights"][2][0] == 0.0
    assert "masked cells (query,key): 2,0" in trace_to_table(trace)


def test_command_line_text_of_cells_and_positions():
    assert parse_cells_text("3,3 3:4;0,1") == [(3, 3), (3, 4), (0, 1)]
    assert parse_positions_text("5, 6") == [5, 6]
    for bad in ("3", "a,b", "1,2,3"):
        with pytest.raises(MaskError, match="--mask-cells takes QUERY,KEY pairs"):
            parse_cells_text(bad)
    with pytest.raises(MaskError, match="--padding takes token positions"):
        parse_positions_text("x")


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("normalizer", NORMALIZERS)
@pytest.mark.parametrize("kind", ["padding", "custom"])
def test_cupy_masks_match_numpy_with_the_same_exact_zeros(kind, normalizer):
    s = Settings(d_model=8, heads=2, mask=kind, normalizer=normalizer)
    cells = [*CELLS, *((1, j) for j in range(8))]  # row 1 wholly masked: all 0 on both
    gpu = compute(SENTENCE, s.with_(backend="cupy"), padding=[6, 7], mask_cells=cells)
    cpu = compute(SENTENCE, s, padding=[6, 7], mask_cells=cells)
    assert gpu.backend.name == "cupy"
    for hg, hc in zip(gpu.host().layers[0].heads, cpu.layers[0].heads, strict=True):
        assert np.array_equal(np.isneginf(hg.masked), np.isneginf(hc.masked))
        assert np.all(hg.weights[np.isneginf(hc.masked)] == 0.0)
        np.testing.assert_allclose(hg.weights, hc.weights, atol=1e-12)
