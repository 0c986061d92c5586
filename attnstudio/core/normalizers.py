"""Row normalizers that turn scores into attention weights.

Every function takes an array ``x`` (…, N) and the array module ``xp`` (NumPy or CuPy) and
normalizes the last axis. Masked entries are −∞ and get weight exactly 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# Values this far below the row maximum get weight exactly 0 under sparsemax (gap > 1)
# and entmax-1.5 (gap > 2); clipping to it keeps squares and sums finite.
_CLIP = 1e3


def softmax(x: Any, xp: Any = np) -> Any:
    """Stable softmax: exp(x − max(x)) / Σ exp(x − max(x)), row by row.

    Subtracting the row maximum changes nothing mathematically and keeps exp() ≤ 1, so it
    never overflows. A row whose maximum is +∞ splits its weight evenly over its +∞ entries.
    """
    x = xp.asarray(x)
    m = xp.max(x, axis=-1, keepdims=True)
    pos_inf_row = xp.isposinf(m)
    safe_m = xp.where(xp.isfinite(m), m, 0.0)
    e = xp.exp(xp.where(pos_inf_row, 0.0, x - safe_m))
    e = xp.where(pos_inf_row, xp.isposinf(x).astype(x.dtype), e)
    return e / xp.sum(e, axis=-1, keepdims=True)


def naive_softmax(x: Any, xp: Any = np) -> Any:
    """Textbook softmax exp(x) / Σ exp(x) without the max shift: overflows for x ≳ 709.

    For teaching only. It breaks in three ways, each returned (not raised) so the caller can
    show and flag it (``naive_softmax_failures``): an exp overflows to ∞ (∞/∞ = NaN), every
    exp is finite but their sum overflows to ∞ (every weight x/∞ = 0, the row sums to 0), or
    every exp underflows to 0 (0/0 = NaN).
    """
    x = xp.asarray(x)
    old = np.seterr(over="ignore", invalid="ignore") if xp is np else None
    try:
        e = xp.exp(x)
        return e / xp.sum(e, axis=-1, keepdims=True)
    finally:
        if old is not None:
            np.seterr(**old)


def _shifted(x: Any, xp: Any) -> Any:
    """x − row max, clipped to [−_CLIP, 0]; −∞ (masked) becomes −_CLIP (weight 0 anyway)."""
    m = xp.max(x, axis=-1, keepdims=True)
    safe_m = xp.where(xp.isfinite(m), m, 0.0)
    # In a row whose max is +∞ (overflowed scores) every finite entry lies infinitely far
    # below the +∞ ones, so it gets weight 0, as in softmax.
    z = xp.where(xp.isposinf(x), 0.0, xp.where(xp.isposinf(m), -_CLIP, x - safe_m))
    return xp.clip(xp.nan_to_num(z, nan=-_CLIP, neginf=-_CLIP), -_CLIP, 0.0)


# How a row of the textbook softmax broke, as the warnings and the hover word it.
EXP_OVERFLOW = "exp overflowed to ∞"
SUM_OVERFLOW = "the sum of exp overflowed to ∞"
UNDERFLOW = "every exp underflowed to 0"


def naive_softmax_failure(row: Any) -> str | None:
    """How the textbook softmax breaks on one row of its input (host floats), or None.

    EXP_OVERFLOW: some exp(x) is ∞, so those weights are ∞/∞ = NaN. SUM_OVERFLOW: every exp
    is finite but their sum is ∞, so every weight is x/∞ = 0 and the row sums to 0, which no
    NaN would reveal. UNDERFLOW: every exp of an unmasked entry is 0 (scores ≲ −745), so
    every weight is 0/0 = NaN. A row with a NaN score, or with every key masked, is none of
    these.
    """
    x = np.asarray(row, dtype=np.float64)
    if np.isnan(x).any() or np.isneginf(x).all():
        return None
    with np.errstate(over="ignore"):
        e = np.exp(x)
        total = np.sum(e)
    if np.isposinf(e).any():
        return EXP_OVERFLOW
    if np.isposinf(total):
        return SUM_OVERFLOW
    if total == 0.0:
        return UNDERFLOW
    return None


def naive_softmax_failures(x: Any, xp: Any = np) -> dict[str, list[int]]:
    """The rows of ``x`` (N × N, the normalizer's input) where naive_softmax breaks, by how
    (see naive_softmax_failure); kinds with no row are left out."""
    rows = np.asarray(x.get() if hasattr(x, "get") else x, dtype=np.float64)
    found: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        kind = naive_softmax_failure(row)
        if kind is not None:
            found.setdefault(kind, []).append(i)
    return found


def _rows_text(rows: list[int]) -> str:
    """"row 2", "rows 0–2", "rows 0, 3 and 5–7" (rows count from 0, as the token strip)."""
    runs: list[list[int]] = []
    for r in rows:
        if runs and r == runs[-1][1] + 1:
            runs[-1][1] = r
        else:
            runs.append([r, r])
    parts = [str(a) if a == b else f"{a}–{b}" for a, b in runs]
    words = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"row {words}" if len(rows) == 1 else f"rows {words}"


def naive_softmax_warnings(x: Any, where: str, xp: Any = np) -> list[str]:
    """One sentence per way naive_softmax broke on ``x``, naming the rows and what became of
    their weights; ``where`` names the head ("head 1", "layer 2, head 1")."""
    found = naive_softmax_failures(x, xp)
    consequence = {
        EXP_OVERFLOW: "∞/∞ is NaN",
        SUM_OVERFLOW: "every weight became 0",
        UNDERFLOW: "0/0 is NaN",
    }
    return [f"{kind} in {_rows_text(found[kind])} of {where}: {consequence[kind]}"
            for kind in (EXP_OVERFLOW, SUM_OVERFLOW, UNDERFLOW) if kind in found]


def sparsemax(x: Any, xp: Any = np) -> Any:
    """Sparsemax (Martins & Astudillo 2016): the Euclidean projection of x onto the simplex.

    p_i = max(x_i − τ, 0) with τ chosen so Σ p = 1. Entries more than 1 below the row max
    get exactly 0.
    """
    z = _shifted(xp.asarray(x), xp)
    zs = -xp.sort(-z, axis=-1)
    n = z.shape[-1]
    k = xp.arange(1, n + 1, dtype=z.dtype)
    cums = xp.cumsum(zs, axis=-1)
    support = (1.0 + k * zs) > cums
    k_star = xp.sum(support, axis=-1, keepdims=True)
    tau = (xp.take_along_axis(cums, k_star - 1, axis=-1) - 1.0) / k_star.astype(z.dtype)
    return xp.maximum(z - tau, 0.0)


def entmax15(x: Any, xp: Any = np) -> Any:
    """1.5-entmax (Peters, Niculae & Martins 2019), exact sort-based algorithm.

    p_i = max(x_i/2 − τ, 0)² with τ chosen so Σ p = 1: between softmax (dense) and
    sparsemax (sparsest). Entries more than 2 below the row max get exactly 0.
    """
    z = _shifted(xp.asarray(x), xp) / 2.0
    zs = -xp.sort(-z, axis=-1)
    n = z.shape[-1]
    k = xp.arange(1, n + 1, dtype=z.dtype)
    mean = xp.cumsum(zs, axis=-1) / k
    mean_sq = xp.cumsum(zs * zs, axis=-1) / k
    ss = k * (mean_sq - mean * mean)
    delta = xp.maximum((1.0 - ss) / k, 0.0)
    tau = mean - xp.sqrt(delta)
    k_star = xp.sum(tau <= zs, axis=-1, keepdims=True)
    tau_star = xp.take_along_axis(tau, k_star - 1, axis=-1)
    p = xp.maximum(z - tau_star, 0.0) ** 2
    # Rounding in τ can leave Σp a few ulps from 1; renormalise so rows sum to 1.
    return p / xp.sum(p, axis=-1, keepdims=True)


NORMALIZERS: dict[str, Callable[..., Any]] = {
    "softmax": softmax,
    "sparsemax": sparsemax,
    "entmax15": entmax15,
    "naive-softmax": naive_softmax,
}


def normalize(name: str, x: Any, xp: Any = np) -> Any:
    """Apply the normalizer called ``name`` (a key of NORMALIZERS) to each row of x."""
    return NORMALIZERS[name](x, xp)


def attention_weights(masked: Any, name: str, temperature: float, xp: Any = np) -> Any:
    """A = normalize(S' / T) row by row, as a new array (``masked`` is left as it is).

    The stable normalizers ignore a constant added to a row, so the row's max is subtracted
    before dividing by T: with a tiny T (1e-320) a row of negative scores would otherwise
    become all −∞ (softmax NaN, sparsemax uniform) instead of one-hot. naive-softmax stays
    unshifted: showing its overflow is its purpose. Call inside np.errstate(over="ignore",
    invalid="ignore") on NumPy.

    On NumPy, softmax is done in one scratch array, in place: after the shift every row's max
    is 0 (or NaN, or −∞ for a row with every key masked), so ``softmax``'s own shift subtracts
    0 and changes no bit; exp, sum and divide give its numbers exactly. Only a row whose max
    is +∞ needs ``softmax``'s even split over its +∞ entries.
    """
    if name == "naive-softmax":
        return naive_softmax(masked / temperature, xp)
    m = masked.max(axis=-1, keepdims=True)
    x = masked - xp.where(xp.isfinite(m), m, 0.0)
    if temperature != 1:  # x / 1 is x, bit for bit
        xp.divide(x, temperature, out=x)
    # On CuPy the +∞ test would wait for the GPU once more per head: there ``softmax`` itself
    # (same numbers) is cheaper than the wait.
    if name != "softmax" or xp is not np or bool((m == xp.inf).any()):
        return normalize(name, x, xp)
    xp.exp(x, out=x)
    xp.divide(x, x.sum(axis=-1, keepdims=True), out=x)
    return x


def row_entropy(p: Any, xp: Any = np) -> Any:
    """H(p) = −Σ p log₂ p per row, in bits (0·log 0 = 0): 0 for one-hot, log₂ N for uniform.

    A row holding NaN or ±∞ (naive softmax overflowed), or all zeros (naive softmax's sum
    overflowed), is no distribution and has no entropy: NaN, not 0.
    """
    p = xp.asarray(p)
    positive = p > 0
    return _entropy(p, positive, xp.all(xp.isfinite(p), axis=-1) & xp.any(positive, axis=-1), xp)


def _entropy(p: Any, positive: Any, valid: Any, xp: Any) -> Any:
    """−Σ p log₂ p over the ``positive`` entries of each row; NaN where ``valid`` is False.

    One scratch array: ones where p ≤ 0 (log₂ 1 = 0, so they add nothing), p elsewhere; its
    log taken and multiplied by p in place.
    """
    t = xp.ones_like(p)
    xp.copyto(t, p, where=positive)
    xp.log2(t, out=t)
    xp.multiply(t, p, out=t)  # where p ≤ 0: 0·p, which is 0 (−0.0 adds nothing either)
    h = 0.0 - t.sum(axis=-1)
    return xp.where(valid, h, xp.nan)


def count_nonfinite(a: Any, xp: Any = np) -> int:
    """How many entries of ``a`` are NaN or ±∞."""
    return int(a.size - xp.count_nonzero(xp.isfinite(a)))


def weight_stats(w: Any, xp: Any = np) -> tuple[Any, Any, int]:
    """Row sums, row entropies (``row_entropy``) and non-finite count (``count_nonfinite``) of
    the weights a normalizer gave, sharing their passes over the N × N array.

    Every finite weight lies in [0, 1] (each normalizer divides by a sum of non-negative
    terms, or clips at 0), so a row's sum is finite exactly when each of its weights is
    (NaN and ±∞ survive a sum; N weights of at most 1 cannot overflow it). That spares
    one full isfinite pass for the entropy's test, and the count's pass when nothing is bad.
    """
    sums = w.sum(axis=-1)
    finite_rows = xp.isfinite(sums)
    positive = w > 0
    entropy = _entropy(w, positive, finite_rows & positive.any(axis=-1), xp)
    bad = 0 if bool(finite_rows.all()) else count_nonfinite(w, xp)
    return sums, entropy, bad
