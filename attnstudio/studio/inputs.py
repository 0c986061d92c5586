"""What one computation needs, frozen: the snapshot the studio hands to the compute step.

Kept free of Qt so the compute worker can use it on any thread. Arrays in an ``Inputs``
are never written to: the state replaces an array when a cell changes (copy on write),
so a snapshot stays valid while the UI goes on editing.

Row-wise overrides (the embeddings X and direct Q/K/V) belong to the tokens they were
made for. When the sentence changes, each new token takes the row of the same token in
the old sentence (same position first, else its first occurrence); a row with no match
is the seeded embedding (X) or NaN (direct), which ``fill_direct`` replaces by X·W.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from attnstudio.core.embeddings import token_vector
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import Settings
from attnstudio.core.trace import Trace
from attnstudio.core.weights import Weights

DirectKey = tuple[int, int, str]


@dataclass(frozen=True)
class RowOverride:
    """A matrix whose row i belongs to ``tokens[i]``."""

    matrix: np.ndarray
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Inputs:
    """Everything ``compute`` takes. ``tokens`` is empty (and ``error`` says why) when there
    is nothing to compute; ``generation`` orders snapshots so stale results can be dropped."""

    sentence: str
    tokens: tuple[str, ...]
    settings: Settings
    weights: Weights
    embeddings: np.ndarray | None = None
    direct: dict[DirectKey, np.ndarray] = field(default_factory=dict)
    error: str | None = None
    generation: int = 0
    padding: tuple[int, ...] = ()  # what the padding and custom masks hide (core/masks.py)
    mask_cells: tuple[tuple[int, int], ...] = ()
    # A real model (core.real_model.RealModel) open in the studio: it computes instead of the
    # toy pipeline, on the settings' backend and dtype (docs/architecture.md, "Real models").
    model: Any = None
    model_w_q: tuple[tuple[tuple[int, int], np.ndarray], ...] = ()  # the open model's heads' W_Q as edited

    @property
    def n(self) -> int:
        return len(self.tokens)


def carry_rows(old_tokens: Sequence[str], new_tokens: Sequence[str]) -> np.ndarray:
    """For each new token, the index of its row in the old sentence, or -1 when it has none."""
    if tuple(old_tokens) == tuple(new_tokens):
        return np.arange(len(new_tokens))
    first: dict[str, int] = {}
    for i, t in enumerate(old_tokens):
        first.setdefault(t.casefold(), i)
    n_old = len(old_tokens)
    return np.array(
        [i if i < n_old and old_tokens[i] == t else first.get(t.casefold(), -1) for i, t in enumerate(new_tokens)],
        dtype=np.int64,
    )


def adapt_embeddings(ov: RowOverride, tokens: Sequence[str], settings: Settings) -> np.ndarray:
    """The override's rows moved to ``tokens``; unmatched tokens get their seeded vector."""
    idx = carry_rows(ov.tokens, tokens)
    if (idx >= 0).all():
        return ov.matrix[idx]
    out = np.empty((len(tokens), ov.matrix.shape[1]))
    for i, j in enumerate(idx):
        out[i] = ov.matrix[j] if j >= 0 else token_vector(tokens[i], settings.d_model, settings.seed)
    return out


def adapt_direct(ov: RowOverride, tokens: Sequence[str]) -> np.ndarray:
    """The override's rows moved to ``tokens``; unmatched rows are NaN (to follow X·W)."""
    idx = carry_rows(ov.tokens, tokens)
    out = ov.matrix[np.maximum(idx, 0)]
    if (idx < 0).any():
        out = out.copy()
        out[idx < 0] = np.nan
    return out


def fill_direct(inputs: Inputs) -> dict[DirectKey, np.ndarray]:
    """Direct matrices with their NaN rows replaced by the rows of X_ℓ·W of their layer.

    A layer's input X_ℓ depends only on earlier layers, so filling layer by layer, each from
    a computation with the earlier layers already filled, gives exactly the rows that the
    pipeline would have computed had that token's row not been given directly.
    """
    direct = dict(inputs.direct)
    gaps = sorted({key[0] for key, m in direct.items() if np.isnan(m).any()})
    for li in gaps:
        complete = {k: m for k, m in direct.items() if not np.isnan(m).any()}
        trace = compute(list(inputs.tokens), inputs.settings, inputs.weights, inputs.embeddings, complete,
                        padding=inputs.padding, mask_cells=inputs.mask_cells)
        x = trace.backend.asnumpy(trace.layers[li].input)
        for key, m in list(direct.items()):
            if key[0] != li or not np.isnan(m).any():
                continue
            hw = inputs.weights.layers[li].heads[key[1]]
            w = getattr(hw, f"w_{key[2]}")
            rows = np.isnan(m).any(axis=1)
            filled = m.copy()
            filled[rows] = x[rows] @ w
            direct[key] = filled
    return direct


def run(inputs: Inputs) -> Trace:
    """Compute the trace for a snapshot (raises AttnStudioError for input the core refuses)."""
    if inputs.model is not None:
        return inputs.model.trace(inputs.sentence, inputs.settings.backend, inputs.settings.dtype,
                                  w_q=dict(inputs.model_w_q))
    direct: dict[DirectKey, Any] = fill_direct(inputs) if inputs.direct else {}
    return compute(list(inputs.tokens), inputs.settings, inputs.weights, inputs.embeddings, direct,
                   padding=inputs.padding, mask_cells=inputs.mask_cells)
