"""How many bytes a trace needs, checked against the memory there is before computing.

A trace keeps every stage of every head (four N × N matrices each), so its size grows as
layers × heads × N²: 50,000 tokens would need tens of GB. Allocating that fails deep inside
NumPy after a long wait (or the system starts swapping); estimating first lets the core
refuse at once, naming the size and the memory available.
"""

from __future__ import annotations

import os

import numpy as np

from attnstudio.core.errors import NotEnoughMemoryError
from attnstudio.core.settings import Settings

# N × N scratch arrays alive at once while one head is normalised (shifted logits, logits / T,
# the normaliser's own temporaries), on top of the stored trace.
WORKING_SQUARES = 3
# Needs below this are not checked: reading the system's memory costs time on every
# recompute, and a small trace that does not fit is not the trace's doing.
CHECK_ABOVE = 32 * 2**20


def trace_bytes(n: int, settings: Settings) -> int:
    """Bytes of the arrays a trace of ``n`` tokens keeps, every stage materialised.

    Per head: q, k, v and output (N × d_k), scores, scaled, masked and weights (N × N), row
    sums and entropies (N). Per layer: input, concat, output and residual (N × d_model) and
    the weights W_Q, W_K, W_V, W_O. Per trace: embeddings, positions and x (N × d_model).
    """
    item = np.dtype(settings.dtype).itemsize
    d, d_k = settings.d_model, settings.d_k
    per_head = 4 * n * d_k + 4 * n * n + 2 * n
    per_layer = settings.heads * per_head + 4 * n * d + 4 * d * d
    return item * (settings.layers * per_layer + 3 * n * d)


def needed_bytes(n: int, settings: Settings) -> int:
    """``trace_bytes`` plus the scratch arrays of the head being computed and the mask."""
    mask = n * n if settings.mask != "none" else 0
    return trace_bytes(n, settings) + WORKING_SQUARES * n * n * np.dtype(settings.dtype).itemsize + mask


def available_bytes() -> int | None:
    """Memory the system can give without swapping, or None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def check_memory(n: int, settings: Settings, available: int | None = None) -> int:
    """Return the bytes a trace of ``n`` tokens needs; raise NotEnoughMemoryError when they are
    more than ``available`` (default: what the system has available now)."""
    need = needed_bytes(n, settings)
    if available is None:
        if need < CHECK_ABOVE:
            return need
        available = available_bytes()
    if available is not None and need > available:
        layers, heads = settings.layers, settings.heads
        raise NotEnoughMemoryError(
            f"{n:,} tokens × {layers} layer{'s' * (layers != 1)} × {heads} head{'s' * (heads != 1)} "
            f"needs ≈ {format_bytes(need)}; {format_bytes(available)} available"
        )
    return need


def format_bytes(count: int) -> str:
    """A size as a person reads it: 51 GB, 2.4 GB, 380 MB (decimal units)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            value = count / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{count} bytes"
