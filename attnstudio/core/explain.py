"""The arithmetic behind one cell, and one query token's whole view, from a Trace's numbers.

Matrices are named as the window names them (core.trace.MATRIX_NAMES: "input" is the
layer's input X_ℓ, "x" the first layer's, "heads" is concat·W_O). Names in the text follow
what the window shows: token positions count from 0 as the token
strip numbers them ("the#4"), feature columns from 1 as the heatmaps and editors label them
("q[it, 2]" is column index 1), heads and layers from 1.

Every value written as a result is read from the trace, never recomputed; the only
arithmetic done here is the per-term arithmetic a formula displays (the products of a dot
product, the exponentials of a softmax row). Tests check that those terms add up to the
trace's cell.

What a student checks with a calculator holds too: operands have three significant digits
(numbers.format_sig), more where a short formula needs them (``_enough``), and each "="
between numbers holds at the digits shown; where rounded terms of a long sum do not add up
to the shown result, the text says "≈" instead (numbers.reads_as decides).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from attnstudio.core.normalizers import EXP_OVERFLOW, SUM_OVERFLOW, UNDERFLOW, naive_softmax_failure
from attnstudio.core.numbers import (
    SIG,
    format_operand,
    format_result,
    format_sig,
    format_weight_result,
    parse_shown,
    reads_as,
)
from attnstudio.core.settings import Settings
from attnstudio.core.trace import MATRIX_NAMES, HeadTrace, Trace
from attnstudio.core.weights import Weights

MAX_TERMS = 8  # longer sums show their first and last terms around "… n more terms …"
# Below this |s/T| a softmax row is shown with plain exp(s/T): readable and exact enough
# (exp(20) ≈ 4.9e8); above it, the max-shifted form the pipeline itself uses.
PLAIN_EXP_LIMIT = 20.0


# --- labels ---------------------------------------------------------------------------------


def token_labels(tokens: Sequence[str]) -> list[str]:
    """Labels that tell tokens apart: a token whose text (ignoring case) repeats gets its
    position, "the#4"; a unique one is itself."""
    counts: dict[str, int] = {}
    for t in tokens:
        counts[t.casefold()] = counts.get(t.casefold(), 0) + 1
    return [f"{t}#{i}" if counts[t.casefold()] > 1 else t for i, t in enumerate(tokens)]


def join_terms(terms: Sequence[str], max_terms: int = MAX_TERMS) -> str:
    """"a + b + c", or with more than ``max_terms`` terms "a + b + … 56 more terms … + y + z"."""
    if len(terms) <= max_terms:
        return " + ".join(terms)
    head, tail = max_terms // 2, max_terms // 2
    hidden = len(terms) - head - tail
    return " + ".join([*terms[:head], f"… {hidden} more terms …", *terms[len(terms) - tail :]])


def _products(a: np.ndarray, b: np.ndarray) -> tuple[list[str], np.ndarray, float]:
    """The terms "a_j×b_j" of a dot product, their values, and what a calculator gets by
    adding up the shown products."""
    values = a * b
    ta, tb = [format_operand(x) for x in a], [format_operand(y) for y in b]
    shown = math.fsum(parse_shown(x) * parse_shown(y) for x, y in zip(ta, tb))
    return [f"{x}×{y}" for x, y in zip(ta, tb)], values, shown


def _eq(calc: float, shown: str) -> str:
    """" = " where a calculator working from the shown operands (``calc``) gets the written
    result ``shown`` at its digits, " ≈ " where rounding the operands makes the two differ."""
    return " = " if reads_as(calc, shown) else " ≈ "


def _float_sum(values: Any) -> float:
    """The exact sum of ``values`` (math.fsum), or ±∞ where it overflows as float arithmetic
    does: the textbook softmax's finite exponentials can add up past 1.8e308."""
    values = list(values)
    try:
        return math.fsum(values)
    except OverflowError:
        with np.errstate(over="ignore"):
            return float(np.sum(np.array(values, dtype=np.float64)))


def _sum_eq(terms: Sequence[str], calc: float, shown: str) -> str:
    """_eq for a sum of ``terms``; "=" when the sum is elided (no calculator can redo it)."""
    return " = " if len(terms) > MAX_TERMS else _eq(calc, shown)


def _enough(texts: Callable[[int], tuple[str, ...]], calc: Callable[[tuple[float, ...]], float],
            result: str) -> tuple[str, ...]:
    """The operands of a short formula written with SIG significant digits, or more (up to
    SIG + 4) where a calculator would otherwise not get ``result`` from them."""
    for sig in range(SIG, SIG + 5):
        shown = texts(sig)
        try:
            value = calc(tuple(parse_shown(t) for t in shown))
        except (ArithmeticError, ValueError):
            break
        if reads_as(value, result):
            return shown
    return texts(SIG)


# --- one cell ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellArithmetic:
    """A cell's explanation: the ``text`` shown, the trace's ``value``, the numbers the
    formula combines (``terms``: products of a dot product, exponentials of a softmax row …)
    and ``from_terms``, what the displayed formula gives from those terms (None when the cell
    is a copy, e.g. masked or concat). Tests check ``from_terms`` against ``value``."""

    text: str
    value: float
    terms: np.ndarray
    from_terms: float | None


@dataclass(frozen=True)
class _Cell:
    tr: Trace
    layer: int
    head: int
    h: HeadTrace
    labels: list[str]
    i: int
    j: int
    weights: Weights | None

    def at(self, a: Any, i: int | None = None, j: int | None = None) -> float:
        """One value of a trace matrix (row i, col j; the cell's own by default)."""
        return float(self.host(a[self.i if i is None else i, self.j if j is None else j]))

    def row(self, a: Any, i: int | None = None) -> np.ndarray:
        """Row i of a trace matrix on the host, as float64."""
        return self.host(a[self.i if i is None else i])

    def col(self, a: Any, j: int) -> np.ndarray:
        return self.host(a[:, j])

    def host(self, a: Any) -> np.ndarray:
        # Only the entries a formula uses cross from the GPU: trace.host() would copy every
        # stage of every head on each hover.
        return np.asarray(self.tr.backend.asnumpy(a), dtype=np.float64)


_NONE = np.zeros(0)


def explain_cell(
    trace: Trace,
    layer: int,
    head: int,
    name: str,
    row: int,
    col: int,
    *,
    weights: Weights | None = None,
) -> str:
    """One line with the arithmetic of cell (row, col) of matrix ``name``, using the trace's numbers.

    ``name`` is one of core.trace.MATRIX_NAMES, as the window shows it ("input", "q", …,
    "heads", "x"); ``layer`` and ``head`` pick the matrix as Trace.matrix does, and must
    exist even for a per-trace matrix. ``weights`` (the W_Q, W_K, W_V, W_O the trace was
    computed with) let q/k/v and heads cells show their terms; without them the seeded
    matrices are used when they reproduce the trace's value, and otherwise only the formula
    and the value are shown. Raises ValueError for an unknown name, a matrix the trace does
    not have (positions while they are off) or a cell outside the matrix.
    """
    return cell_arithmetic(trace, layer, head, name, row, col, weights=weights).text


def cell_arithmetic(
    trace: Trace,
    layer: int,
    head: int,
    name: str,
    row: int,
    col: int,
    *,
    weights: Weights | None = None,
) -> CellArithmetic:
    """explain_cell's text together with the numbers behind it (see CellArithmetic)."""
    if name not in MATRIX_NAMES:
        raise ValueError(f"the matrix must be one of {', '.join(MATRIX_NAMES)}, not {name!r}")
    tr = trace
    if not 0 <= layer < len(tr.layers):
        raise ValueError(f"layer {layer} does not exist (the trace has {len(tr.layers)})")
    lt = tr.layers[layer]
    if not 0 <= head < len(lt.heads):
        raise ValueError(f"head {head} does not exist (layer {layer + 1} has {len(lt.heads)})")
    matrix = tr.matrix(name, layer, head)
    if matrix is None:
        raise ValueError(f"this trace has no {name} matrix (the positional encoding is off)")
    rows, cols = matrix.shape
    if not (0 <= row < rows and 0 <= col < cols):
        raise ValueError(f"cell ({row}, {col}) is outside the {name} matrix ({rows} × {cols})")
    cell = _Cell(tr, layer, head, lt.heads[head], token_labels(tr.tokens), row, col, weights)
    if tr.model is not None and name in _MODEL_BUILDERS:
        return _MODEL_BUILDERS[name](cell)
    return _BUILDERS[name](cell)


# --- a real model's matrices that differ from the toy pipeline's (docs/architecture.md, "Real
# models"): the formula it computed and the value; the model's tensors are not in the trace,
# so no terms are shown.


def _model_value(cell: _Cell, matrix: Any, formula: str, note: str = "") -> CellArithmetic:
    value = cell.at(matrix)
    return CellArithmetic(f"{formula} = {format_result(value)}{note}", value, _NONE, None)


def _model_input(cell: _Cell) -> CellArithmetic:
    lab, c = cell.labels[cell.i], cell.j + 1
    if cell.layer == 0:
        return _model_value(cell, cell.tr.x, f"x[{lab}, {c}] = LayerNorm(e_{lab} + p_{cell.i})[{c}]",
                            f" (normalized over the row's {cell.tr.settings.d_model} numbers, then ·γ + β)")
    return _model_value(cell, cell.tr.layers[cell.layer].input, f"x[{lab}, {c}] = LayerNorm₂(h + FFN(h))[{lab}, {c}]",
                        f" (layer {cell.layer}'s output: add & norm after its feed-forward network)")


def _model_projection(cell: _Cell, which: str) -> CellArithmetic:
    W, lab, c = which.upper(), cell.labels[cell.i], cell.j + 1
    return _model_value(cell, cell.h.stage(which), f"{which}[{lab}, {c}] = x_{lab} · W_{W}[:, {c}] + b_{W}[{c}]")


_MODEL_BUILDERS: dict[str, Callable[[_Cell], CellArithmetic]] = {
    "embeddings": lambda cell: _model_value(
        cell, cell.tr.embeddings, f"e_{cell.labels[cell.i]}[{cell.j + 1}]",
        " (the token's word embedding plus its token-type embedding)"),
    "positions": lambda cell: _model_value(
        cell, cell.tr.positions, f"p_{cell.i}[{cell.j + 1}]", " (the learned embedding of position "
        f"{cell.i})"),
    "x": lambda cell: _model_input(replace(cell, layer=0)),
    "input": _model_input,
    "q": functools.partial(_model_projection, which="q"),
    "k": functools.partial(_model_projection, which="k"),
    "v": functools.partial(_model_projection, which="v"),
    "heads": lambda cell: _model_value(
        cell, cell.tr.layers[cell.layer].output,
        f"out[{cell.labels[cell.i]}, {cell.j + 1}] = concat_{cell.labels[cell.i]} · W_O[:, {cell.j + 1}] "
        f"+ b_O[{cell.j + 1}]"),
}


def _input(cell: _Cell) -> CellArithmetic:
    """x[i, c] of the layer's input: E + P for the first layer, the residual after it."""
    tr, i, c, lab = cell.tr, cell.i, cell.j + 1, cell.labels[cell.i]
    x = cell.at(tr.layers[cell.layer].input)
    name = f"x[{lab}, {c}]"
    if cell.layer > 0:
        prev = tr.layers[cell.layer - 1]
        mha = cell.at(prev.output)
        if tr.settings.residual:
            before = cell.at(prev.input)
            res = format_result(x)
            a, b = _enough(lambda n: (format_operand(before, n), format_operand(mha, n)), sum, res)
            text = (f"{name} = x_prev[{lab}, {c}] + MHA_prev[{lab}, {c}] = {a} + {b}"
                    f"{_eq(parse_shown(a) + parse_shown(b), res)}{res} "
                    f"(layer {cell.layer} output plus its input: the residual)")
            return CellArithmetic(text, x, np.array([before, mha]), before + mha)
        text = f"{name} = MHA_prev[{lab}, {c}] = {format_result(x)} (layer {cell.layer} output, no residual)"
        return CellArithmetic(text, x, np.array([mha]), mha)
    e = cell.at(tr.embeddings)
    if tr.positions is not None:
        p = cell.at(tr.positions)
        res = format_result(x)
        a, b = _enough(lambda n: (format_operand(e, n), format_operand(p, n)), sum, res)
        text = f"{name} = e_{lab}[{c}] + p_{i}[{c}] = {a} + {b}{_eq(parse_shown(a) + parse_shown(b), res)}{res}"
        return CellArithmetic(text, x, np.array([e, p]), e + p)
    text = f"{name} = e_{lab}[{c}] = {format_result(x)} (the token's embedding; positional encoding off)"
    return CellArithmetic(text, x, np.array([e]), e)


def _x(cell: _Cell) -> CellArithmetic:
    """x = E + P, the first layer's input, whichever layer is on view."""
    return _input(replace(cell, layer=0))


def _embedding(cell: _Cell) -> CellArithmetic:
    value = cell.at(cell.tr.embeddings)
    text = f"e_{cell.labels[cell.i]}[{cell.j + 1}] = {format_result(value)} (the token's embedding vector)"
    return CellArithmetic(text, value, _NONE, None)


def _position(cell: _Cell) -> CellArithmetic:
    """P[pos, 2k] = sin(pos / 10000^(2k/d)), P[pos, 2k+1] = cos(the same angle)."""
    i, j, d = cell.i, cell.j, cell.tr.settings.d_model
    value = cell.at(cell.tr.positions)
    angle = i / 10000.0 ** (2 * (j // 2) / d)
    fn = "sin" if j % 2 == 0 else "cos"
    f = math.sin if fn == "sin" else math.cos
    res = format_result(value)
    (a,) = _enough(lambda n: (format_sig(angle, n),), lambda v: f(v[0]), res)
    text = (f"p_{i}[{j + 1}] = {fn}({i} / 10000^({2 * (j // 2)}/{d})) = {fn}({a})"
            f"{_eq(f(parse_shown(a)), res)}{res}")
    return CellArithmetic(text, value, np.array([angle]), math.sin(angle) if fn == "sin" else math.cos(angle))


def _projection(cell: _Cell, which: str) -> CellArithmetic:
    value = cell.at(cell.h.stage(which))
    W = f"W_{which.upper()}"
    lab = cell.labels[cell.i]
    name = f"{which}[{lab}, {cell.j + 1}]"
    if which in cell.h.direct:
        text = f"{name} = {format_result(value)} (given directly, not computed as X·{W})"
        return CellArithmetic(text, value, _NONE, None)
    formula = f"{name} = x_{lab} · {W}[:, {cell.j + 1}]"
    w = _weight_matrix(cell, cell.head, f"w_{which}")
    if w is not None:
        x = cell.row(cell.tr.layers[cell.layer].input)
        terms, vals, shown = _products(x, w[:, cell.j])
        if _agrees(vals.sum(), value):
            res = format_result(value)
            text = f"{formula} = {join_terms(terms)}{_sum_eq(terms, shown, res)}{res}"
            return CellArithmetic(text, value, vals, float(vals.sum()))
    return CellArithmetic(f"{formula} = {format_result(value)}", value, _NONE, None)


def _scores(cell: _Cell) -> CellArithmetic:
    h, i, j = cell.h, cell.i, cell.j
    terms, vals, shown = _products(cell.row(h.q, i), cell.row(h.k, j))
    value = cell.at(h.scores)
    qi, kj = cell.labels[i], cell.labels[j]
    res = format_result(value)
    text = f"score[{qi}, {kj}] = q_{qi} · k_{kj} = {join_terms(terms)}{_sum_eq(terms, shown, res)}{res}"
    return CellArithmetic(text, value, vals, float(vals.sum()))


def _scaled(cell: _Cell) -> CellArithmetic:
    s, value = cell.at(cell.h.scores), cell.at(cell.h.scaled)
    name = f"scaled[{cell.labels[cell.i]}, {cell.labels[cell.j]}]"
    if not cell.tr.settings.scale:
        return CellArithmetic(f"{name} = score = {format_result(value)} (scaling by √d_k is switched off)",
                              value, np.array([s]), s)
    dk = cell.h.q.shape[1]
    res = format_result(value)
    (a,) = _enough(lambda n: (format_sig(s, n),), lambda v: v[0] / math.sqrt(dk), res)
    text = f"{name} = {a} / √{dk}{_eq(parse_shown(a) / math.sqrt(dk), res)}{res}"
    return CellArithmetic(text, value, np.array([s]), s / math.sqrt(dk))


def _masked(cell: _Cell) -> CellArithmetic:
    value, before = cell.at(cell.h.masked), cell.at(cell.h.scaled)
    qi, kj = cell.labels[cell.i], cell.labels[cell.j]
    name = f"masked[{qi}, {kj}]"
    mask = cell.tr.settings.mask
    hidden = math.isinf(value) and value < 0
    if mask == "none":
        text = f"{name} = scaled = {format_result(value)} (no mask: every token sees every token)"
    elif hidden:
        why = {"causal": "causal: a token cannot attend to a later one",
               "padding": f"padding: {kj} is a padding token, so no query attends to it",
               "custom": "custom mask: this cell is masked"}[mask]
        return CellArithmetic(f"{name} = −∞ ({why})", value, _NONE, -math.inf)
    elif mask == "causal":
        text = f"{name} = scaled = {format_result(value)} (causal: {kj} is not after {qi}, so it stays)"
    elif mask == "padding":
        own = (f"; {qi} is padding itself: its row is computed, and a model ignores it"
               if cell.i in cell.tr.padding else "")
        text = f"{name} = scaled = {format_result(value)} (padding mask: {kj} is not padding, so it stays{own})"
    else:
        text = f"{name} = scaled = {format_result(value)} (custom mask: this cell is not masked)"
    return CellArithmetic(text, value, np.array([before]), before)


def _weights(cell: _Cell) -> CellArithmetic:
    st = cell.tr.settings
    value = cell.at(cell.h.weights)
    s_row = cell.row(cell.h.masked)
    j = cell.j
    name = f"weight[{cell.labels[cell.i]}, {cell.labels[j]}]"
    T = st.temperature
    over_t = "" if T == 1 else f"/{format_operand(T)}"
    if np.isneginf(s_row).all():  # every key masked: nothing to normalise over
        text = f"{name} = {format_weight_result(value)} (every key of this row is masked: nothing to attend to)"
        return CellArithmetic(text, value, _NONE, 0.0)
    if st.normalizer in ("sparsemax", "entmax15"):
        return _sparse_weight(name, st, s_row, cell.row(cell.h.weights), j, value)
    if math.isinf(s_row[j]) and s_row[j] < 0:
        text = f"{name} = exp(−∞) / Σ_j … = {format_weight_result(value)} (masked: this key gets no weight)"
        return CellArithmetic(text, value, _NONE, 0.0)
    ex, shift = softmax_terms(s_row, T, st.normalizer)
    kept = [k for k, s in enumerate(s_row) if not (math.isinf(s) and s < 0)]
    if not kept:  # every key masked: nothing to normalise over
        text = f"{name} = {format_weight_result(value)} (every key of this row is masked)"
        return CellArithmetic(text, value, _NONE, None)
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(ex)
        ratio = float(ex[j] / total)
    # The exponentials and their sum with enough digits that the shown ones add up to the
    # shown sum (1 + 1.82 + 1.35 + 3 is 7.17, the sum 7.176 shows as 7.18: four digits then).
    sig = SIG
    for n in range(SIG, SIG + 3):
        if len(kept) > MAX_TERMS or reads_as(_float_sum(parse_shown(format_sig(ex[k], n)) for k in kept),
                                              format_sig(total, n)):
            sig = n
            break
    e_j, t_text, total_text = format_sig(ex[j], sig), format_operand(T), format_sig(total, sig)
    denominator = [format_sig(ex[k], sig) for k in kept]

    def exp_of(v: tuple[float, ...]) -> float:  # exp(s_j) from s_j as shown, ∞ where it overflows
        with np.errstate(over="ignore"):
            return float(np.exp((v[0] - v[1]) / parse_shown(t_text)))

    s_j, m = _enough(lambda n: (format_sig(s_row[j], n), format_operand(shift, n)), exp_of, e_j)
    arg = f"{s_j}{over_t}" if shift == 0 else f"({s_j} − {m}){over_t}"
    ratio_shown = _safe_ratio(parse_shown(e_j), parse_shown(total_text if len(kept) > 1 else e_j))
    res = format_weight_result(value)
    exp_s = "(s_j − max)" if shift else "s_j"
    text = f"{name} = exp({arg}) / Σ_j exp({exp_s}{over_t}) = {e_j} / "
    if len(kept) > 1:
        adds = _float_sum(parse_shown(t) for t in denominator)
        text += f"({join_terms(denominator)}){_sum_eq(denominator, adds, total_text)}{e_j} / {total_text}"
    else:
        text += e_j
    text += f"{_eq(ratio_shown, res)}{res}"
    if st.normalizer == "naive-softmax":
        failure = naive_softmax_failure(s_row / T)
        if failure == EXP_OVERFLOW and math.isinf(ex[j]):
            text += (" — exp overflowed to ∞ (exp(x) is ∞ above x ≈ 709.78), then ∞/∞ = NaN;"
                     " stable softmax subtracts the row max first")
        elif failure == EXP_OVERFLOW:
            text += (" — another exp of this row overflowed to ∞ (exp(x) is ∞ above x ≈ 709.78), so the"
                     " sum is ∞ and this weight is x/∞ = 0; stable softmax subtracts the row max first")
        elif failure == SUM_OVERFLOW:
            text += (" — every exp is finite but their sum overflowed to ∞, so every weight of this row"
                     " became x/∞ = 0 and the row sums to 0; stable softmax subtracts the row max first")
        elif failure == UNDERFLOW:
            text += (" — every exp underflowed to 0 (below e^−745), then 0/0 = NaN;"
                     " stable softmax subtracts the row max first, so the largest exp is 1")
    elif shift == 0:
        text += " (the app subtracts the row max first: the same ratio, never an overflow)"
    else:
        text += f" (shifted by the row max {format_sig(shift)} so exp never overflows; the ratio is unchanged)"
    return CellArithmetic(text, value, ex, ratio)


def _safe_ratio(a: float, b: float) -> float:
    """a / b as float arithmetic gives it (∞/∞ = NaN, x/∞ = 0), without raising."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return float(np.float64(a) / np.float64(b))


def softmax_terms(s_row: np.ndarray, T: float, normalizer: str = "softmax") -> tuple[np.ndarray, float]:
    """The exponentials a softmax row displays, and the shift m they use: exp((s_j − m)/T).

    m = 0 (plain exp(s_j/T)) for naive-softmax, and for softmax while every |s_j/T| is at
    most PLAIN_EXP_LIMIT; otherwise m = max_j s_j, as the pipeline computes it. Masked
    (−∞) entries give 0.
    """
    finite = s_row[np.isfinite(s_row)]
    big = finite.size and float(np.max(np.abs(finite))) / T > PLAIN_EXP_LIMIT
    shift = float(np.max(s_row)) if normalizer != "naive-softmax" and big else 0.0
    if not math.isfinite(shift):
        shift = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp((s_row - shift) / T), shift


def sparse_threshold(s_row: np.ndarray, w_row: np.ndarray, T: float, normalizer: str) -> float:
    """τ of a sparsemax / entmax-1.5 row, read back from its weights on the support (w > 0).

    sparsemax: w_j = max(s_j/T − τ, 0), so τ = s_j/T − w_j; entmax-1.5: w_j = max(s_j/(2T) − τ, 0)²,
    so τ = s_j/(2T) − √w_j. The mean over the support damps rounding.
    """
    support = (w_row > 0) & np.isfinite(s_row)
    z = s_row[support] / T
    if normalizer == "sparsemax":
        return float(np.mean(z - w_row[support]))
    return float(np.mean(z / 2 - np.sqrt(w_row[support])))


def _sparse_weight(name: str, st: Settings, s_row: np.ndarray, w_row: np.ndarray, j: int,
                   value: float) -> CellArithmetic:
    T = st.temperature
    over_t = "" if T == 1 else f"/{format_operand(T)}"
    if math.isinf(s_row[j]) and s_row[j] < 0:
        text = f"{name} = {format_weight_result(value)} (masked: this key gets no weight)"
        return CellArithmetic(text, value, _NONE, 0.0)
    if not np.isfinite(w_row).all() or not (w_row > 0).any():
        return CellArithmetic(f"{name} = {format_weight_result(value)}", value, _NONE, None)
    tau = sparse_threshold(s_row, w_row, T, st.normalizer)
    res = format_weight_result(value)
    if st.normalizer == "sparsemax":
        inner = s_row[j] / T - tau
        result = max(inner, 0.0)
        t_div = parse_shown(format_operand(T))

        def sparse(v: tuple[float, ...]) -> float:
            return max(v[0] / t_div - v[1], 0.0)

        s_j, tau_t = _enough(lambda n: (format_sig(s_row[j], n), format_operand(tau, n)), sparse, res)
        calc = sparse((parse_shown(s_j), parse_shown(tau_t)))
        text = f"{name} = max(s{over_t} − τ, 0) = max({s_j}{over_t} − {tau_t}, 0){_eq(calc, res)}{res}"
    else:
        inner = s_row[j] / (2 * T) - tau
        result = max(inner, 0.0) ** 2
        two_t = format_operand(2 * T)
        # Two steps a calculator can check: the bracket, then its square.
        (base,) = _enough(lambda n: (format_sig(max(inner, 0.0), n),), lambda v: v[0] ** 2, res)
        t2 = parse_shown(two_t)

        def bracket(v: tuple[float, ...]) -> float:
            return max(v[0] / t2 - v[1], 0.0)

        s_j, tau_t = _enough(lambda n: (format_sig(s_row[j], n), format_operand(tau, n)), bracket, base)
        calc = bracket((parse_shown(s_j), parse_shown(tau_t)))
        text = (f"{name} = max(s/{two_t} − τ, 0)² = max({s_j}/{two_t} − {tau_t}, 0)²{_eq(calc, base)}{base}²"
                f"{_eq(parse_shown(base) ** 2, res)}{res}")
    text += f"; τ = {format_sig(tau)} is the threshold that makes the row sum to 1"
    if inner <= 0:
        text += " — exactly 0: this key's score is below τ"
    return CellArithmetic(text, value, np.array([s_row[j], tau]), result)


def _output(cell: _Cell) -> CellArithmetic:
    i, c = cell.i, cell.j
    a = cell.row(cell.h.weights)
    v = cell.col(cell.h.v, c)
    value = cell.at(cell.h.output)
    keep = [j for j in range(len(a)) if a[j] != 0]
    terms, vals, shown = _products(a[keep], v[keep])
    dropped = len(a) - len(keep)
    note = f" ({dropped} keys with weight 0 left out)" if dropped else ""
    body = join_terms(terms) if terms else "0"
    res = format_result(value)
    text = f"z[{cell.labels[i]}, {c + 1}] = Σ_j a_j v_j[{c + 1}] = {body}{_sum_eq(terms, shown, res)}{res}{note}"
    return CellArithmetic(text, value, vals, float(vals.sum()))


def _concat(cell: _Cell) -> CellArithmetic:
    dk = cell.tr.settings.d_k
    src, col = divmod(cell.j, dk)
    value = cell.at(cell.tr.layers[cell.layer].concat)
    lab = cell.labels[cell.i]
    text = (f"concat[{lab}, {cell.j + 1}] = z_head{src + 1}[{lab}, {col + 1}] = {format_result(value)} "
            f"(columns {src * dk + 1}–{src * dk + dk} come from head {src + 1})")
    z = cell.at(cell.tr.layers[cell.layer].heads[src].output, j=col)
    return CellArithmetic(text, value, np.array([z]), z)


def _heads(cell: _Cell) -> CellArithmetic:
    lt = cell.tr.layers[cell.layer]
    value = cell.at(lt.output)
    lab = cell.labels[cell.i]
    formula = f"out[{lab}, {cell.j + 1}] = concat_{lab} · W_O[:, {cell.j + 1}]"
    w_o = _weight_matrix(cell, None, "w_o")
    if w_o is not None:
        terms, vals, shown = _products(cell.row(lt.concat), w_o[:, cell.j])
        if _agrees(vals.sum(), value):
            res = format_result(value)
            text = f"{formula} = {join_terms(terms)}{_sum_eq(terms, shown, res)}{res}"
            return CellArithmetic(text, value, vals, float(vals.sum()))
    return CellArithmetic(f"{formula} = {format_result(value)}", value, _NONE, None)


_BUILDERS: dict[str, Callable[[_Cell], CellArithmetic]] = {
    "embeddings": _embedding,
    "positions": _position,
    "x": _x,
    "input": _input,
    "q": functools.partial(_projection, which="q"),
    "k": functools.partial(_projection, which="k"),
    "v": functools.partial(_projection, which="v"),
    "scores": _scores,
    "scaled": _scaled,
    "masked": _masked,
    "weights": _weights,
    "output": _output,
    "concat": _concat,
    "heads": _heads,
}


def _agrees(total: float, value: float) -> bool:
    """Whether terms from W reproduce the trace's value, i.e. W is the matrix the trace used
    (float32 traces round more, hence the tolerance)."""
    return bool(np.isclose(total, value, rtol=1e-5, atol=1e-6))


@functools.lru_cache(maxsize=4)
def _seeded(settings: Settings) -> Weights:
    return Weights.seeded(settings)


def _weight_matrix(cell: _Cell, head: int | None, name: str) -> np.ndarray | None:
    """W_Q/W_K/W_V of a head, or W_O (head None): from the given weights, else the seeded ones."""
    try:
        w = cell.weights if cell.weights is not None else _seeded(cell.tr.settings)
        lw = w.layers[cell.layer]
        return np.asarray(lw.w_o if head is None else getattr(lw.heads[head], name), dtype=np.float64)
    except Exception:  # missing or misshapen matrices: show the formula without terms
        return None


# --- a cell of a matrix reduced for display ----------------------------------------------------


def _span(word: str, a: int, b: int) -> str:
    """"rows 6–7" for the half-open range [a, b), "row 6" for one."""
    return f"{word} {a}" if b - a == 1 else f"{word}s {a}–{b - 1}"


def explain_reduced_cell(source: Any, shown: np.ndarray, factor: int, row: int, col: int,
                         name: str = "", to_host: Callable[[Any], np.ndarray] = np.asarray) -> str:
    """What cell (row, col) of ``shown`` (``source`` reduced by core.display.reduce_for_display
    with block side ``factor``) stands for: the block of source cells it pools, how many
    there are and, where some are not finite, which the mean leaves out or why there is none.

    An N × N stage is pooled along both axes, so a cell is a block of rows × columns (token
    positions from 0, as the token strip numbers them); a tall, narrow matrix (Q, K, V …) is
    pooled along its rows only, so a cell is a run of rows of one feature column (from 1,
    as the heatmaps label them). On the masked stage the −∞ cells are the mask. Only the
    block itself is copied to the host (``to_host``), so hovering a matrix on the GPU is cheap.
    """
    rows, cols = source.shape
    r0, r1 = row * factor, min((row + 1) * factor, rows)
    if shown.shape[1] == cols:  # columns kept apart: one feature column
        c0, c1 = col, col + 1
        where = f"{_span('row', r0, r1)} of column {col + 1}"
    else:
        c0, c1 = col * factor, min((col + 1) * factor, cols)
        where = f"{_span('row', r0, r1)} × {_span('column', c0, c1)}"
    block = np.asarray(to_host(source[r0:r1, c0:c1]), dtype=np.float64)
    n = block.size
    cells = f"{n:,} cell{'s' if n != 1 else ''}"
    value = format_result(float(shown[row, col]))
    minus_inf = "−∞ (masked)" if name == "masked" else "−∞"
    lead = "reduced for display: this cell"
    if np.isnan(block).any():
        return f"{lead} stands for {where} ({cells}); a NaN among them makes it NaN"
    if np.isposinf(block).any():
        return f"{lead} stands for {where} ({cells}); a +∞ among them makes it +∞"
    neg = int(np.count_nonzero(np.isneginf(block)))
    if neg == n:
        every = "both are" if n == 2 else f"all {cells} are" if n > 2 else "it is"
        return f"{lead} stands for {where} ({cells}): {every} {minus_inf}, so it is −∞"
    if neg:
        rest = n - neg
        return (f"{lead} is the mean of {where} ({cells}) without the {neg:,} that "
                f"{'is' if neg == 1 else 'are'} {minus_inf}: the mean of the other {rest:,} = {value}")
    return f"{lead} is the mean of {where} ({cells}) = {value}"


# --- one token's view ------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenView:
    """Everything query ``row`` does in one head, one row per key j: the table of "one token's view".

    dots_j = q·k_j (scores), scaled_j, masked_j (True where causal masking hid key j),
    exp_j = exp((s_j − shift)/T) for softmax (None for sparsemax / entmax-1.5),
    weights_j = a_j, contributions_j = a_j·v_j, output = Σ_j a_j v_j (= z of the query).
    ``tau`` is the sparsemax / entmax threshold, None for softmax.
    """

    query: str
    q: np.ndarray
    keys: list[str]
    k: np.ndarray
    dots: np.ndarray
    scaled: np.ndarray
    masked: np.ndarray
    exp: np.ndarray | None
    weights: np.ndarray
    v: np.ndarray
    contributions: np.ndarray
    output: np.ndarray
    normalizer: str
    temperature: float
    shift: float = 0.0
    tau: float | None = None
    row: int = 0
    winner: int | None = None  # the key with the largest weight (row_winner)


def row_winner(weights: np.ndarray, masked: np.ndarray | None = None) -> int | None:
    """The key with the largest weight in one row, or None when there is no one such key:
    several share the largest weight exactly (an even row has no winner), or no key has a
    finite weight above 0 (every key masked, or a row that is not a distribution)."""
    w = np.asarray(weights, dtype=np.float64)[None, :]
    return row_winners(w, None if masked is None else np.asarray(masked, dtype=bool)[None, :])[0]


def row_winners(weights: np.ndarray, masked: np.ndarray | None = None) -> list[int | None]:
    """``row_winner`` of each row of a weights matrix (``masked``: where the mask hid keys)."""
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    # Every row at once: a loop over the rows cost 1 ms of each repaint at 64 tokens.
    ok = np.isfinite(w) & (w > 0)
    if masked is not None and np.shape(masked) == w.shape:
        ok &= ~np.asarray(masked, dtype=bool)
    shown = np.where(ok, w, -np.inf)
    if shown.shape[1] == 0:
        return [None] * shown.shape[0]
    best = np.argmax(shown, axis=1)
    top = shown[np.arange(shown.shape[0]), best]
    alone = np.count_nonzero(shown == top[:, None], axis=1) == 1
    any_ok = np.any(ok, axis=1).tolist()
    return [int(b) if a and has else None for b, a, has in zip(best.tolist(), alone.tolist(), any_ok)]


def token_view(trace: Trace, layer: int, head: int, row: int) -> TokenView:
    """Query ``row``'s view in (layer, head), read from the trace (arrays copied to the host)."""
    tr = trace
    if not 0 <= layer < len(tr.layers) or not 0 <= head < len(tr.layers[layer].heads):
        raise ValueError(f"layer {layer}, head {head} does not exist in this trace")
    h = tr.layers[layer].heads[head]
    n = len(tr.tokens)
    if not 0 <= row < n:
        raise ValueError(f"row {row} is outside the {n} tokens")
    labels = token_labels(tr.tokens)
    st = tr.settings

    def host(a: Any) -> np.ndarray:
        # One row per stage (and k, v whole) crosses from the GPU, not the whole trace.
        return np.array(tr.backend.asnumpy(a), dtype=np.float64, copy=True)

    masked_row = host(h.masked[row])
    w = host(h.weights[row])
    v = host(h.v)
    exp: np.ndarray | None = None
    shift, tau = 0.0, None
    if st.normalizer in ("softmax", "naive-softmax"):
        exp, shift = softmax_terms(masked_row, st.temperature, st.normalizer)
    elif np.isfinite(w).all() and (w > 0).any():
        tau = sparse_threshold(masked_row, w, st.temperature, st.normalizer)
    return TokenView(
        query=labels[row],
        q=host(h.q[row]),
        keys=labels,
        k=host(h.k),
        dots=host(h.scores[row]),
        scaled=host(h.scaled[row]),
        masked=np.isneginf(masked_row),
        exp=exp,
        weights=w,
        v=v,
        contributions=w[:, None] * v,
        output=host(h.output[row]),
        normalizer=st.normalizer,
        temperature=float(st.temperature),
        shift=shift,
        tau=tau,
        row=row,
        winner=row_winner(w, np.isneginf(masked_row)),
    )
