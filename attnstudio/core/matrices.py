"""User-supplied matrices: checked for shape and finite values, with messages naming the cell;
and how matrices are named to people ("W_Q", "Q (layer 1, head 2, direct)")."""

from __future__ import annotations

from typing import Any

import numpy as np

from attnstudio.core.errors import MatrixError

# Larger entries can overflow later stages (scores are sums of products); the cap keeps
# every stage finite in float64 for the sizes the app allows.
MAX_ABS = 1e6
# The matrices a head can be given directly instead of computing them as X·W.
DIRECT_MATRICES = ("q", "k", "v")


def matrix_label(key: str) -> str:
    """'w_q' → 'W_Q', 'q' → 'Q': how a matrix is named to people."""
    return key.upper()


def direct_label(name: str, layer: int, head: int) -> str:
    """How a directly given Q, K or V is named in messages: "Q (layer 1, head 2, direct)"
    (``layer`` and ``head`` count from 0)."""
    return f"{matrix_label(name)} (layer {layer + 1}, head {head + 1}, direct)"


def direct_banner(name: str) -> str:
    """The sentence that says Q, K or V is detached from X·W: "Q is given directly — not X·W_Q"."""
    n = matrix_label(name)
    return f"{n} is given directly — not X·W_{n}"


def check_direct(name: str, layer: int, head: int, matrix: Any, n: int, d_k: int) -> np.ndarray:
    """A directly given Q, K or V of (layer, head) as a float64 N × d_k matrix, or MatrixError
    naming it (direct_label) and what is wrong."""
    if name not in DIRECT_MATRICES:
        raise MatrixError(f"there is no direct matrix {name!r}: only q, k or v can be given directly")
    return check_matrix(direct_label(name, layer, head), matrix, (n, d_k))


def check_matrix(name: str, value: Any, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Return ``value`` as a float64 matrix, or raise MatrixError saying what is wrong.

    ``name`` is how the user knows the matrix ("W_Q (layer 1, head 2)"); cells are named by
    row and column counted from 1.
    """
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MatrixError(f"{name} must be a table of numbers ({exc})") from None
    if arr.ndim != 2:
        raise MatrixError(f"{name} must be a matrix (rows of numbers), got {arr.ndim} dimension(s)")
    if shape is not None and arr.shape != tuple(shape):
        raise MatrixError(
            f"{name} must be {shape[0]} × {shape[1]}, got {arr.shape[0]} × {arr.shape[1]}"
        )
    # Two reductions and no temporary decide the common case, every cell fine (a NaN fails
    # both comparisons); only a bad matrix pays for finding its first bad cell.
    if arr.size and not (arr.max() <= MAX_ABS and arr.min() >= -MAX_ABS):
        bad = ~np.isfinite(arr) | (np.abs(arr) > MAX_ABS)
        r, c = (int(i) for i in np.argwhere(bad)[0])
        v = arr[r, c]
        what = "not a number (NaN)" if np.isnan(v) else ("infinite" if np.isinf(v) else f"{v:g}, too large")
        raise MatrixError(
            f"{name} row {r + 1}, column {c + 1} is {what}: enter a finite number "
            f"between -{MAX_ABS:g} and {MAX_ABS:g}"
        )
    return arr


def parse_cell(text: str) -> float:
    """Parse what a user typed into one cell; raise MatrixError for anything but a finite number.

    Accepts ordinary decimals and a leading Unicode minus (−) as typed on some keyboards.
    """
    cleaned = text.strip().replace("−", "-") if isinstance(text, str) else text
    try:
        value = float(cleaned)
    except (TypeError, ValueError):
        raise MatrixError(f"{text!r} is not a number") from None
    if not np.isfinite(value):
        raise MatrixError(f"{text!r} is not a finite number: NaN and infinity are not allowed")
    if abs(value) > MAX_ABS:
        raise MatrixError(f"{text!r} is too large: enter a number between -{MAX_ABS:g} and {MAX_ABS:g}")
    return value
