"""How much arithmetic one trace takes, estimated before computing it.

The window computes a small trace at once, on the UI thread (no flicker, a frame or less),
and sends anything larger to a worker thread. Tokens alone do not say which is which: 11
tokens at d_model 1024, 64 heads and 8 layers take half a second (512 heads, 8 products of
11 × 1024 by 1024 × 1024), more than 128 tokens of the default model.
"""

from __future__ import annotations

from attnstudio.core.settings import Settings

# The fixed cost of one head's stages (a dozen NumPy calls, ~0.1 ms) counted as multiply-adds.
PER_HEAD = 50_000


def multiply_adds(n: int, settings: Settings) -> int:
    """Multiply-adds of a trace of ``n`` tokens, plus each head's fixed cost.

    Per layer: Q, K and V of every head (3 · N · d_model · d_k · heads = 3 · N · d_model²),
    scores and A·V (2 · N² · d_k · heads = 2 · N² · d_model), and concat · W_O (N · d_model²).
    """
    d = settings.d_model
    per_layer = 4 * n * d * d + 2 * n * n * d + settings.heads * PER_HEAD
    return settings.layers * per_layer
