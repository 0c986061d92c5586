"""A BERT encoder's forward pass, stage by stage, into the same Trace the toy pipeline makes.

    E = word[ids] + type[type_ids],  P = position[0..N),  x₁ = LayerNorm(E + P)
    per layer ℓ and head h (the toy stages, with biases):
        Q = x·W_Q + b_Q,  K = x·W_K + b_K,  V = x·W_V + b_V;  head h takes columns h·d_k … (h+1)·d_k
        S = Q·Kᵀ,  S / √d_k,  no mask (one sentence, no padding),  A = softmax,  Z = A·V
        MHA(x) = concat(Z_1..Z_h)·W_O + b_O                       (the trace's "heads")
        h = LayerNorm₁(x + MHA(x))
        FFN(h) = GELU(h·W₁ + b₁)·W₂ + b₂,   GELU(u) = u·½(1 + erf(u/√2))   (exact, not tanh)
        x_{ℓ+1} = LayerNorm₂(h + FFN(h))                          (the trace's "residual")
    LayerNorm(u) = (u − mean(u)) / √(var(u) + ε)·γ + β, per row, var the biased variance.

docs/architecture.md, "Real models", says how each matrix maps onto the trace.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass, replace
from typing import Any

import numpy as np

from attnstudio.core.backends import Backend, fallback
from attnstudio.core.bert_weights import BertLayerWeights, BertWeights, Linear, Norm
from attnstudio.core.model_config import BertConfig
from attnstudio.core.model_info import ModelInfo
from attnstudio.core.model_tokenize import Encoding, require
from attnstudio.core.pipeline import attend
from attnstudio.core.settings import Settings
from attnstudio.core.trace import LayerTrace, NamedMatrix, Trace

CAPTIONS = (
    ("embeddings", "E = word + token-type embedding"),
    ("positions", "P = learned position embedding"),
    ("x", "x = LayerNorm(E + P)"),
    ("input", "x_ℓ: LayerNorm(E + P) in layer 1, the previous layer's output after it"),
    ("q", "Q = X·W_Q + b_Q"),
    ("k", "K = X·W_K + b_K"),
    ("v", "V = X·W_V + b_V"),
    ("heads", "concat·W_O + b_O"),
    ("residual", "LayerNorm₂(h + FFN(h)): the layer's output, the next layer's input"),
)


def model_settings(config: BertConfig, backend: str = "numpy", dtype: str = "float32") -> Settings:
    """The Settings that describe what a BERT forward pass computes (not validated: the toy
    limits do not apply to a real model's sizes; see Trace)."""
    return Settings(
        d_model=config.hidden_size, heads=config.num_attention_heads, layers=config.num_hidden_layers,
        temperature=1.0, scale=True, mask="none", normalizer="softmax", positional=True, residual=True,
        seed=0, backend=backend, dtype=dtype,
    )


def forward(
    config: BertConfig,
    weights: BertWeights,
    device_weights: Any,
    encoding: Encoding,
    info: ModelInfo,
    backend: Backend,
    dtype: str = "float32",
) -> Trace:
    """Run the encoder on ``encoding`` and return every stage as a Trace.

    ``device_weights(backend, dtype)`` gives the layers' tensors on the backend (the model
    keeps them there between runs). On CuPy, a failure falls back to NumPy and says why in
    ``trace.backend.reason`` and ``trace.warnings``, as the toy pipeline does.
    """
    try:
        return _run(config, weights, device_weights(backend, dtype), encoding, info, backend, dtype)
    except Exception as exc:
        if backend.name != "cupy":
            raise
        safe = fallback(backend, exc)
        trace = _run(config, weights, device_weights(safe, dtype), encoding, info, safe, dtype)
        if safe.requested == "auto":  # _run already reports a fallback from an explicit "cupy"
            trace = replace(trace, warnings=(*trace.warnings, safe.reason or ""))
        return trace


def to_device(obj: Any, xp: Any, dtype: str) -> Any:
    """A copy of a weights dataclass (or array) with every array on ``xp`` in ``dtype``."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return replace(obj, **{f.name: to_device(getattr(obj, f.name), xp, dtype) for f in fields(obj)})
    if isinstance(obj, tuple):
        return tuple(to_device(o, xp, dtype) for o in obj)
    return xp.asarray(obj, dtype=dtype)


def layer_norm(u: Any, norm: Norm, eps: float, xp: Any) -> Any:
    """(u − mean) / √(var + ε)·γ + β over each row (biased variance, as BERT)."""
    mean = xp.mean(u, axis=-1, keepdims=True)
    centred = u - mean
    var = xp.mean(centred * centred, axis=-1, keepdims=True)
    return centred / xp.sqrt(var + eps) * norm.gamma + norm.beta


def gelu(u: Any, xp: Any) -> Any:
    """The exact GELU, u·Φ(u) = u·½(1 + erf(u/√2)), with SciPy's (or CuPy's) erf."""
    erf = require("scipy.special" if xp is np else "cupyx.scipy.special").erf
    return u * 0.5 * (1.0 + erf(u / math.sqrt(2.0)))


def _linear(x: Any, lin: Linear) -> Any:
    return x @ lin.w + lin.b


def _run(
    config: BertConfig,
    weights: BertWeights,
    layers_w: tuple[BertLayerWeights, ...],
    encoding: Encoding,
    info: ModelInfo,
    backend: Backend,
    dtype: str,
) -> Trace:
    xp = backend.xp
    n = len(encoding.ids)
    ids = np.asarray(encoding.ids, dtype=np.int64)
    types = np.asarray(encoding.type_ids, dtype=np.int64)
    eps = config.layer_norm_eps
    # The tables stay on the host; only the N rows the sentence needs travel.
    e = xp.asarray(weights.word[ids], dtype=dtype) + xp.asarray(weights.token_type[types], dtype=dtype)
    p = xp.asarray(weights.position[:n], dtype=dtype)
    norm = to_device(weights.embedding_norm, xp, dtype)
    x = layer_norm(e + p, norm, eps, xp)

    settings = model_settings(config, backend.requested, dtype)
    dk = config.head_size
    warnings: list[str] = []
    layers = []
    layer_in = x
    for li, lw in enumerate(layers_w):
        q_all, k_all, v_all = _linear(layer_in, lw.query), _linear(layer_in, lw.key), _linear(layer_in, lw.value)
        heads = []
        for hi in range(config.num_attention_heads):
            cols = slice(hi * dk, (hi + 1) * dk)
            head = attend(q_all[:, cols], k_all[:, cols], v_all[:, cols], settings, xp)
            if head.nonfinite_weights:
                warnings.append(f"layer {li + 1}, head {hi + 1}: {head.nonfinite_weights} weight(s) are not finite")
            heads.append(head)
        concat = xp.concatenate([h.output for h in heads], axis=1)
        mha = _linear(concat, lw.attention_out)
        summed = layer_in + mha
        h = layer_norm(summed, lw.attention_norm, eps, xp)
        hidden = gelu(_linear(h, lw.ffn_in), xp)
        ffn = _linear(hidden, lw.ffn_out)
        summed2 = h + ffn
        out = layer_norm(summed2, lw.output_norm, eps, xp)
        after = (
            NamedMatrix("attention_sum", "x + MHA(x)", summed),
            NamedMatrix("attention_norm", "h = LayerNorm₁(x + MHA(x))", h),
            NamedMatrix("ffn_hidden", "GELU(h·W₁ + b₁)", hidden),
            NamedMatrix("ffn_output", "FFN(h) = GELU(h·W₁ + b₁)·W₂ + b₂", ffn),
            NamedMatrix("ffn_sum", "h + FFN(h)", summed2),
        )
        layers.append(LayerTrace(layer_in, tuple(heads), concat, mha, out, after))
        layer_in = out
    if backend.reason and backend.requested not in (backend.name, "auto"):
        warnings.append(f"computing on NumPy: {backend.reason}")
    return Trace(tuple(encoding.tokens), settings, backend, e, p, x, tuple(layers), tuple(warnings), model=info)
