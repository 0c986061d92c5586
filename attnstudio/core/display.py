"""Shrinking big matrices for display, on the device they live on.

Copying an 8192 × 8192 float32 matrix from the GPU took 84 ms; pooling it there first and
copying the small result took 1 ms. So pooling runs with the matrix's own array
module ``xp`` (NumPy or CuPy) and only the pooled matrix is copied to the host.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def display_factor(shape: Sequence[int], max_side: int = 256) -> int:
    """The block size f = ⌈max(rows, cols) / max_side⌉ (1 when the matrix already fits)."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, not {max_side}")
    return max(1, math.ceil(max(shape, default=0) / max_side))


def reduce_for_display(a: Any, xp: Any = np, max_side: int = 256) -> tuple[np.ndarray, int]:
    """Block-mean pool the 2-D array ``a`` with f × f blocks so neither side exceeds
    ``max_side``, on ``a``'s own device, and return (host copy, f).

    out[I, J] = mean of a[i, j] over the block i ∈ [fI, fI + f), j ∈ [fJ, fJ + f), clipped
    at the edges (a partial edge block averages the cells it has). The same f applies to
    both axes, so ``reduce_labels(labels, f)`` fits either axis. Non-finite cells:

    - −∞ (masked) cells are left out of the mean; a block of only −∞ stays −∞;
    - a block with a NaN is NaN, else a block with +∞ is +∞ (overflow must stay visible).
    """
    if a.ndim != 2:
        raise ValueError(f"reduce_for_display needs a 2-D matrix, not shape {tuple(a.shape)}")
    f = display_factor(a.shape, max_side)
    if f == 1:
        return _to_host(a, xp), 1
    rows, cols = a.shape
    R, C = math.ceil(rows / f), math.ceil(cols / f)

    def blocks(m: Any) -> Any:
        """Sum of each f × f block of m (padded with zeros to whole blocks)."""
        if rows == R * f and cols == C * f:  # whole blocks: a view, no copy
            return m.reshape(R, f, C, f).sum(axis=(1, 3))
        padded = xp.zeros((R * f, C * f), dtype=m.dtype)
        padded[:rows, :cols] = m
        return padded.reshape(R, f, C, f).sum(axis=(1, 3))

    finite = xp.isfinite(a)
    if bool(finite.all()):
        # The common case (no mask, no overflow): one block sum, then divide by each block's
        # cell count (edge blocks are partial).
        ones = xp.ones((rows, cols), dtype=xp.float64)
        return _to_host(blocks(a).astype(xp.float64) / blocks(ones), xp), f
    total = blocks(xp.where(finite, a, 0).astype(xp.float64))
    count = blocks(finite.astype(xp.int64))
    has_nan = blocks(xp.isnan(a).astype(xp.int64)) > 0
    has_posinf = blocks(xp.isposinf(a).astype(xp.int64)) > 0
    mean = total / xp.maximum(count, 1)
    out = xp.where(count > 0, mean, -xp.inf)
    out = xp.where(has_posinf, xp.inf, out)
    out = xp.where(has_nan, xp.nan, out)
    return _to_host(out, xp), f


def _to_host(a: Any, xp: Any) -> np.ndarray:
    if xp is np:
        return np.array(a, copy=True)
    return xp.asnumpy(a)  # type: ignore[no-any-return]


def reduce_labels(labels: Sequence[str], factor: int) -> list[str]:
    """One label per block of ``factor`` labels: itself for a block of one, "0–7" for a run of
    numbers, "The … tired" (first … last) otherwise."""
    labels = [str(s) for s in labels]
    if factor <= 1:
        return labels
    out = []
    for start in range(0, len(labels), factor):
        block = labels[start : start + factor]
        first, last = block[0], block[-1]
        if len(block) == 1:
            out.append(first)
        elif first.isdigit() and last.isdigit():
            out.append(f"{first}–{last}")
        else:
            out.append(f"{first} … {last}")
    return out
