"""The result of one computation: every stage of every head of every layer.

Arrays live on the backend that computed them (NumPy or CuPy); ``Backend.asnumpy`` or
``Trace.host`` copies them to the host where a view or a file needs them.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields, replace
from typing import Any

from attnstudio.core.backends import Backend
from attnstudio.core.errors import NoSuchIndexError
from attnstudio.core.model_info import ModelInfo
from attnstudio.core.settings import Settings

# The names below are the one vocabulary of the views, the explanations and the exports.

# The per-head stages in pipeline order: q, k, v (N × d_k), four N × N stages, z = A·V.
HEAD_STAGES = ("q", "k", "v", "scores", "scaled", "masked", "weights", "output")
# The N × N stages: rows are query tokens and columns key tokens, so a cell names two tokens.
TOKEN_BY_TOKEN = ("scores", "scaled", "masked", "weights")
# The stages whose rows are query tokens: a row of each belongs to one token's view.
QUERY_ROW_STAGES = (*TOKEN_BY_TOKEN, "output")
# Per layer: its input X_ℓ, concat(Z_1 … Z_h), and heads = concat·W_O (the layer's output).
LAYER_MATRICES = ("input", "concat", "heads")
# Per trace: the token vectors E, the positional encoding P, and x = E + P (layer 1's input).
TRACE_MATRICES = ("embeddings", "positions", "x")
# Every matrix a view can show, by the name Trace.matrix and explain_cell take.
MATRIX_NAMES = (*TRACE_MATRICES, *LAYER_MATRICES, *HEAD_STAGES)

# The stepper's stages: (key, title). "projections" shows q, k and v together.
STAGES = (
    ("tokens", "Tokens"),
    ("embeddings", "Embeddings X"),
    ("projections", "Q, K, V = X·W"),
    ("scores", "Scores Q·Kᵀ"),
    ("scaled", "Scaled ÷ √d_k"),
    ("masked", "Masked"),
    ("weights", "Weights (normalized)"),
    ("output", "Output A·V"),
    ("heads", "Heads → concat·W_O"),
)
STAGE_KEYS = tuple(key for key, _ in STAGES)
# How the weights may be coloured: over 0 … 1, over 0 … the matrix's largest weight, or each
# row over 0 … its own largest (the studio's display option, and a lesson step's key).
WEIGHT_SCALES = ("unit", "max", "row")
# The same stages as a thumbnail's caption, a few characters wide.
STAGE_SHORT_TITLES = {
    "tokens": "Tokens", "embeddings": "X", "projections": "Q K V", "scores": "Q·Kᵀ", "scaled": "÷ √d_k",
    "masked": "Mask", "weights": "Weights", "output": "A·V", "heads": "·W_O",
}

# The matrix each stage shows in the large heatmap, and its colour scale: "signed" (a
# diverging map around 0) or "unit" (0 … 1, for weights). The tokens stage previews X.
STAGE_MATRIX: dict[str, tuple[str, str]] = {
    "tokens": ("input", "signed"),
    "embeddings": ("input", "signed"),
    "projections": ("q", "signed"),
    "scores": ("scores", "signed"),
    "scaled": ("scaled", "signed"),
    "masked": ("masked", "signed"),
    "weights": ("weights", "unit"),
    "output": ("output", "signed"),
    "heads": ("heads", "signed"),
}


def _index(what: str, value: Any, count: int) -> int:
    """``value`` as an index into ``count`` items, or NoSuchIndexError naming the valid range.

    Negative indices are refused: a head or layer is named by its place, and ``-1`` is far
    more often an off-by-one than a wish for the last one."""
    try:
        index = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        index = None
    if index is None or not 0 <= index < count:
        raise NoSuchIndexError(f"{what} {value!r} does not exist: this trace has {what}s 0..{count - 1} (0-based)")
    return index


@dataclass(frozen=True)
class HeadTrace:
    """One head: q, k, v (N × d_k), scores → scaled → masked → weights (N × N), output (N × d_k).

    ``row_sums`` and ``row_entropy`` (bits) describe each row of ``weights``;
    ``direct`` names the matrices among q, k, v that the user supplied instead of X·W.
    """

    q: Any
    k: Any
    v: Any
    scores: Any
    scaled: Any
    masked: Any
    weights: Any
    output: Any
    row_sums: Any
    row_entropy: Any
    nonfinite_weights: int = 0
    direct: frozenset[str] = frozenset()

    def stage(self, key: str) -> Any:
        return getattr(self, key)


@dataclass(frozen=True)
class NamedMatrix:
    """A matrix a real model computes beyond the toy stages: ``key`` names it in files,
    ``caption`` says what it is (e.g. "h = LayerNorm₁(x + MHA(x))")."""

    key: str
    caption: str
    matrix: Any


@dataclass(frozen=True)
class LayerTrace:
    """One layer: its input X, its heads, concat(Z_1..Z_h) (N × d_model), output = concat·W_O,
    and ``residual`` = X + output (or output alone with the residual switched off), which is
    the next layer's input.

    In a real model's trace (``Trace.model`` set) ``output`` is concat·W_O + b_O, ``after``
    lists what the layer computes between it and ``residual`` (add & norm, the feed-forward
    network), and ``residual`` is the layer's final output, the next layer's input; the
    model's captions say so (docs/architecture.md, "Real models"). ``after`` is empty for
    the toy pipeline.
    """

    input: Any
    heads: tuple[HeadTrace, ...]
    concat: Any
    output: Any
    residual: Any
    after: tuple[NamedMatrix, ...] = ()


@dataclass(frozen=True)
class Trace:
    """Everything one run computed.

    ``embeddings`` are the token vectors, ``positions`` the positional encoding P (None when
    off) and ``x`` = embeddings + P, the first layer's input. ``warnings`` lists what a
    person should notice (non-finite values, a backend fallback). ``padding`` (token
    positions) and ``mask_cells`` ((query, key) positions), 0-based, are what the "padding"
    and "custom" masks were given (core/masks.py); each hides cells only under its own mask.

    ``model`` is None for the toy pipeline; for a real model it names the model and says
    what its matrices hold where they differ (``caption``). ``settings`` then describes what
    was computed (the model's sizes; softmax, scaled, no mask, learned positions): it is
    never passed through ``Settings.validated``, whose limits bound the toy model only.
    """

    tokens: tuple[str, ...]
    settings: Settings
    backend: Backend
    embeddings: Any
    positions: Any | None
    x: Any
    layers: tuple[LayerTrace, ...]
    warnings: tuple[str, ...] = ()
    padding: tuple[int, ...] = ()
    mask_cells: tuple[tuple[int, int], ...] = ()
    model: ModelInfo | None = None

    @property
    def n(self) -> int:
        return len(self.tokens)

    def caption(self, name: str, default: str = "") -> str:
        """What matrix ``name`` holds in this trace's model, or ``default`` (the toy meaning)."""
        return default if self.model is None else self.model.caption(name, default)

    def layer(self, layer: int = 0) -> LayerTrace:
        """Layer ``layer`` (0-based); NoSuchIndexError names the valid range otherwise."""
        return self.layers[_index("layer", layer, len(self.layers))]

    def head(self, layer: int = 0, head: int = 0) -> HeadTrace:
        """Head ``head`` of layer ``layer`` (both 0-based); NoSuchIndexError names the valid range otherwise."""
        heads = self.layer(layer).heads
        return heads[_index("head", head, len(heads))]

    def matrix(self, name: str, layer: int = 0, head: int = 0) -> Any:
        """The matrix a view calls ``name`` (one of MATRIX_NAMES), on the trace's device.

        ``layer`` matters for per-layer and per-head names, ``head`` for per-head ones.
        "positions" is None when the positional encoding is off. Raises ValueError for an
        unknown name and NoSuchIndexError (an IndexError) for a layer or head the trace does
        not have.
        """
        if name in TRACE_MATRICES:
            return getattr(self, name)
        if name in LAYER_MATRICES:
            lt = self.layer(layer)
            return {"input": lt.input, "concat": lt.concat, "heads": lt.output}[name]
        if name in HEAD_STAGES:
            return self.head(layer, head).stage(name)
        raise ValueError(f"unknown matrix {name!r}: one of {', '.join(MATRIX_NAMES)}")

    def host(self) -> Trace:
        """This trace with every array copied to NumPy (itself when already on NumPy).

        ``backend`` still names where the numbers were computed; use NumPy on the copies.
        """
        if self.backend.name == "numpy":
            return self
        to = self.backend.asnumpy

        def conv(obj: Any) -> Any:
            changes: dict[str, Any] = {}
            for f in fields(obj):
                value = getattr(obj, f.name)
                if isinstance(value, tuple) and value and isinstance(value[0], (HeadTrace, LayerTrace, NamedMatrix)):
                    changes[f.name] = tuple(conv(v) for v in value)
                elif hasattr(value, "__cuda_array_interface__"):
                    changes[f.name] = to(value)
            return replace(obj, **changes)

        return conv(self)  # type: ignore[no-any-return]
