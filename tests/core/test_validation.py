"""Bad settings and bad matrices are refused with messages that name what is wrong and where."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnstudio.core import AttnStudioError, MatrixError, Settings, SettingsError, Weights, compute
from attnstudio.core.matrices import MAX_ABS, check_matrix, parse_cell

S = Settings(d_model=4, heads=2, layers=2)
SENTENCE = "a b c"


# --- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("d_model", "heads"), [(6, 4), (5, 2), (7, 3)])
def test_d_model_not_divisible_by_heads_names_both(d_model: int, heads: int) -> None:
    with pytest.raises(SettingsError) as info:
        Settings(d_model=d_model, heads=heads).validated()
    message = str(info.value)
    assert f"d_model = {d_model}" in message and f"heads = {heads}" in message
    assert "divisible" in message


@pytest.mark.parametrize("t", [0, 0.0, -0.5, -1e-300, math.nan, math.inf, -math.inf, True, "1.0", None])
def test_bad_temperature_is_refused(t: object) -> None:
    with pytest.raises(SettingsError, match="temperature"):
        Settings(temperature=t).validated()  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="temperature"):
        compute(SENTENCE, Settings(temperature=t))  # type: ignore[arg-type]


@pytest.mark.parametrize("t", [1e-9, 0.25, 1, 4.0, 1e9])
def test_good_temperature_is_accepted(t: float) -> None:
    assert Settings(temperature=t).validated().temperature == t


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"d_model": 0}, "d_model"),
        ({"d_model": 4.0}, "d_model"),
        ({"heads": 0}, "heads"),
        ({"layers": 0}, "layers"),
        ({"layers": 99}, "layers"),
        ({"mask": "lower"}, "mask"),
        ({"normalizer": "argmax"}, "normalizer"),
        ({"backend": "tpu"}, "backend"),
        ({"dtype": "float16"}, "dtype"),
        ({"scale": 1}, "scale"),
        ({"positional": "yes"}, "positional"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_other_bad_settings_name_the_setting(changes: dict, name: str) -> None:
    with pytest.raises(SettingsError, match=name) as info:
        Settings(**changes).validated()
    assert isinstance(info.value, AttnStudioError) and isinstance(info.value, ValueError)


# --- user-supplied matrices -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "what"),
    [(math.nan, "not a number (NaN)"), (math.inf, "infinite"), (-math.inf, "infinite"), (2e6, "too large")],
)
def test_bad_value_in_embeddings_names_matrix_row_and_column(value: float, what: str) -> None:
    emb = np.zeros((3, 4))
    emb[1, 2] = value
    with pytest.raises(MatrixError) as info:
        compute(SENTENCE, S, embeddings=emb)
    message = str(info.value)
    assert "X (embeddings)" in message and "row 2, column 3" in message and what in message


def test_bad_value_in_weights_names_matrix_layer_head_row_and_column() -> None:
    w = Weights.seeded(S)
    w.layers[1].heads[0].w_k[2, 1] = math.inf
    with pytest.raises(MatrixError, match=r"W_K \(layer 2, head 1\) row 3, column 2 is infinite"):
        compute(SENTENCE, S, weights=w)
    w = Weights.seeded(S)
    w.layers[0].w_o[3, 0] = math.nan
    with pytest.raises(MatrixError, match=r"W_O \(layer 1\) row 4, column 1 is not a number"):
        compute(SENTENCE, S, weights=w)
    w = Weights.seeded(S)
    w.layers[0].heads[1].w_v[0, 0] = -1e7
    with pytest.raises(MatrixError, match=r"W_V \(layer 1, head 2\) row 1, column 1 is -1e\+07, too large"):
        compute(SENTENCE, S, weights=w)


def test_bad_value_in_direct_q_names_matrix_row_and_column() -> None:
    q = np.zeros((3, 2))
    q[2, 1] = math.nan
    with pytest.raises(MatrixError, match=r"Q \(layer 1, head 2, direct\) row 3, column 2 is not a number"):
        compute(SENTENCE, S, direct={(0, 1, "q"): q})


def test_the_largest_allowed_value_is_accepted() -> None:
    emb = np.full((3, 4), MAX_ABS)
    emb[0] = -MAX_ABS
    trace = compute(SENTENCE, S, embeddings=emb)
    assert all(np.all(np.isfinite(h.weights)) for layer in trace.layers for h in layer.heads)


@pytest.mark.parametrize(
    ("embeddings", "pattern"),
    [
        (np.zeros((3, 5)), r"must be 3 × 4, got 3 × 5"),
        (np.zeros((2, 4)), r"must be 3 × 4, got 2 × 4"),
        (np.zeros(4), r"must be a matrix"),
        (np.zeros((3, 4, 1)), r"must be a matrix"),
        ([[1.0, 2.0], [3.0]], r"must be a table of numbers"),
        ([["a"] * 4] * 3, r"must be a table of numbers"),
    ],
)
def test_wrong_embedding_shapes(embeddings: object, pattern: str) -> None:
    with pytest.raises(MatrixError, match=r"X \(embeddings\) " + pattern):
        compute(SENTENCE, S, embeddings=embeddings)


def test_wrong_weight_shapes() -> None:
    w = Weights.seeded(S)
    w.layers[0].w_o = np.zeros((4, 3))
    with pytest.raises(MatrixError, match=r"W_O \(layer 1\) must be 4 × 4, got 4 × 3"):
        compute(SENTENCE, S, weights=w)
    w = Weights.seeded(S)
    w.layers[1].heads[1].w_q = np.zeros((4, 4))
    with pytest.raises(MatrixError, match=r"W_Q \(layer 2, head 2\) must be 4 × 2, got 4 × 4"):
        compute(SENTENCE, S, weights=w)
    with pytest.raises(MatrixError, match="1 layer"):
        compute(SENTENCE, S, weights=Weights.seeded(S.with_(layers=1)))
    with pytest.raises(MatrixError, match="1 head"):
        compute(SENTENCE, S, weights=Weights.seeded(S.with_(heads=1)))
    assert not Weights.seeded(S.with_(heads=1)).fits(S) and Weights.seeded(S).fits(S)


def test_wrong_direct_shapes_and_keys() -> None:
    with pytest.raises(MatrixError, match=r"Q \(layer 1, head 1, direct\) must be 3 × 2, got 3 × 4"):
        compute(SENTENCE, S, direct={(0, 0, "q"): np.zeros((3, 4))})
    with pytest.raises(MatrixError, match="layer 3, head 1 does not exist"):
        compute(SENTENCE, S, direct={(2, 0, "q"): np.zeros((3, 2))})
    with pytest.raises(MatrixError, match="'x'"):
        compute(SENTENCE, S, direct={(0, 0, "x"): np.zeros((3, 2))})


def test_no_tokens_is_an_error_not_a_crash() -> None:
    with pytest.raises(MatrixError, match="no tokens"):
        compute([], S)


def test_bad_input_loses_nothing() -> None:
    # A refused computation leaves the caller's matrices exactly as they were.
    w = Weights.seeded(S)
    w.layers[0].heads[0].w_q[0, 0] = math.nan
    before = w.copy()
    emb = np.arange(12.0).reshape(3, 4)
    with pytest.raises(MatrixError):
        compute(SENTENCE, S, weights=w, embeddings=emb)
    assert np.isnan(w.layers[0].heads[0].w_q[0, 0])
    for a, b in zip(w.layers, before.layers):
        np.testing.assert_array_equal(a.w_o, b.w_o)
    np.testing.assert_array_equal(emb, np.arange(12.0).reshape(3, 4))


def test_check_matrix_returns_a_float64_copy() -> None:
    src = [[1, 2], [3, 4]]
    out = check_matrix("M", src, (2, 2))
    assert out.dtype == np.float64 and out.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    arr = np.ones((2, 2))
    assert check_matrix("M", arr) is not arr


# --- one typed cell -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["abc", "nan", "NaN", "inf", "-inf", "Infinity", "", "   ", "1,5", "1e400", "2e6"])
def test_parse_cell_refuses(text: str) -> None:
    with pytest.raises(MatrixError) as info:
        parse_cell(text)
    assert repr(text) in str(info.value)  # the message quotes what was typed


@pytest.mark.parametrize(
    ("text", "value"),
    [("-0.5", -0.5), ("−0.5", -0.5), ("1e-3", 0.001), (" 2 ", 2.0), ("0", 0.0), ("+3.25", 3.25), ("-1e6", -1e6)],
)
def test_parse_cell_accepts(text: str, value: float) -> None:
    assert parse_cell(text) == value
