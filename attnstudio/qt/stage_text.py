"""The words and limits a stage is shown with: its formula line (with this run's settings
filled in), the hint under a matrix while no cell is hovered, and the weights' colour limits.
Text only, computed from settings and shown values: no widgets here.
"""

from __future__ import annotations

import math

import numpy as np

from attnstudio.core.numbers import format_operand, format_result
from attnstudio.core.settings import Settings
from attnstudio.core.trace import TOKEN_BY_TOKEN
from attnstudio.qt.colormaps import ScaleLimits


def formula(stage: str, s: Settings, layer: int = 0, nonfinite: int = 0, empty_rows: int = 0) -> str:
    """The formula line under a stage's title, with this run's settings filled in.

    ``nonfinite``: how many weights of the head on view are not finite (HeadTrace.nonfinite_weights,
    an overflowed naive softmax), plus its rows that sum to 0 (a naive softmax whose sum
    overflowed); the weights' line then does not claim that each row sums to 1. ``empty_rows``:
    how many rows have every key masked (all 0 by core/masks.py's rule), which the line names.
    """
    x = "X" if layer == 0 else f"X{_sub(layer + 1)} (layer {layer + 1} input)"
    if stage == "tokens":
        return "sentence → tokens, each at a position 0 … N−1, each looked up as a vector"
    if stage == "embeddings":
        if layer > 0:
            return f"{x} = X + MHA(X) of the layer before" if s.residual else f"{x} = MHA(X) of the layer before"
        return "X = E + P: token vectors plus sinusoidal positions" if s.positional else \
            "X = E: one toy vector per token (positions off)"
    if stage == "projections":
        return f"Q = {x}·W_Q    K = {x}·W_K    V = {x}·W_V    (each N × d_k = N × {s.d_k})"
    if stage == "scores":
        return "S = Q·Kᵀ: score[i, j] = q_i · k_j"
    if stage == "scaled":
        return f"S / √d_k = S / √{s.d_k} = S / {format_operand(math.sqrt(s.d_k))}" if s.scale else \
            "scaling is off: S unchanged (switch it on to see why it exists)"
    if stage == "masked":
        return MASK_LINES[s.mask]
    if stage == "weights":
        a = f"A = {s.normalizer}(S′ / T), T = {format_operand(s.temperature)}"
        if nonfinite:  # rows of NaN under "each row sums to 1" would contradict the header
            if s.normalizer == "naive-softmax":
                return f"{a}: rows sum to 1 unless exp overflows or underflows"
            return f"{a}: rows sum to 1 unless a weight is not finite (NaN)"
        a += ", row by row"
        if empty_rows:
            return f"{a}: each row sums to 1, except a row with every key masked: all 0"
        if s.mask != "none":
            return f"{a}: each row sums to 1 over its unmasked keys"
        return f"{a}: each row sums to 1"
    if stage == "output":
        return "Z = A·V: each row is a weighted mix of the value rows"
    if stage == "heads":
        return f"concat(Z₁ … Z_{s.heads})·W_O  →  N × d_model = N × {s.d_model}"
    return ""


# The masked stage's line for each mask (core/masks.py); a drawn mask says how to draw it.
MASK_LINES = {
    "none": "no mask: every token sees every token",
    "causal": "causal mask: −∞ above the diagonal (no peeking at later tokens)",
    "padding": "padding mask: −∞ in the columns of padding tokens — click a column to (un)mark one",
    "custom": "custom mask: −∞ in the cells you choose — click a cell to mask or unmask it",
}


def weight_limits(m: np.ndarray, weights_scale: str = "max") -> ScaleLimits:
    """The colour limits of the weights ``m`` under ``weights_scale`` (studio.snapshot.WEIGHT_SCALES),
    with what the colour bar says about them:

    - "unit": 0 … 1, the same for every matrix (honest between steps and heads, but toy weights
      of 0.03–0.3 are then all one shade);
    - "max": 0 … the largest finite weight shown (0 … 1 when there is none above 0): those toy
      weights span the whole map, and with 0 kept at the bottom a weight twice another is
      still about twice as far up the map;
    - "row": each row over 0 … its own largest weight: every row's pattern shows even where
      rows differ in sharpness (a flat row then looks as strong as a sharp one: the bar says so).
    """
    finite = m[np.isfinite(m)]
    top = float(finite.max()) if finite.size else 0.0
    if weights_scale == "unit" or (weights_scale == "max" and top <= 0):
        return ScaleLimits(0.0, 1.0, captions=("fixed scale: 0 … 1", "0 … 1"))
    if weights_scale == "row":
        rows = np.atleast_2d(m)
        with np.errstate(invalid="ignore"):
            row_top = np.max(np.where(np.isfinite(rows), rows, -np.inf), axis=1, initial=-np.inf)
        row_top = np.where(row_top > 0, row_top, 1.0)  # a row of zeros (or no finite weight): 0 … 1
        per_row = np.stack([np.zeros_like(row_top), row_top], axis=1)
        return ScaleLimits(0.0, 1.0, rows=per_row, ends=("0", "max"),
                           captions=("per row: 0 … row max", "per row"))
    if weights_scale != "max":
        raise ValueError(f"weights colour scale must be unit, max or row, not {weights_scale!r}")
    return ScaleLimits(0.0, top, captions=(f"0 … {format_result(top)} (largest weight)", "0 … largest weight",
                                           "0 … largest"))


def masked_cells(name: str, minus_inf: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Where a shown matrix's cells are keys the mask hid, for the weights (None for any other
    matrix): they are exp(−∞) = 0 and must not read as a weight that came out 0.

    ``minus_inf`` is where the masked stage, as shown, is −∞: the same cells for every mask
    (causal, padding, custom), also when shown reduced, where a block is −∞ only when every
    cell in it is masked (core.display.reduce_for_display)."""
    if name != "weights" or len(shape) != 2:
        return None
    if minus_inf is None or np.shape(minus_inf) != tuple(shape):
        return np.zeros(shape, dtype=bool)
    return np.asarray(minus_inf, dtype=bool)


def hint(stage: str, mask: str = "none") -> str:
    """What the hover line says while no cell is hovered (so nothing is hover-only)."""
    if stage == "masked" and mask == "custom":
        return "Click a cell to mask or unmask it · hover a cell to see its arithmetic"
    if stage == "masked" and mask == "padding":
        return "Click a column to mark or unmark its token as padding · hover a cell to see its arithmetic"
    if stage in TOKEN_BY_TOKEN:
        return "Hover a cell to see its arithmetic · click a row for that token's view"
    return "Hover a cell to see its arithmetic"


def _sub(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
