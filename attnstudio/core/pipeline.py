"""Self-attention, stage by stage, on any array module.

For each layer ℓ and head h (the stages the window steps through):

    Q = X·W_Q,  K = X·W_K,  V = X·W_V          (or Q, K, V given directly)
    S = Q·Kᵀ                                   scores
    S_s = S / √d_k                             scaled (or S when scaling is off)
    S' = S_s with −∞ where the mask hides      masked: causal (above the diagonal), padding
         a key                                 (padding tokens' key columns), custom (drawn
                                               cells), or S_s unchanged (none); core/masks.py
    A = normalize(S' / T)                      weights, row by row (a row with every key
                                               masked: all 0)
    Z = A·V                                    output
    MHA(X) = concat(Z_1..Z_h)·W_O
    X_{ℓ+1} = X_ℓ + MHA(X_ℓ)                   residual (or MHA(X_ℓ) alone)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from attnstudio.core.backends import Backend, fallback, resolve_backend
from attnstudio.core.embeddings import embed, sinusoidal_positions
from attnstudio.core.errors import MatrixError
from attnstudio.core.masks import Cell, check_cells, check_padding, empty_rows, mask_matrix
from attnstudio.core.matrices import DIRECT_MATRICES, check_direct, check_matrix
from attnstudio.core.memory import check_memory
from attnstudio.core.normalizers import attention_weights, naive_softmax_warnings, weight_stats
from attnstudio.core.settings import Settings
from attnstudio.core.tokenize import check_text, tokenize
from attnstudio.core.trace import HeadTrace, LayerTrace, Trace
from attnstudio.core.weights import Weights

# Direct-mode matrices: {(layer, head, "q" | "k" | "v"): N × d_k matrix}.
Direct = Mapping[tuple[int, int, str], Any]


def compute(
    sentence: str | Sequence[str],
    settings: Settings | None = None,
    weights: Weights | None = None,
    embeddings: Any | None = None,
    direct: Direct | None = None,
    backend: Backend | None = None,
    padding: Sequence[int] | None = None,
    mask_cells: Sequence[Cell] | None = None,
) -> Trace:
    """Run every stage and return the Trace.

    ``sentence`` is text (tokenized here) or a list of tokens. ``weights`` default to the
    seeded ones; ``embeddings`` (N × d_model) replace the toy token vectors; ``direct``
    replaces Q, K or V of a head. ``padding`` (token positions) and ``mask_cells`` ((query,
    key) positions), both counted from 0, are the cells the "padding" and "custom" masks hide
    (core/masks.py); each counts only under its own ``settings.mask``. Bad input raises an
    AttnStudioError subclass naming what is wrong (NotEnoughMemoryError when the trace would
    not fit in memory). On CuPy, a failure during the computation falls back to NumPy and
    says why in
    ``trace.backend.reason`` and ``trace.warnings``.
    """
    settings = (settings or Settings()).validated()
    tokens = tokenize(sentence) if isinstance(sentence, str) else [
        check_text(t) if isinstance(t, str) else t for t in sentence
    ]
    if not tokens:
        raise MatrixError("there are no tokens to attend over")
    n, d = len(tokens), settings.d_model
    check_memory(n, settings)  # before any N × N array: refuse at once what cannot fit
    weights = (weights or Weights.seeded_read_only(settings)).checked(settings)
    emb = embed(tokens, d, settings.seed) if embeddings is None else check_matrix("X (embeddings)", embeddings, (n, d))
    checked_direct = {
        (li, hi, name): check_direct(name, li, hi, m, n, settings.d_k) for (li, hi, name), m in (direct or {}).items()
    }
    for li, hi, name in checked_direct:
        if not (0 <= li < settings.layers and 0 <= hi < settings.heads):
            raise MatrixError(f"direct matrix {name!r} for layer {li + 1}, head {hi + 1} does not exist")

    drawn = (check_padding(padding, n), check_cells(mask_cells, n))

    backend = backend or resolve_backend(settings.backend, n)
    try:
        return _run(tokens, settings, weights, emb, checked_direct, backend, drawn)
    except Exception as exc:
        if backend.name != "cupy":
            raise
        safe = fallback(backend, exc)
        trace = _run(tokens, settings, weights, emb, checked_direct, safe, drawn)
        if safe.requested == "auto":  # _run already reports a fallback from an explicit "cupy"
            trace = replace(trace, warnings=(*trace.warnings, safe.reason or ""))
        return trace


def _run(
    tokens: list[str],
    settings: Settings,
    weights: Weights,
    emb: np.ndarray,
    direct: dict[tuple[int, int, str], np.ndarray],
    backend: Backend,
    drawn: tuple[tuple[int, ...], tuple[Cell, ...]] = ((), ()),
) -> Trace:
    xp = backend.xp
    dtype = getattr(xp, settings.dtype)
    n, d = len(tokens), settings.d_model

    def dev(a: np.ndarray) -> Any:
        return xp.asarray(a, dtype=dtype)

    e = dev(emb)
    p = dev(sinusoidal_positions(n, d)) if settings.positional else None
    x = e + p if p is not None else e
    padding, cells = drawn
    hidden = mask_matrix(settings.mask, n, padding, cells)
    mask = None if hidden is None else xp.asarray(hidden)

    warnings: list[str] = []
    empty = empty_rows(hidden)
    if empty:
        names = ", ".join(f"{i} ({tokens[i]!r})" for i in empty[:5]) + (" …" if len(empty) > 5 else "")
        warnings.append(f"every key of row {names} is masked: nothing to attend to, so its weights are all 0 "
                        f"and its output is 0")
    layers = []
    layer_in = x
    for li, lw in enumerate(weights.layers):
        heads = []
        for hi, hw in enumerate(lw.heads):
            given = {m: direct[(li, hi, m)] for m in DIRECT_MATRICES if (li, hi, m) in direct}
            q = dev(given["q"]) if "q" in given else layer_in @ dev(hw.w_q)
            k = dev(given["k"]) if "k" in given else layer_in @ dev(hw.w_k)
            v = dev(given["v"]) if "v" in given else layer_in @ dev(hw.w_v)
            head = attend(q, k, v, settings, xp, mask, frozenset(given))
            bad = head.nonfinite_weights
            if settings.normalizer == "naive-softmax":
                # Its input as normalize saw it; a sum that overflows leaves every weight 0, which
                # no count of non-finite weights reveals.
                with np.errstate(over="ignore", invalid="ignore"):
                    where = f"head {hi + 1}" if settings.layers == 1 else f"layer {li + 1}, head {hi + 1}"
                    warnings.extend(naive_softmax_warnings(head.masked / settings.temperature, where, xp))
            elif bad:
                warnings.append(
                    f"layer {li + 1}, head {hi + 1}: {bad} weight(s) are not finite "
                    f"({settings.normalizer} overflowed)"
                )
            heads.append(head)
        concat = xp.concatenate([h.output for h in heads], axis=1)
        out = concat @ dev(lw.w_o)
        residual = layer_in + out if settings.residual else out
        layers.append(LayerTrace(layer_in, tuple(heads), concat, out, residual))
        layer_in = residual
    if backend.reason and backend.requested not in (backend.name, "auto"):
        warnings.append(f"computing on NumPy: {backend.reason}")
    return Trace(tuple(tokens), settings, backend, e, p, x, tuple(layers), tuple(warnings),
                 padding=padding, mask_cells=cells)


def attend(
    q: Any, k: Any, v: Any, settings: Settings, xp: Any = np, mask: Any | None = None,
    direct: frozenset[str] = frozenset(),
) -> HeadTrace:
    """One head's stages from its q, k, v: scores, scaled, masked, weights and output.

    ``mask`` (N × N booleans on the device, True = hidden) is the mask to apply; None builds
    the causal one when ``settings.mask`` is "causal" and masks nothing otherwise. A row with
    every key hidden gets weights of exactly 0 (not softmax's 0/0 = NaN): core/masks.py.
    ``direct`` names the matrices among q, k, v the user gave (HeadTrace.direct).

    Each stage the trace keeps is one new array, and the work between stages is done in place
    in them: with softmax on NumPy a head's only other N × N float array is the entropy's.
    """
    scores = q @ k.T
    scaled = scores / math.sqrt(q.shape[1]) if settings.scale else scores
    if mask is None and settings.mask == "causal":
        mask = xp.asarray(np.triu(np.ones(scores.shape, dtype=bool), k=1))
    masked = scaled
    if mask is not None:
        masked = scaled.copy()
        xp.copyto(masked, -xp.inf, where=mask)
    with np.errstate(over="ignore", invalid="ignore"):
        weights = attention_weights(masked, settings.normalizer, settings.temperature, xp)
        if mask is not None:
            # A masked key gets exactly 0 whatever the normalizer's rounding; a row with no key
            # left gets 0 everywhere instead of NaN (softmax) or 1/N (sparsemax, entmax).
            xp.copyto(weights, 0.0, where=mask | xp.all(mask, axis=-1, keepdims=True))
        output = weights @ v
        row_sums, entropy, bad = weight_stats(weights, xp)
    return HeadTrace(q, k, v, scores, scaled, masked, weights, output, row_sums, entropy, bad, direct)
