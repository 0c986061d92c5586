"""How numbers are written, everywhere: heatmap cells, explanations, editors, the CLI table.

One treatment of the special cases for every purpose: a real minus sign "−" (not the
hyphen "-"); a value that rounds to zero is "0…", never "−0.00"; NaN, ∞ and −∞ spelled out;
and from LARGE on, a short exponent form ("1.23e4", "−2e7") that keeps columns narrow.

    >>> format_cell(-0.256), format_result(0.0123), format_operand(-0.5), format_entry(0.25)
    ('−0.26', '0.012', '(−0.5)', '0.25')
    >>> format_vector([0.5, -0.2, -0.0])
    '[0.50, −0.20, 0.00]'
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

MINUS = "−"
LARGE = 1e4  # from here on (in magnitude) values are written as "1.23e4"
SMALL = 0.05  # format_result gives non-zero values below this a third decimal
VECTOR_SHOWN = 6  # vector entries shown before the middle is elided


def _special(x: float) -> str | None:
    """The text of a value no decimal format fits (NaN, ±∞, |x| ≥ LARGE); None otherwise."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return MINUS + "∞" if x < 0 else "∞"
    if abs(x) >= LARGE:
        mantissa, exponent = f"{x:.3g}".split("e")  # "1.23e+04" → "1.23", "+04"
        return _signed(f"{mantissa}e{int(exponent)}")
    return None


def _signed(text: str) -> str:
    """A formatted number with the real minus sign; a negative that rounded to zero loses its sign."""
    if text.startswith("-") and not text.strip("-0.e"):
        text = text[1:]
    return text.replace("-", MINUS)


def format_column(x: float, decimals: int = 3) -> str:
    """A value in a column that must line up: exactly ``decimals`` places ("0.100", "−1.250").

    The CLI table and the Σ column beside the weights use it.
    """
    x = float(x)
    return _special(x) or _signed(f"{x:.{decimals}f}")


def format_cell(x: float) -> str:
    """A matrix cell: two decimals ("0.50", "−0.26"); also each entry of format_vector."""
    return format_column(x, 2)


def format_result(x: float) -> str:
    """A result in an explanation: two decimals, three for non-zero values below SMALL, so
    that a small weight does not read as 0 ("0.30", "0.012")."""
    x = float(x)
    small = x != 0 and abs(x) < SMALL
    return format_column(x, 3 if small else 2)


def format_entry(x: float) -> str:
    """An editable matrix entry: at most three decimals, trailing zeros dropped ("1", "0.5",
    "−0.125"); the editor itself shows the full value."""
    x = float(x)
    special = _special(x)
    if special is not None:
        return special
    text = f"{x:.3f}".rstrip("0").rstrip(".")
    return _signed(text)


def format_operand(x: float) -> str:
    """An operand inside a formula: as format_entry, with a negative in parentheses so that
    "1×(−0.5)" reads as a product."""
    text = format_entry(x)
    return f"({text})" if text.startswith(MINUS) else text


def format_vector(values: Iterable[float] | np.ndarray, max_shown: int = VECTOR_SHOWN) -> str:
    """A vector as cells: "[0.50, −0.20, 0.10]"; a longer one than ``max_shown`` keeps its first
    and last entries and says its length: "[0.00, 0.10, 0.20, …, 6.10, 6.20, 6.30] (64)"."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size <= max_shown:
        return "[" + ", ".join(format_cell(x) for x in arr) + "]"
    half = max_shown // 2  # format only what is shown: a token view does this for every row
    shown = [*map(format_cell, arr[:half]), "…", *map(format_cell, arr[arr.size - half :])]
    return "[" + ", ".join(shown) + f"] ({arr.size})"
