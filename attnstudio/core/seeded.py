"""Machine-independent pseudo-random numbers derived from text keys.

Every toy number (embeddings, weight matrices) comes from a BLAKE2b hash of a key such as
``"embed|7|cat"``, so the same token and seed give the same values on every machine, every
Python (no dependence on the randomized built-in ``hash``) and every NumPy version (no
dependence on NumPy's generator streams).
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np


def uniform(key: str, count: int, low: float = -1.0, high: float = 1.0, decimals: int = 2) -> np.ndarray:
    """``count`` values uniform in [low, high], rounded to ``decimals`` so they read well in a cell.

    Each value takes 8 bytes of the digest stream BLAKE2b(key|block).
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    words: list[int] = []
    block = 0
    while len(words) < count:
        digest = hashlib.blake2b(f"{key}|{block}".encode(), digest_size=64).digest()
        words.extend(int.from_bytes(digest[i : i + 8], "little") for i in range(0, 64, 8))
        block += 1
    unit = np.array(words[:count], dtype=np.float64) / float(2**64)
    values = low + (high - low) * unit
    return np.round(values, decimals)


def matrix(key: str, rows: int, cols: int, scale: float = 1.0, decimals: int = 2) -> np.ndarray:
    """A new rows × cols matrix of values uniform in [-scale, scale] for ``key`` (the caller may edit it)."""
    return _cached_matrix(key, rows, cols, scale, decimals).copy()


@functools.lru_cache(maxsize=256)
def _cached_matrix(key: str, rows: int, cols: int, scale: float, decimals: int) -> np.ndarray:
    # Hashing costs ~0.4 s for the four 512 × 512 matrices of a wide model; changing the
    # sentence or temperature must not pay it again. Read-only so the cache cannot be edited.
    m = uniform(key, rows * cols, -scale, scale, decimals).reshape(rows, cols)
    m.flags.writeable = False
    return m
