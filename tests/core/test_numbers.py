"""core.numbers: every way a number is written, against expectations written out by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from attnstudio.core.numbers import (
    cell_forms,
    format_cell,
    format_column,
    format_entry,
    format_operand,
    format_result,
    format_sig,
    format_vector,
    format_weight,
    format_weight_result,
    half_unit,
    parse_shown,
    reads_as,
)

ALL = (format_cell, format_result, format_entry, format_operand, format_column, format_sig)
ROUNDING = (format_cell, format_result, format_entry, format_column)  # those with a fixed last decimal


@pytest.mark.parametrize("fmt", ALL, ids=lambda f: f.__name__)
def test_special_values_are_spelled_out_the_same_everywhere(fmt):
    assert fmt(math.nan) == "NaN"
    assert fmt(math.inf) == "∞"
    assert fmt(np.float32(np.inf)) == "∞"
    # An operand is a factor in a product: its minus sign goes in parentheses, −∞ too.
    assert fmt(-math.inf) == ("(−∞)" if fmt is format_operand else "−∞")


@pytest.mark.parametrize("fmt", ALL, ids=lambda f: f.__name__)
def test_no_hyphen_and_no_negative_zero(fmt):
    for x in (-0.0, np.float64(-0.0)):
        assert fmt(x).strip("0.") == "", (x, fmt(x))  # zero, written as zero, without a sign
    for x in (-1e-9, -0.0004, np.float32(-1e-9)):
        text = fmt(x)
        assert "-" not in text, (x, text)
        if fmt in ROUNDING:
            assert "−" not in text and text.strip("0.") == "", (x, text)  # rounds to zero: no sign left
        else:  # significant digits keep a tiny value, with its sign: never a signed zero
            assert text.strip("()") in ("−1e−9", "−1.00e−9", "−0.0004"), (x, text)  # float32: not exactly 1e-9
    assert "-" not in fmt(-1.5) and "−1.5" in fmt(-1.5)


def test_a_cell_has_two_decimals_rounded():
    assert format_cell(0.5) == "0.50"
    assert format_cell(-0.256) == "−0.26"
    assert format_cell(1) == "1.00"
    assert format_cell(-0.0) == "0.00"
    assert format_cell(-0.004) == "0.00"  # rounds to zero: no sign left
    assert format_cell(-0.005001) == "−0.01"
    assert format_cell(2.675) == "2.67"  # the double below 2.675, rounded honestly
    assert format_cell(0.125) == "0.12"  # exactly halfway: to even, as Python rounds
    assert format_cell(9999.996) == "10000.00"
    assert format_cell(1e-12) == "0.00"
    assert format_cell(np.float32(0.1)) == "0.10"


def test_large_values_take_a_short_exponent_form():
    assert format_cell(12345.6) == "1.23e4"
    assert format_cell(-12345.6) == "−1.23e4"
    assert format_cell(1e4) == "1e4"
    assert format_cell(99999.5) == "1e5"
    assert format_cell(2.5e7) == "2.5e7"
    assert format_cell(1.7976931348623157e308) == "1.8e308"
    assert format_result(123456.0) == "1.23e5"
    assert format_entry(-250000.0) == "−2.5e5"
    assert format_operand(-250000.0) == "(−2.5e5)"
    assert format_column(31415.9, 3) == "3.14e4"
    assert format_cell(9999.0) == "9999.00"  # just below the limit: still decimals


def test_a_result_keeps_a_third_decimal_for_small_values():
    assert format_result(0.3) == "0.30"
    assert format_result(0.012) == "0.012"
    assert format_result(-0.0123) == "−0.012"
    assert format_result(0.05) == "0.05"  # from SMALL on, two decimals
    assert format_result(0.0499) == "0.050"
    assert format_result(0.0) == "0.00"
    assert format_result(1e-9) == "0.000"
    assert format_result(-1e-9) == "0.000"


def test_an_entry_has_at_most_three_decimals_trimmed():
    assert format_entry(1.0) == "1"
    assert format_entry(10.0) == "10"
    assert format_entry(0.5) == "0.5"
    assert format_entry(-0.125) == "−0.125"
    assert format_entry(0.1234) == "0.123"
    assert format_entry(0.9999) == "1"
    assert format_entry(0.0004) == "0"
    assert format_entry(-0.0004) == "0"
    assert format_entry(1e-9) == "0"


def test_an_operand_has_three_significant_digits_and_negatives_in_parentheses():
    assert format_operand(1.0) == "1"
    assert format_operand(-0.5) == "(−0.5)"
    assert format_operand(-0.0) == "0"
    assert format_operand(-0.0001) == "(−0.0001)"  # not zero, so not "0"
    assert format_operand(0.333333) == "0.333"
    assert format_operand(0.104873) == "0.105"  # "0.10" made 0.10 / 0.10 = 0.99 appear
    assert format_operand(0.104873, 4) == "0.1049"
    assert f"{format_operand(1)}×{format_operand(-0.5)}" == "1×(−0.5)"


def test_significant_digits():
    assert format_sig(0.0) == "0" and format_sig(-0.0) == "0"
    assert format_sig(1.5) == "1.5" and format_sig(2.0) == "2"  # exact: trailing zeros dropped
    assert format_sig(1900.4) == "1900"  # an integer part keeps its digits (zeros too)
    assert format_sig(1651.49) == "1651"
    assert format_sig(0.09996) == "0.100" and format_sig(9.9996) == "10.0"  # rounding up a digit
    assert format_sig(1.0026) == "1.00" and format_sig(0.39968) == "0.400"  # rounded: zeros kept
    assert format_sig(0.00123456) == "0.00123"
    assert format_sig(-2.5e-7) == "−2.5e−7"  # below TINY: exponent, never "0.000000250"
    assert format_sig(3.72e-44) == "3.72e−44"
    assert format_sig(12345.6) == "1.23e4" and format_sig(-2.5e7) == "−2.5e7"
    assert format_sig(2.8284271) == "2.83" and format_sig(2.8284271, 5) == "2.8284"
    assert format_sig(math.inf) == "∞" and format_sig(math.nan) == "NaN"


def test_shown_numbers_parse_back_with_their_precision():
    for text, value, half in (("0.25", 0.25, 0.005), ("(−0.5)", -0.5, 0.05), ("1651", 1651, 0.5),
                              ("1.5e4", 15000, 500), ("−2.5e−7", -2.5e-7, 5e-9), ("0", 0.0, 0.0),
                              ("0.00", 0.0, 0.005), ("−∞", -math.inf, 0.0)):
        assert parse_shown(text) == value and half_unit(text) == pytest.approx(half), text
    assert math.isnan(parse_shown("NaN"))
    for x in (0.104873, -0.5, 1651.49, 12345.6, 3.7e-44, 0.0, 1.0):
        for fmt in (format_sig, format_operand, format_result, format_cell):
            assert reads_as(x, fmt(x)), (fmt.__name__, x)  # every format rounds correctly


def test_reads_as_is_what_a_calculator_checks():
    assert not reads_as(0.10 / 0.10, "0.99")
    assert reads_as(0.105 / 0.106, "0.99")
    assert not reads_as(0.80 - 0.045, "0.79") and reads_as(0.835 - 0.045, "0.79")
    assert reads_as(0.245, "0.25") and reads_as(0.245, "0.24")  # exactly halfway: either
    assert not reads_as(0.003, "0")  # "0" is written only for an exact zero
    assert reads_as(math.nan, "NaN") and reads_as(math.inf, "∞") and not reads_as(1.0, "∞")


def test_zeros_that_mean_different_things_are_written_differently():
    """Finding 7: a masked weight, an exact zero (sparsemax) and 0.004 all printed 0.00."""
    texts = {format_weight(0.0, masked=True), format_weight(0.0), format_weight(0.004), format_weight(0.0049)}
    assert texts == {"—", "0", "<0.01"}
    assert format_weight(0.005) == "0.01" and format_weight(0.256) == "0.26" and format_weight(1.0) == "1.00"
    assert format_weight(math.nan) == "NaN"
    assert [format_weight_result(x) for x in (0.0, 0.004, 0.0004, 3.7e-44, 0.25)] == [
        "0", "0.004", "0.0004", "3.7e−44", "0.25"]


def test_narrow_cells_get_shorter_honest_forms():
    assert cell_forms(-1651.5) == ("−1651.50", "−1652", "−2e3")
    assert cell_forms(-146000.0) == ("−1.46e5", "−1.5e5", "−1e5")
    assert cell_forms(-0.256) == ("−0.26", "−.26", "−.3")
    assert cell_forms(2.0e6) == ("2e6",)
    assert cell_forms(-math.inf) == ("−∞",) and cell_forms(math.nan) == ("NaN",)
    assert cell_forms(0.004, weight=True) == ("<0.01", "<.01")
    assert cell_forms(0.0, weight=True) == ("0",) and cell_forms(0.0, weight=True, masked=True) == ("—",)
    for x in (-1651.5, -146000.0, -0.256, 12.345, 7021.82, -1.5e12, 0.5):
        forms = cell_forms(x)
        assert all(len(a) > len(b) for a, b in itertools.pairwise(forms))  # each one shorter
        assert all(reads_as(x, f.replace(".", "0.", 1) if f.lstrip("−").startswith(".") else f) for f in forms)


def test_a_column_has_exactly_the_decimals_asked_for():
    assert format_column(1.0) == "1.000"
    assert format_column(0.1, 3) == "0.100"
    assert format_column(-1.25, 3) == "−1.250"
    assert format_column(0.99999, 3) == "1.000"
    assert format_column(-0.0001, 3) == "0.000"
    assert format_column(2.5, 0) == "2"
    assert format_column(-2.5, 1) == "−2.5"


def test_a_vector_shows_cells_and_elides_its_middle():
    assert format_vector([0.5, -0.2, 0.1]) == "[0.50, −0.20, 0.10]"
    assert format_vector([]) == "[]"
    assert format_vector([-0.0, np.nan, -np.inf, 1e6]) == "[0.00, NaN, −∞, 1e6]"
    assert format_vector(np.arange(6) / 10) == "[0.00, 0.10, 0.20, 0.30, 0.40, 0.50]"  # 6 fit
    assert format_vector(np.arange(7) / 10) == "[0.00, 0.10, 0.20, …, 0.40, 0.50, 0.60] (7)"
    assert format_vector(np.arange(64) / 10) == "[0.00, 0.10, 0.20, …, 6.10, 6.20, 6.30] (64)"
    assert format_vector(np.arange(64) / 10, max_shown=2) == "[0.00, …, 6.30] (64)"
    assert format_vector(np.ones((2, 2))) == "[1.00, 1.00, 1.00, 1.00]"  # any shape, row by row
