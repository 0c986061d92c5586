"""How numbers are written, everywhere: heatmap cells, explanations, editors, the CLI table.

One treatment of the special cases for every purpose: a real minus sign "−" (not the
hyphen "-"); a value that rounds to zero is "0…", never "−0.00"; NaN, ∞ and −∞ spelled out;
and from LARGE on, a short exponent form ("1.23e4", "−2e7") that keeps columns narrow.

Numbers that must add up. An operand in an explanation has SIG significant digits
(format_sig, format_operand), so that a calculator working from the shown operands
reproduces each shown result; ``reads_as`` says whether it does (an explanation writes "≈"
where it does not). A weight in a heatmap cell is written so that an exact zero ("0"), a
weight too small for two decimals ("<0.01") and a masked key ("—") never look alike
(format_weight); a cell too narrow for its number takes a shorter honest form (cell_forms).

    >>> format_cell(-0.256), format_result(0.0123), format_operand(-0.5), format_entry(0.25)
    ('−0.26', '0.012', '(−0.5)', '0.25')
    >>> format_vector([0.5, -0.2, -0.0])
    '[0.50, −0.20, 0.00]'
    >>> format_sig(0.104873), format_sig(1651.49), format_sig(-2.5e-7), reads_as(0.1 / 0.1, "0.99")
    ('0.105', '1651', '−2.5e−7', False)
    >>> format_weight(0.0), format_weight(0.004), format_weight(0.0, masked=True), format_weight(0.256)
    ('0', '<0.01', '—', '0.26')
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

MINUS = "−"
LARGE = 1e4  # from here on (in magnitude) values are written as "1.23e4"
SMALL = 0.05  # format_result gives non-zero values below this a third decimal
VECTOR_SHOWN = 6  # vector entries shown before the middle is elided
SIG = 3  # significant digits of an operand in an explanation
TINY = 1e-4  # format_sig writes non-zero values below this (in magnitude) as "1.5e−7"
MASKED_MARK = "—"  # a weight whose key the mask hid (its value is exp(−∞) = 0)
BELOW_CELL = "<0.01"  # a weight above 0 that two decimals would show as 0.00
ELIDED = "…"  # a cell too narrow for any honest form of its number


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


def format_sig(x: float, sig: int = SIG) -> str:
    """``x`` to ``sig`` significant digits (more where the integer part has more): "0.105",
    "1.82", "1651", "1.23e4", "−2.5e−7", "1.00" (for 1.0026); trailing zeros are dropped only
    where the shorter text is the exact value ("0.5", "1", "0"), so that a rounded value never
    looks exact.

    An operand of an explanation, and a column a calculator works from (one token's view):
    from three digits, each step of a formula reproduces the shown result to its two decimals
    (two digits did not: "0.10 / 0.10 = 0.99").
    """
    x = float(x)
    if not math.isfinite(x):
        return _special(x) or ""
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    if abs(x) >= LARGE or abs(x) < TINY:
        mantissa, exponent = f"{x:.{sig - 1}e}".split("e")  # "1.50e+04" → "1.50", "+04"
        short = f"{_trim(mantissa)}e{int(exponent)}"
        return _signed(short if float(short) == x else f"{mantissa}e{int(exponent)}")
    text = f"{x:.{max(0, sig - 1 - mag)}f}"
    if abs(float(text)) >= 10.0 ** (mag + 1) and sig - 1 - mag > 0:  # 0.09996 → "0.1000": a digit too many
        text = f"{x:.{sig - 2 - mag}f}"
    return _signed(_trim(text) if float(text) == x else text)


def _trim(text: str) -> str:
    """Trailing zeros of a decimal fraction dropped ("1.50" → "1.5", "2.00" → "2", "1900" stays)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_operand(x: float, sig: int = SIG) -> str:
    """An operand inside a formula: format_sig, with a negative in parentheses so that
    "1×(−0.5)" reads as a product."""
    text = format_sig(x, sig)
    return f"({text})" if text.startswith(MINUS) else text


def parse_shown(text: str) -> float:
    """The value a written number stands for: "(−0.5)" → −0.5, "1.5e−7", "−∞", "NaN"; the
    inverse of every format here (what a student types into a calculator)."""
    t = text.strip().strip("()").replace(MINUS, "-")
    return float(t.replace("∞", "inf"))


def half_unit(text: str) -> float:
    """Half a unit of the last digit a written number shows: "0.25" → 0.005, "1651" → 0.5,
    "1.5e4" → 500; 0 for "0" (the formats here write only an exact zero so), NaN and ±∞."""
    t = text.strip().strip("()").replace(MINUS, "-")
    mantissa, _, exponent = t.partition("e")
    if not math.isfinite(parse_shown(text)) or t == "0":
        return 0.0
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def reads_as(x: float, text: str) -> bool:
    """Whether ``x`` rounds to the written number ``text`` at the digits it shows: what a
    calculator gets from the shown operands agrees with the shown result ("0.99" for
    0.1/0.1 does not). NaN and ±∞ read as themselves."""
    x, shown = float(x), parse_shown(text)
    if not (math.isfinite(x) and math.isfinite(shown)):
        return x == shown or (math.isnan(x) and math.isnan(shown))
    return abs(x - shown) <= half_unit(text) * (1 + 1e-9) + 1e-12 * abs(x)


def format_weight(x: float, masked: bool = False) -> str:
    """A weight in a heatmap cell: as format_cell, except that a masked key is "—", an exact
    zero (sparsemax, entmax) is "0" and a weight that is not zero but shows as 0.00 is "<0.01"."""
    if masked:
        return MASKED_MARK
    x = float(x)
    if x == 0:
        return "0"
    text = format_cell(x)
    return BELOW_CELL if text == "0.00" else text


def format_weight_result(x: float) -> str:
    """A weight as a result (a hover, one token's view): "0" when it is exactly zero (masked,
    or below τ), three significant digits where format_result would show a weight above 0 as
    zero ("3.72e−44"), else format_result ("0.25", "0.012")."""
    x = float(x)
    if x == 0:
        return "0"
    text = format_result(x)
    return format_sig(x) if math.isfinite(x) and not text.strip("0.") else text


def cell_forms(x: float, weight: bool = False, masked: bool = False) -> tuple[str, ...]:
    """The ways a heatmap cell may write ``x``, the full form first (format_cell, or
    format_weight for ``weight``), then ever shorter honest roundings for a narrow cell:
    "−1651.50", "−1651", "−1.7e3", "−2e3"; "−0.26", "−.26"; "<0.01", "<.01". The cell takes
    the first that fits; when none does it shows ELIDED rather than nothing."""
    x = float(x)
    full = format_weight(x, masked) if weight else format_cell(x)
    if not math.isfinite(x) or masked or full == "0":
        return (full,)
    forms = [full]
    if full.startswith(("0.", MINUS + "0.", "<0.")):
        forms.append(full.replace("0.", ".", 1))  # "−0.26" → "−.26": the same digits
    if full not in ("0.00", BELOW_CELL):
        for sig in (4, 3, 2, 1):
            forms.append(_short(x, sig))
    out: list[str] = []
    for f in forms:  # shorter ones only, each once
        if f not in out and (not out or len(f) < len(out[-1])):
            out.append(f)
    return tuple(out)


def _short(x: float, sig: int) -> str:
    """``x`` to ``sig`` significant digits in the shortest of fixed and exponent form."""
    mag = math.floor(math.log10(abs(x)))
    if mag >= sig or mag < -2:
        mantissa, exponent = f"{x:.{sig - 1}e}".split("e")
        return _signed(f"{_trim(mantissa)}e{int(exponent)}")
    text = f"{x:.{max(0, sig - 1 - mag)}f}"
    if text.startswith(("0.", "-0.")):
        text = text.replace("0.", ".", 1)
    return _signed(text)


def format_vector(values: Iterable[float] | np.ndarray, max_shown: int = VECTOR_SHOWN) -> str:
    """A vector as cells: "[0.50, −0.20, 0.10]"; a longer one than ``max_shown`` keeps its first
    and last entries and says its length: "[0.00, 0.10, 0.20, …, 6.10, 6.20, 6.30] (64)"."""
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size <= max_shown:
        return "[" + ", ".join(format_cell(x) for x in arr) + "]"
    half = max_shown // 2  # format only what is shown: a token view does this for every row
    shown = [*map(format_cell, arr[:half]), "…", *map(format_cell, arr[arr.size - half :])]
    return "[" + ", ".join(shown) + f"] ({arr.size})"
