"""Host copies of a trace's matrices as the views show them, reduced where too big.

Views never reduce or copy on their own: they ask this cache, which runs
``core.display.reduce_for_display`` on the device the trace lives on (xp =
trace.backend.xp) and keeps the small host result. The compute worker fills it for large
inputs so the UI thread only draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attnstudio.core.display import reduce_for_display
from attnstudio.core.trace import HEAD_STAGES, LAYER_MATRICES, STAGE_MATRIX, TRACE_MATRICES, Trace

# Matrices up to this side are shown cell by cell; larger ones are block-averaged.
MAX_SIDE = 256


class DisplayCache:
    """(layer, head, name) → (host matrix, factor); ``name`` is one of core.trace.MATRIX_NAMES."""

    def __init__(self, trace: Trace, max_side: int = MAX_SIDE) -> None:
        self.trace = trace
        self.max_side = max_side
        self._cache: dict[tuple[int, int, str], tuple[np.ndarray, int]] = {}
        # The same array under two names (masked *is* scaled without a mask) is reduced once;
        # the source is kept alongside so its id cannot be reused by another array.
        self._by_source: dict[int, tuple[Any, tuple[np.ndarray, int]]] = {}

    def source(self, layer: int, head: int, name: str) -> Any:
        """The matrix on the trace's device (no copy)."""
        return self.trace.matrix(name, layer, head)

    def get(self, layer: int, head: int, name: str) -> tuple[np.ndarray, int]:
        """The host matrix to draw and its row factor (rows per displayed row)."""
        per_head = name in HEAD_STAGES
        key = (layer if name not in TRACE_MATRICES else 0, head if per_head else 0, name)
        hit = self._cache.get(key)
        if hit is None:
            src = self.source(layer, head, name)
            known = self._by_source.get(id(src))
            hit = known[1] if known is not None and known[0] is src else self._reduce(src)
            self._by_source[id(src)] = (src, hit)
            self._cache[key] = hit
        return hit

    def _reduce(self, a: Any) -> tuple[np.ndarray, int]:
        """Pooled like ``reduce_for_display``; a tall, narrow matrix (N × d_k with d_k small)
        is pooled along its rows only, one column at a time, so its columns stay apart."""
        xp = self.trace.backend.xp
        rows, cols = a.shape
        if rows > self.max_side >= cols:
            parts = [reduce_for_display(a[:, j : j + 1], xp, self.max_side) for j in range(cols)]
            return np.hstack([p[0] for p in parts]), parts[0][1]
        return reduce_for_display(a, xp, self.max_side)

    def vector(self, layer: int, head: int, name: str) -> np.ndarray:
        """A per-row vector of a head (row_sums, row_entropy) on the host."""
        key = (layer, head, name)
        hit = self._cache.get(key)
        if hit is None:
            hit = (self.trace.backend.asnumpy(getattr(self.trace.head(layer, head), name)), 1)
            self._cache[key] = hit
        return hit[0]

    def prefill_stage(self, layer: int, head: int, stage: str) -> None:
        """Reduce what the large view draws for ``stage`` (a key of core.trace.STAGE_MATRIX) of
        (layer, head): its matrix (Q, K and V on the projections stage), the masked scores that
        say where the mask hid keys, the weights' row sums and entropies, every head's weights
        beside the layer's output. The first thing a new trace is needed for, on a worker."""
        t = self.trace
        layer = min(layer, len(t.layers) - 1)
        head = min(head, len(t.layers[layer].heads) - 1)
        names = ("q", "k", "v") if stage == "projections" else (STAGE_MATRIX[stage][0],)
        if t.settings.mask != "none":
            names = (*names, "masked")
        for name in names:
            self.get(layer, head, name)
        if stage == "weights":
            self.vector(layer, head, "row_sums")
            self.vector(layer, head, "row_entropy")
        if stage == "heads":
            for hi in range(len(t.layers[layer].heads)):
                self.get(layer, hi, "weights")

    def prefill(self, layer: int = 0, head: int = 0) -> None:
        """Reduce what the window shows for (layer, head): every stage of that head, the layer's
        matrices and every head's weights (the overview). Runs off the UI thread; any other
        head's stages are reduced when first asked for."""
        t = self.trace
        layer = min(layer, len(t.layers) - 1)
        lt = t.layers[layer]
        head = min(head, len(lt.heads) - 1)
        for name in LAYER_MATRICES:
            self.get(layer, 0, name)
        for name in HEAD_STAGES:
            self.get(layer, head, name)
        self.vector(layer, head, "row_sums")
        self.vector(layer, head, "row_entropy")
        for hi in range(len(lt.heads)):
            self.get(layer, hi, "weights")

    def factor(self) -> int:
        """The reduction factor of the N × N stages (1: shown cell by cell)."""
        return self.get(0, 0, "scores")[1]
