"""The arithmetic behind one cell, and one query token's whole view, from a Trace's numbers.

Every value written as a result is read from the trace, never recomputed; the only
arithmetic done here is the per-term arithmetic a formula displays (the products of a dot
product, the exponentials of a softmax row). Tests check that those terms add up to the
trace's cell.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnstudio.core.settings import Settings
from attnstudio.core.trace import HeadTrace, Trace
from attnstudio.core.weights import Weights

EXPLAIN_STAGES = ("embeddings", "q", "k", "v", "scores", "scaled", "masked", "weights", "output", "concat", "heads")
MAX_TERMS = 8  # longer sums show their first and last terms around "… n more terms …"
# Below this |s/T| a softmax row is shown with plain exp(s/T): readable and exact enough
# (exp(20) ≈ 4.9e8); above it, the max-shifted form the pipeline itself uses.
PLAIN_EXP_LIMIT = 20.0


# --- number and label formatting -------------------------------------------------------------


def fmt(x: float) -> str:
    """A result: 2 decimals (3 for small non-zero values), real minus sign, ∞ / NaN spelled out."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "−∞" if x < 0 else "∞"
    if abs(x) >= 1e5:
        text = f"{x:.3g}"
    elif x != 0 and abs(x) < 0.05:
        text = f"{x:.3f}"
    else:
        text = f"{x:.2f}"
    return text.replace("-", "−")


def fmt_operand(x: float) -> str:
    """An operand inside a formula: at most 3 decimals, no trailing zeros (1, 0.5, 0.123);
    negative operands in parentheses so "1×(−0.5)" reads as a product."""
    x = float(x)
    if not math.isfinite(x) or abs(x) >= 1e5:
        text = fmt(x)
    else:
        text = f"{x:.3f}".rstrip("0").rstrip(".")
        text = "0" if text in ("-0", "") else text.replace("-", "−")
    return f"({text})" if text.startswith("−") else text


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


def _products(a: np.ndarray, b: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The terms "a_j×b_j" of a dot product and their values."""
    values = a * b
    return [f"{fmt_operand(x)}×{fmt_operand(y)}" for x, y in zip(a, b)], values


# --- one cell ----------------------------------------------------------------------------------


def explain_cell(
    trace: Trace,
    layer: int,
    head: int,
    stage: str,
    row: int,
    col: int,
    *,
    weights: Weights | None = None,
) -> str:
    """One line with the arithmetic of cell (row, col) of ``stage``, using the trace's numbers.

    ``weights`` (the W_Q, W_K, W_V, W_O the trace was computed with) let q/k/v and heads cells
    show their terms; without them the seeded matrices are used when they reproduce the
    trace's value, and otherwise only the formula and the value are shown. Raises ValueError
    for an unknown stage or a cell outside the matrix.
    """
    if stage not in EXPLAIN_STAGES:
        raise ValueError(f"stage must be one of {', '.join(EXPLAIN_STAGES)}, not {stage!r}")
    tr = trace.host()
    if not 0 <= layer < len(tr.layers):
        raise ValueError(f"layer {layer} does not exist (the trace has {len(tr.layers)})")
    lt = tr.layers[layer]
    if not 0 <= head < len(lt.heads):
        raise ValueError(f"head {head} does not exist (layer {layer + 1} has {len(lt.heads)})")
    h = lt.heads[head]
    matrix = {"embeddings": lt.input, "concat": lt.concat, "heads": lt.output}.get(stage)
    matrix = h.stage(stage) if matrix is None else matrix
    rows, cols = np.shape(matrix)
    if not (0 <= row < rows and 0 <= col < cols):
        raise ValueError(f"cell ({row}, {col}) is outside the {stage} matrix ({rows} × {cols})")
    labels = token_labels(tr.tokens)
    builder = _BUILDERS[stage]
    return builder(tr, layer, head, h, labels, row, col, weights)  # type: ignore[no-any-return]


def _embeddings(tr: Trace, layer: int, head: int, h: HeadTrace, labels: list[str], i: int, c: int,
                weights: Weights | None) -> str:
    lt = tr.layers[layer]
    x = float(np.asarray(lt.input)[i, c])
    name = f"x[{labels[i]}, {c}]"
    if layer > 0:
        prev = tr.layers[layer - 1]
        mha = float(np.asarray(prev.output)[i, c])
        if tr.settings.residual:
            before = float(np.asarray(prev.input)[i, c])
            return (f"{name} = x_prev[{labels[i]}, {c}] + MHA_prev[{labels[i]}, {c}] = "
                    f"{fmt_operand(before)} + {fmt_operand(mha)} = {fmt(x)} (layer {layer} output with the residual)")
        return f"{name} = MHA_prev[{labels[i]}, {c}] = {fmt(x)} (layer {layer} output, no residual)"
    e = float(np.asarray(tr.embeddings)[i, c])
    if tr.positions is not None:
        p = float(np.asarray(tr.positions)[i, c])
        return f"{name} = e_{labels[i]}[{c}] + p_{i}[{c}] = {fmt_operand(e)} + {fmt_operand(p)} = {fmt(x)}"
    return f"{name} = e_{labels[i]}[{c}] = {fmt(x)} (the token's embedding; positional encoding off)"


def _projection(tr: Trace, layer: int, head: int, h: HeadTrace, labels: list[str], i: int, c: int,
                weights: Weights | None, which: str) -> str:
    value = float(np.asarray(h.stage(which))[i, c])
    W = f"W_{which.upper()}"
    name = f"{which}[{labels[i]}, {c}]"
    if which in h.direct:
        return f"{name} = {fmt(value)} (given directly, not computed as X·{W})"
    x = np.asarray(tr.layers[layer].input)[i]
    w = _weight_matrix(tr, weights, layer, head, f"w_{which}")
    formula = f"{name} = x_{labels[i]} · {W}[:, {c}]"
    if w is not None:
        terms, vals = _products(x, w[:, c])
        if _agrees(vals.sum(), value):
            return f"{formula} = {join_terms(terms)} = {fmt(value)}"
    return f"{formula} = {fmt(value)}"


def _scores(tr: Trace, layer: int, head: int, h: HeadTrace, labels: list[str], i: int, j: int,
            weights: Weights | None) -> str:
    q, k = np.asarray(h.q)[i], np.asarray(h.k)[j]
    terms, _ = _products(q, k)
    value = float(np.asarray(h.scores)[i, j])
    return f"score[{labels[i]}, {labels[j]}] = q_{labels[i]} · k_{labels[j]} = {join_terms(terms)} = {fmt(value)}"


def _scaled(tr: Trace, layer: int, head: int, h: HeadTrace, labels: list[str], i: int, j: int,
            weights: Weights | None) -> str:
    s = float(np.asarray(h.scores)[i, j])
    value = float(np.asarray(h.scaled)[i, j])
    name = f"scaled[{labels[i]}, {labels[j]}]"
    if not tr.settings.scale:
        return f"{name} = score = {fmt(value)} (scaling by √d_k is switched off)"
    dk = np.shape(h.q)[1]
    return f"{name} = {fmt(s)} / √{dk} = {fmt(value)}"


def _masked(tr: Trace, layer: int, head: int, h: HeadTrace, labels: list[str], i: int, j: int,
            weights: Weights | None) -> str:
    value = float(np.asarray(h.masked)[i, j])
    name = f"masked[{labels[i]}, {labels[j]}]"
    if tr.settings.mask != "causal":
        return f"{name} = scaled = {fmt(value)} (no mask: every token sees every token)"
    if math.isinf(value) and value < 0:
        return f"{name} = −∞ (causal: a token cannot attend to a later one)"
    return f"{name} = scaled = {fmt(value)} (causal: {labels[j]} is not after {labels[i]}, so it stays)"


def _weights(tr: Trace, layer: int, head: int, h: HeadTrace, labels: list[str], i: int, j: int,
             weights: Weights | None) -> str:
    st = tr.settings
    value = float(np.asarray(h.weights)[i, j])
    s_row = np.asarray(h.masked, dtype=np.float64)[i]
    name = f"weight[{labels[i]}, {labels[j]}]"
    T = st.temperature
    over_t = "" if T == 1 else f"/{fmt_operand(T)}"
    if st.normalizer in ("sparsemax", "entmax15"):
        return _sparse_weight(name, st, s_row, np.asarray(h.weights, dtype=np.float64)[i], j, value)
    if math.isinf(s_row[j]) and s_row[j] < 0:
        return f"{name} = exp(−∞) / Σ_j … = 0 (masked: this key gets no weight)"
    ex, shift = softmax_terms(s_row, T, st.normalizer)
    arg = f"{fmt(s_row[j])}{over_t}" if shift == 0 else f"({fmt(s_row[j])} − {fmt(shift)}){over_t}"
    denominator = [fmt(e) for e, s in zip(ex, s_row) if not (math.isinf(s) and s < 0)]
    total = float(np.sum(ex))
    sum_text = f"({join_terms(denominator)})" if len(denominator) > 1 else denominator[0]
    text = f"{name} = exp({arg}) / Σ_j exp({'(s_j − max)' if shift else 's_j'}{over_t}) = {fmt(ex[j])} / {sum_text}"
    text += f" = {fmt(ex[j])} / {fmt(total)}" if len(denominator) > 1 else ""
    text += f" = {fmt(value)}"
    if st.normalizer == "naive-softmax":
        if not math.isfinite(value):
            text += " — exp overflowed (float ∞, then ∞/∞ = NaN); stable softmax subtracts the row max first"
        return text
    if shift == 0:
        return text + " (the app subtracts the row max first: the same ratio, never an overflow)"
    return text + f" (shifted by the row max {fmt(shift)} so exp never overflows; the ratio is unchanged)"


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


def _sparse_weight(name: str, st: Settings, s_row: np.ndarray, w_row: np.ndarray, j: int, value: float) -> str:
    T = st.temperature
    over_t = "" if T == 1 else f"/{fmt_operand(T)}"
    if math.isinf(s_row[j]) and s_row[j] < 0:
        return f"{name} = 0 (masked: this key gets no weight)"
    if not np.isfinite(w_row).all() or not (w_row > 0).any():
        return f"{name} = {fmt(value)}"
    tau = sparse_threshold(s_row, w_row, T, st.normalizer)
    if st.normalizer == "sparsemax":
        inner = s_row[j] / T - tau
        text = f"{name} = max(s{over_t} − τ, 0) = max({fmt_operand(s_row[j])}{over_t} − {fmt_operand(tau)}, 0)"
        text += f" = {fmt(value)}"
    else:
        inner = s_row[j] / (2 * T) - tau
        text = (f"{name} = max(s/{fmt_operand(2 * T)} − τ, 0)² = max({fmt_operand(s_row[j])}/{fmt_operand(2 * T)}"
                f" − {fmt_operand(tau)}, 0)² = {fmt(max(inner, 0.0))}² = {fmt(value)}")
    text += f"; τ = {fmt(tau)} is the threshold that makes the row sum to 1"
    if inner <= 0:
        text += " — exactly 0: this key's score is below τ"
    return text


def _output(tr: Trace, layer: int, head: int, h: HeadTrace, labels: list[str], i: int, c: int,
            weights: Weights | None) -> str:
    a = np.asarray(h.weights)[i]
    v = np.asarray(h.v)[:, c]
    value = float(np.asarray(h.output)[i, c])
    keep = [j for j in range(len(a)) if a[j] != 0]
    terms = [f"{fmt_operand(a[j])}×{fmt_operand(v[j])}" for j in keep]
    dropped = len(a) - len(keep)
    note = f" ({dropped} keys with weight 0 left out)" if dropped else ""
    body = join_terms(terms) if terms else "0"
    return f"z[{labels[i]}, {c}] = Σ_j a_j v_j[{c}] = {body} = {fmt(value)}{note}"


def _concat(tr: Trace, layer: int, head: int, h: HeadTrace, labels: list[str], i: int, c: int,
            weights: Weights | None) -> str:
    dk = tr.settings.d_k
    src, col = divmod(c, dk)
    value = float(np.asarray(tr.layers[layer].concat)[i, c])
    return (f"concat[{labels[i]}, {c}] = z_head{src + 1}[{labels[i]}, {col}] = {fmt(value)} "
            f"(columns {src * dk}–{src * dk + dk - 1} come from head {src + 1})")


def _heads(tr: Trace, layer: int, head: int, h: HeadTrace, labels: list[str], i: int, c: int,
           weights: Weights | None) -> str:
    lt = tr.layers[layer]
    value = float(np.asarray(lt.output)[i, c])
    formula = f"out[{labels[i]}, {c}] = concat_{labels[i]} · W_O[:, {c}]"
    w_o = _weight_matrix(tr, weights, layer, None, "w_o")
    if w_o is not None:
        terms, vals = _products(np.asarray(lt.concat)[i], w_o[:, c])
        if _agrees(vals.sum(), value):
            return f"{formula} = {join_terms(terms)} = {fmt(value)}"
    return f"{formula} = {fmt(value)}"


_BUILDERS = {
    "embeddings": _embeddings,
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
    """Whether displayed terms reproduce the trace's value (float32 traces round more)."""
    return bool(np.isclose(total, value, rtol=1e-5, atol=1e-6))


@functools.lru_cache(maxsize=4)
def _seeded(settings: Settings) -> Weights:
    return Weights.seeded(settings)


def _weight_matrix(tr: Trace, weights: Weights | None, layer: int, head: int | None, name: str) -> np.ndarray | None:
    """W_Q/W_K/W_V (head given) or W_O of a layer: from ``weights``, else the seeded ones."""
    try:
        w = weights if weights is not None else _seeded(tr.settings)
        lw = w.layers[layer]
        return np.asarray(lw.w_o if head is None else getattr(lw.heads[head], name), dtype=np.float64)
    except Exception:  # missing or misshapen matrices: show the formula without terms
        return None


# --- one token's view ------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenView:
    """Everything query ``row`` does in one head, one row per key j (DESIGN §3).

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


def token_view(trace: Trace, layer: int, head: int, row: int) -> TokenView:
    """Query ``row``'s view in (layer, head), read from the trace (arrays copied to the host)."""
    tr = trace.host()
    if not 0 <= layer < len(tr.layers) or not 0 <= head < len(tr.layers[layer].heads):
        raise ValueError(f"layer {layer}, head {head} does not exist in this trace")
    h = tr.layers[layer].heads[head]
    n = len(tr.tokens)
    if not 0 <= row < n:
        raise ValueError(f"row {row} is outside the {n} tokens")
    labels = token_labels(tr.tokens)
    st = tr.settings

    def host(a: Any) -> np.ndarray:
        return np.array(a, dtype=np.float64, copy=True)

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
    )
