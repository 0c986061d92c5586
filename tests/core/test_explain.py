"""Explanations and the one-token view use the trace's own numbers, and their terms add up.

Each check compares against the trace (the numbers the heatmaps show) and against an
independent loop or scipy written here.
"""

import math
import re

import numpy as np
import pytest
from calculator import wrong_steps
from scipy.special import softmax as sp_softmax

from attnstudio.core.explain import (
    cell_arithmetic,
    explain_cell,
    join_terms,
    token_labels,
    token_view,
)
from attnstudio.core.numbers import format_result, format_sig
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import Settings
from attnstudio.core.trace import MATRIX_NAMES
from attnstudio.core.weights import Weights

SENTENCE = "The cat sat on the mat because it was tired"


def it_cat_trace(scale: bool = True):
    """The it-cat lesson's numbers: q_it = [1, 0, 1, 0] against k_cat, k_mat, k_tired (direct mode)."""
    tokens = ["it", "cat", "mat", "tired"]
    q = np.zeros((4, 4))
    q[0] = [1, 0, 1, 0]
    k = np.array([[0.0, 0, 0, 0], [0.5, 0.2, 0.1, 0.3], [0.1, 0.8, 0.2, 0.1], [0.2, 0.1, 0.9, 0.4]])
    return compute(tokens, Settings(scale=scale), direct={(0, 0, "q"): q, (0, 0, "k"): k})


def test_it_cat_score_shows_every_product():
    tr = it_cat_trace()
    assert explain_cell(tr, 0, 0, "scores", 0, 1) == (
        "score[it, cat] = q_it · k_cat = 1×0.5 + 0×0.2 + 1×0.1 + 0×0.3 = 0.60"
    )
    assert explain_cell(tr, 0, 0, "scores", 0, 2).endswith("= 0.30")
    assert explain_cell(tr, 0, 0, "scores", 0, 3) == (
        "score[it, tired] = q_it · k_tired = 1×0.2 + 0×0.1 + 1×0.9 + 0×0.4 = 1.10"
    )
    # Operands keep three significant digits, trailing zeros dropped: 0.60 is "0.6".
    assert explain_cell(tr, 0, 0, "scaled", 0, 1) == "scaled[it, cat] = 0.6 / √4 = 0.30"
    assert explain_cell(tr, 0, 0, "q", 0, 2) == "q[it, 3] = 1.00 (given directly, not computed as X·W_Q)"


def test_it_cat_weight_matches_a_hand_calculation():
    tr = it_cat_trace(scale=False)
    # Hand calculation: raw scores of "it" against it, cat, mat, tired are 0, 0.6, 0.3, 1.1.
    e = [math.exp(s) for s in (0.0, 0.6, 0.3, 1.1)]
    hand = e[1] / sum(e)
    arith = cell_arithmetic(tr, 0, 0, "weights", 0, 1)
    assert arith.value == pytest.approx(hand, abs=1e-12)
    assert arith.from_terms == pytest.approx(hand, abs=1e-12)
    # Three digits would not add up (1 + 1.82 + 1.35 + 3 = 7.17, but the sum 7.176 shows as
    # 7.18), so the exponentials take a fourth: each "=" holds on a calculator.
    assert arith.text.startswith(
        f"weight[it, cat] = exp(0.6) / Σ_j exp(s_j) = {e[1]:.3f} / (1 + {e[1]:.3f} + {e[2]:.3f} + {e[3]:.3f})"
        f" = {e[1]:.3f} / {sum(e):.3f} = {hand:.2f}"
    )
    assert wrong_steps(arith.text) == []


CONFIGS = [
    Settings(),
    Settings(mask="causal", temperature=0.5),
    Settings(normalizer="sparsemax", mask="causal"),
    Settings(normalizer="entmax15", positional=True, temperature=2.0),
    Settings(d_model=8, heads=2, layers=2),
    Settings(d_model=8, heads=2, layers=2, residual=False, scale=False),
    Settings(normalizer="naive-softmax"),
]


def weight_shown(w: float) -> str:
    """A weight as a hover writes its result: exactly zero is "0"; one above zero that two or
    three decimals would show as zero keeps three significant digits."""
    if w == 0:
        return "0"
    return format_sig(w) if np.isfinite(w) and not format_result(w).strip("0.") else format_result(w)


@pytest.mark.parametrize("settings", CONFIGS, ids=lambda s: f"{s.normalizer}-{s.mask}-h{s.heads}-l{s.layers}")
def test_every_cell_reads_the_trace_and_its_terms_add_up(settings):
    tr = compute(SENTENCE, settings)
    n = tr.n
    for layer in range(settings.layers):
        for head in range(settings.heads):
            for name in MATRIX_NAMES:
                if name == "positions" and tr.positions is None:
                    continue
                matrix = np.asarray(tr.matrix(name, layer, head))
                for i in range(n):
                    for j in range(matrix.shape[1]):
                        a = cell_arithmetic(tr, layer, head, name, i, j)
                        assert a.value == matrix[i, j] or (np.isnan(a.value) and np.isnan(matrix[i, j]))
                        shown = weight_shown(matrix[i, j]) if name == "weights" else format_result(matrix[i, j])
                        assert re.search(f"[=≈] {re.escape(shown)}( |;|$)", a.text) or "= −∞" in a.text, a.text
                        if a.from_terms is not None and math.isfinite(a.value):
                            assert a.from_terms == pytest.approx(a.value, abs=1e-9, rel=1e-9), (name, i, j, a.text)


def test_terms_equal_an_independent_loop():
    settings = Settings(d_model=8, heads=2, mask="causal", temperature=0.7, positional=True)
    tr = compute(SENTENCE, settings)
    w = Weights.seeded(settings)
    h = tr.head(0, 1)
    x = np.asarray(tr.layers[0].input)
    q, k, v, a = (np.asarray(m) for m in (h.q, h.k, h.v, h.weights))
    i, j = 7, 1
    # score: the products q_i[d]·k_j[d]
    loop = [q[i, d] * k[j, d] for d in range(4)]
    np.testing.assert_allclose(cell_arithmetic(tr, 0, 1, "scores", i, j).terms, loop, rtol=0, atol=0)
    # q: the products x_i[m]·W_Q[m, c] with the head's own W_Q
    loop = [x[i, m] * w.layers[0].heads[1].w_q[m, 2] for m in range(8)]
    np.testing.assert_allclose(cell_arithmetic(tr, 0, 1, "q", i, 2).terms, loop, rtol=1e-15)
    # weights: exp((s_j)/T) of the row, and their ratio against scipy
    s_row = np.asarray(h.masked)[i]
    arith = cell_arithmetic(tr, 0, 1, "weights", i, j)
    expected = sp_softmax(np.where(np.isfinite(s_row), s_row / 0.7, -np.inf))
    assert arith.value == pytest.approx(expected[j], abs=1e-12)
    loop_exp = [math.exp(s / 0.7) if math.isfinite(s) else 0.0 for s in s_row]
    np.testing.assert_allclose(arith.terms, loop_exp, rtol=1e-12)
    # output: a_j·v_j[c] for the keys with weight, summing to z
    c = 3
    loop = [a[i, jj] * v[jj, c] for jj in range(tr.n) if a[i, jj] != 0]
    np.testing.assert_allclose(cell_arithmetic(tr, 0, 1, "output", i, c).terms, loop, rtol=0, atol=0)
    assert sum(loop) == pytest.approx(float(np.asarray(h.output)[i, c]), abs=1e-12)


def test_masked_cell_says_why():
    tr = compute(SENTENCE, Settings(mask="causal"))
    assert explain_cell(tr, 0, 0, "masked", 0, 5) == (
        "masked[The#0, mat] = −∞ (causal: a token cannot attend to a later one)"
    )
    assert "weight" in explain_cell(tr, 0, 0, "weights", 0, 5) and "= 0" in explain_cell(tr, 0, 0, "weights", 0, 5)


def test_large_scores_use_the_shifted_form_honestly():
    q = np.zeros((3, 4))
    q[:, 0] = 100.0
    k = np.zeros((3, 4))
    k[:, 0] = [20.0, 19.0, 10.0]
    tr = compute(["a", "b", "c"], Settings(scale=False), direct={(0, 0, "q"): q, (0, 0, "k"): k})
    arith = cell_arithmetic(tr, 0, 0, "weights", 0, 1)
    assert "exp((1900 − 2000)) / " in arith.text and "row max 2000 " in arith.text
    assert "= 3.72e−44" in arith.text  # not zero, so not "0.000"
    assert arith.from_terms == pytest.approx(arith.value, abs=1e-12)
    assert arith.value == pytest.approx(sp_softmax([2000.0, 1900.0, 1000.0])[1], abs=1e-15)


def test_naive_softmax_overflow_is_explained_not_hidden():
    q = np.zeros((2, 4))
    q[:, 0] = 100.0
    k = np.zeros((2, 4))
    k[:, 0] = [10.0, 9.0]
    tr = compute(["a", "b"], Settings(scale=False, normalizer="naive-softmax"),
                 direct={(0, 0, "q"): q, (0, 0, "k"): k})
    text = explain_cell(tr, 0, 0, "weights", 0, 0)
    assert "NaN" in text and "overflow" in text


def naive_row(row):
    """Every query scores the keys with ``row`` (direct Q and K, scaling off), naive softmax."""
    n = len(row)
    q = np.zeros((n, 4))
    q[:, 0] = 1.0
    k = np.zeros((n, 4))
    k[:, 0] = row
    return compute([f"t{i}" for i in range(n)], Settings(scale=False, normalizer="naive-softmax"),
                   direct={(0, 0, "q"): q, (0, 0, "k"): k})


def test_naive_softmax_sum_overflow_hover_says_the_sum_overflowed():
    tr = naive_row([709.78, 708.78])
    text = explain_cell(tr, 0, 0, "weights", 0, 0)
    # The exponent keeps its digits: exp(710) would itself be ∞.
    assert text.startswith("weight[t0, t0] = exp(709.78) / Σ_j exp(s_j) = 1.79e308 / (1.79e308 + 6.60e307)"
                           " = 1.79e308 / ∞ = 0 — every exp is finite but their sum overflowed to ∞"), text
    assert "∞/∞" not in text and "NaN" not in text
    assert wrong_steps(text) == []


def test_naive_softmax_underflow_hover_says_0_over_0_not_overflow():
    tr = naive_row([-1000.0, -999.0, -998.0])
    for j in range(3):
        text = explain_cell(tr, 0, 0, "weights", 0, j)
        assert "0 / (0 + 0 + 0) = 0 / 0 = NaN — every exp underflowed to 0" in text, text
        assert "∞" not in text and "overflow" not in text


def test_naive_softmax_exp_overflow_hover_tells_nan_from_zero():
    tr = naive_row([710.0, 1.0, 2.0])
    nan = explain_cell(tr, 0, 0, "weights", 0, 0)
    assert "= ∞ / ∞ = NaN — exp overflowed to ∞" in nan, nan
    zero = explain_cell(tr, 0, 0, "weights", 0, 1)
    assert "= 2.72 / ∞ = 0 — another exp of this row overflowed to ∞" in zero, zero


def test_sparsemax_zero_and_threshold():
    q = np.zeros((3, 4))
    q[:, 0] = 1.0
    k = np.zeros((3, 4))
    k[:, 0] = [2.0, 1.8, -1.0]
    tr = compute(["a", "b", "c"], Settings(scale=False, normalizer="sparsemax"),
                 direct={(0, 0, "q"): q, (0, 0, "k"): k})
    # Hand: support {2.0, 1.8}: τ = (2.0 + 1.8 − 1)/2 = 1.4 → weights 0.6, 0.4, 0.
    zero = cell_arithmetic(tr, 0, 0, "weights", 0, 2)
    assert zero.value == 0.0 and "exactly 0" in zero.text and "τ = 1.4 " in zero.text
    assert "max(−1 − 1.4, 0) = 0;" in zero.text  # an exact zero is "0", as its cell shows it
    top = cell_arithmetic(tr, 0, 0, "weights", 0, 0)
    assert top.value == pytest.approx(0.6) and top.from_terms == pytest.approx(top.value, abs=1e-12)
    assert token_view(tr, 0, 0, 0).tau == pytest.approx(1.4)


def test_feature_columns_count_from_one_like_the_heatmap_labels():
    tr = compute(SENTENCE, Settings(d_model=8, heads=2))
    assert explain_cell(tr, 0, 0, "output", 7, 0).startswith("z[it, 1] = Σ_j a_j v_j[1] = ")
    assert explain_cell(tr, 0, 1, "k", 7, 3).startswith("k[it, 4] = x_it · W_K[:, 4] = ")
    text = explain_cell(tr, 0, 0, "concat", 7, 5)
    assert text.startswith("concat[it, 6] = z_head2[it, 2] = ") and "(columns 5–8 come from head 2)" in text
    assert explain_cell(tr, 0, 0, "heads", 7, 7).startswith("out[it, 8] = concat_it · W_O[:, 8] = ")


def test_inputs_embeddings_and_positions_go_by_the_window_names():
    tr = compute(["a", "b", "c"], Settings(d_model=4, layers=2, positional=True))
    # P[pos, 2k] = sin(pos / 10000^(2k/d)), P[pos, 2k+1] = cos(the same): worked out by hand.
    assert explain_cell(tr, 0, 0, "positions", 2, 1) == "p_2[2] = cos(2 / 10000^(0/4)) = cos(2) = −0.42"
    assert explain_cell(tr, 0, 0, "positions", 1, 2) == "p_1[3] = sin(1 / 10000^(2/4)) = sin(0.01) = 0.010"
    e = float(np.asarray(tr.embeddings)[1, 3])
    assert explain_cell(tr, 0, 0, "embeddings", 1, 3) == f"e_b[4] = {format_result(e)} (the token's embedding vector)"
    # "input" is the layer's own input X_ℓ; "x" is always the first layer's, E + P.
    assert explain_cell(tr, 0, 0, "input", 1, 3).startswith("x[b, 4] = e_b[4] + p_1[4] = ")
    assert explain_cell(tr, 1, 0, "x", 1, 3) == explain_cell(tr, 0, 0, "input", 1, 3)
    assert explain_cell(tr, 1, 0, "input", 1, 3).startswith("x[b, 4] = x_prev[b, 4] + MHA_prev[b, 4] = ")


def test_repeated_tokens_get_their_position():
    assert token_labels(["The", "cat", "saw", "the", "cat"]) == ["The#0", "cat#1", "saw", "the#3", "cat#4"]
    tr = compute("the cat saw the dog", Settings())
    assert explain_cell(tr, 0, 0, "scores", 0, 3).startswith("score[the#0, the#3] = q_the#0 · k_the#3 = ")


def test_long_sums_are_elided_in_the_middle():
    terms = [f"t{i}" for i in range(64)]
    text = join_terms(terms)
    assert text.startswith("t0 + t1 + t2 + t3 + … 56 more terms … + t60")
    assert text.endswith("t63")
    tr = compute(SENTENCE, Settings(d_model=64))
    assert "… 56 more terms …" in explain_cell(tr, 0, 0, "scores", 1, 2)


def test_token_view_matches_trace_and_loop():
    settings = Settings(mask="causal", temperature=0.8)
    tr = compute(SENTENCE, settings)
    h = tr.head()
    i = 7
    tv = token_view(tr, 0, 0, i)
    assert tv.query == "it" and tv.keys[0] == "The#0" and tv.keys[4] == "the#4"
    np.testing.assert_array_equal(tv.q, np.asarray(h.q)[i])
    np.testing.assert_array_equal(tv.k, np.asarray(h.k))
    np.testing.assert_array_equal(tv.dots, np.asarray(h.scores)[i])
    np.testing.assert_array_equal(tv.scaled, np.asarray(h.scaled)[i])
    np.testing.assert_array_equal(tv.masked, np.arange(tr.n) > i)
    np.testing.assert_array_equal(tv.weights, np.asarray(h.weights)[i])
    np.testing.assert_array_equal(tv.output, np.asarray(h.output)[i])
    # Independent loop: dot products, exp, normalisation, weighted sum of v rows.
    q, k, v = (np.asarray(m) for m in (h.q, h.k, h.v))
    dots = [sum(q[i, d] * k[j, d] for d in range(4)) for j in range(tr.n)]
    np.testing.assert_allclose(tv.dots, dots, rtol=1e-12)
    exps = [math.exp(dots[j] / 2 / 0.8) if j <= i else 0.0 for j in range(tr.n)]
    np.testing.assert_allclose(tv.exp, exps, rtol=1e-12)
    np.testing.assert_allclose(tv.weights, np.array(exps) / sum(exps), rtol=1e-12)
    z = [sum(tv.weights[j] * v[j, c] for j in range(tr.n)) for c in range(4)]
    np.testing.assert_allclose(tv.contributions.sum(axis=0), tv.output, atol=1e-12)
    np.testing.assert_allclose(tv.output, z, atol=1e-12)


def test_bad_requests_name_the_problem():
    tr = compute("a b", Settings())
    with pytest.raises(ValueError, match="must be one of"):
        explain_cell(tr, 0, 0, "nope", 0, 0)
    with pytest.raises(ValueError, match="positional encoding is off"):
        explain_cell(tr, 0, 0, "positions", 0, 0)
    with pytest.raises(ValueError, match="outside"):
        explain_cell(tr, 0, 0, "scores", 0, 5)
    with pytest.raises(ValueError, match="layer 3"):
        explain_cell(tr, 3, 0, "scores", 0, 0)
    with pytest.raises(ValueError, match="row 9"):
        token_view(tr, 0, 0, 9)


class DeviceArray:
    """A stand-in for a CuPy array: indexable, but never silently converted to NumPy."""

    def __init__(self, data):
        self._data = np.asarray(data)
        self.shape = self._data.shape

    def __getitem__(self, key):
        return DeviceArray(self._data[key])

    def __array__(self, *args, **kwargs):
        raise TypeError("implicit conversion to a NumPy array is not allowed (as in CuPy)")


class FakeCupy:
    copied = 0  # elements copied to the host so far

    @classmethod
    def asnumpy(cls, a):
        cls.copied += a._data.size
        return a._data.copy()


def on_fake_device(tr):
    from dataclasses import fields, replace

    from attnstudio.core.backends import Backend
    from attnstudio.core.trace import HeadTrace

    def wrap(obj, names):
        return replace(obj, **{n: DeviceArray(getattr(obj, n)) for n in names if getattr(obj, n) is not None})

    head_fields = [f.name for f in fields(HeadTrace) if f.name not in ("nonfinite_weights", "direct")]
    layer_fields = ("input", "concat", "output", "residual")
    layers = tuple(
        replace(wrap(lt, layer_fields), heads=tuple(wrap(h, head_fields) for h in lt.heads)) for lt in tr.layers
    )
    backend = Backend("cupy", FakeCupy, "cupy", None, "fake GPU")
    return replace(wrap(tr, ("embeddings", "positions", "x")), layers=layers, backend=backend)


def test_device_traces_copy_only_what_a_formula_uses():
    settings = Settings(d_model=8, heads=2, layers=2, mask="causal", positional=True)
    tr = compute(["w"] * 3 + [f"t{i}" for i in range(61)], settings)
    dev = on_fake_device(tr)
    n, dk = tr.n, settings.d_k
    for name in MATRIX_NAMES:
        FakeCupy.copied = 0
        assert explain_cell(dev, 1, 1, name, 40, 3) == explain_cell(tr, 1, 1, name, 40, 3)
        # At most a few rows and columns cross, never whole N × N matrices.
        assert FakeCupy.copied <= 4 * n + 4 * settings.d_model, (name, FakeCupy.copied)
    a, b = token_view(dev, 1, 0, 40), token_view(tr, 1, 0, 40)
    for name in ("q", "k", "dots", "scaled", "masked", "exp", "weights", "v", "contributions", "output"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert n * dk * 2 < n * n  # so the bound above really excludes an N × N copy


def huge_wq_weights(settings: Settings) -> Weights:
    """The seeded weights with one W_Q cell at 999999 (the editor's largest value)."""
    from dataclasses import replace

    w = Weights.seeded(settings)
    head = w.layers[0].heads[0]
    wq = np.array(head.w_q, copy=True)
    wq[0, 0] = 999999.0
    layer = replace(w.layers[0], heads=(replace(head, w_q=wq), *w.layers[0].heads[1:]))
    return replace(w, layers=(layer, *w.layers[1:]))


NEGATIVE_ZERO = re.compile(r"[−-]0(?:\.0*)?(?![\d.e])")  # "−0.00", "−0", not "−0.009"

CALCULATOR_CONFIGS = [
    *CONFIGS,
    Settings(temperature=0.1, mask="causal"),
    Settings(normalizer="entmax15", mask="causal", temperature=0.5),
    Settings(normalizer="sparsemax", temperature=3.0, positional=True, d_model=8, heads=2),
    Settings(positional=True, layers=2, d_model=6, heads=2),
]


@pytest.mark.parametrize("settings", CALCULATOR_CONFIGS, ids=lambda s: f"{s.normalizer}-{s.mask}-T{s.temperature}")
def test_a_calculator_reproduces_every_step_of_every_hover(settings):
    """Finding 8: each "=" between numbers holds when redone from the shown numbers ("0.10 /
    0.10 = 0.99" and "max(0.80 − 0.045, 0) = 0.79" did not); where rounded terms cannot
    give the shown result the text says "≈"."""
    tr = compute(SENTENCE + " today", settings)
    approx = total = 0
    for layer in range(settings.layers):
        for head in range(settings.heads):
            for name in MATRIX_NAMES:
                if name == "positions" and tr.positions is None:
                    continue
                rows, cols = np.asarray(tr.matrix(name, layer, head)).shape
                for i in range(rows):
                    for j in range(cols):
                        text = explain_cell(tr, layer, head, name, i, j)
                        assert wrong_steps(text) == [], text
                        assert not NEGATIVE_ZERO.search(text), text
                        total += 1
                        approx += " ≈ " in text
    assert approx < total / 4  # "≈" is the exception: enough digits are tried first


def test_a_calculator_reproduces_hovers_of_huge_and_overflowing_values():
    settings = Settings(mask="causal")
    tr = compute(SENTENCE, settings, huge_wq_weights(settings))
    for name in ("q", "scores", "scaled", "masked", "weights", "output"):
        for i in range(tr.n):
            for j in range(np.asarray(tr.matrix(name, 0, 0)).shape[1]):
                text = explain_cell(tr, 0, 0, name, i, j, weights=huge_wq_weights(settings))
                assert wrong_steps(text) == [], text
    naive = Settings(normalizer="naive-softmax")
    tr = compute(SENTENCE, naive, huge_wq_weights(naive))
    for i in range(tr.n):
        for j in range(tr.n):
            assert wrong_steps(explain_cell(tr, 0, 0, "weights", i, j)) == []


def test_the_calculator_catches_what_the_finding_saw():
    """The checker itself: the lines of the finding fail it, their honest forms pass."""
    assert wrong_steps("weight[a, b] = 0.10 / 0.10 = 0.99") != []
    assert wrong_steps("weight[a, b] = 0.105 / 0.106 = 0.99") == []
    assert wrong_steps("weight[a, b] = max(0.80 − 0.045, 0) = 0.79") != []
    assert wrong_steps("weight[a, b] = max(0.835 − 0.045, 0) = 0.79; τ = 0.045 is …") == []
    assert wrong_steps("z = 0.1×0.5 + 0.2×0.5 ≈ 0.16") == []  # "≈" claims no equality
    assert wrong_steps("score[a, b] = q_a · k_b = 1×0.5 + 0×0.2 = 0.60") != []


def test_operands_keep_three_significant_digits():
    """Finding 8: operands were written to two or three decimals ("0.0123" as "0.012", an
    exponential 0.1049 as "0.10"), too few for a calculator to get the shown result."""
    q = np.zeros((2, 4))
    q[0] = [0.0123456, 1.23456, -0.00098765, 0.5]
    k = np.zeros((2, 4))
    k[:, 0] = [0.104873, -2.5]
    tr = compute(["a", "b"], Settings(scale=False, temperature=0.5), direct={(0, 0, "q"): q, (0, 0, "k"): k})
    assert explain_cell(tr, 0, 0, "scores", 0, 0).startswith(
        "score[a, a] = q_a · k_a = 0.0123×0.105 + 1.23×0 + (−0.000988)×0 + 0.5×0 = ")
    text = explain_cell(tr, 0, 0, "weights", 0, 1)
    # s = 0.0123×(−2.5) to three digits; exp(0.0026) is 1.00, not an exact "1"
    assert "exp(−0.0309/0.5)" in text and "/ (1.00 + 0.940)" in text
    assert wrong_steps(text) == []
