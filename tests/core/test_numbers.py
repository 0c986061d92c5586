"""core.numbers: every way a number is written, against expectations written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnstudio.core.numbers import (
    format_cell,
    format_column,
    format_entry,
    format_operand,
    format_result,
    format_vector,
)

ALL = (format_cell, format_result, format_entry, format_operand, format_column)


@pytest.mark.parametrize("fmt", ALL, ids=lambda f: f.__name__)
def test_special_values_are_spelled_out_the_same_everywhere(fmt):
    assert fmt(math.nan) == "NaN"
    assert fmt(math.inf) == "∞"
    assert fmt(np.float32(np.inf)) == "∞"
    # An operand is a factor in a product: its minus sign goes in parentheses, −∞ too.
    assert fmt(-math.inf) == ("(−∞)" if fmt is format_operand else "−∞")


@pytest.mark.parametrize("fmt", ALL, ids=lambda f: f.__name__)
def test_no_hyphen_and_no_negative_zero(fmt):
    for x in (-0.0, -1e-9, -0.0004, np.float64(-0.0)):
        text = fmt(x)
        assert "-" not in text and "−" not in text, (x, text)
        assert text.strip("0.") == "", (x, text)  # zero, written as zero
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


def test_an_operand_is_an_entry_with_negatives_in_parentheses():
    assert format_operand(1.0) == "1"
    assert format_operand(-0.5) == "(−0.5)"
    assert format_operand(-0.0) == "0"
    assert format_operand(-0.0001) == "0"  # rounds to 0: no parentheses around a bare 0
    assert format_operand(0.333333) == "0.333"
    assert f"{format_operand(1)}×{format_operand(-0.5)}" == "1×(−0.5)"


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
