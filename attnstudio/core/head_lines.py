"""The weights a line view draws: one head's attention weights, or the mean of a layer's heads.

BertViz's "head view" draws a line from each query token to each key token, as strong as the
weight; averaged over heads it shows where a layer as a whole looks. The window's line view
(qt/line_view.py) draws what this returns and computes nothing itself.
"""

from __future__ import annotations

import numpy as np

from attnstudio.core.trace import Trace


def line_weights(trace: Trace, layer: int, head: int | None = None) -> np.ndarray:
    """N × N host weights: row i holds query i's weights over the keys. ``head`` None: the
    mean over the layer's heads, (1/h)·Σ_h A_h, whose rows still sum to 1 (each A_h's do)."""
    heads = trace.layers[layer].heads
    if head is not None:
        return np.asarray(trace.backend.asnumpy(heads[head].weights), dtype=np.float64)
    total = np.zeros((trace.n, trace.n))
    for h in heads:
        total += np.asarray(trace.backend.asnumpy(h.weights), dtype=np.float64)
    return total / len(heads)
