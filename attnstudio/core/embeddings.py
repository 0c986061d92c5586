"""Toy token embeddings and sinusoidal positional encodings.

Embeddings are looked up by the token's case-folded text, so "The" and "the" share a
vector (one word, one meaning) and a class sees the same numbers on every machine.
"""

from __future__ import annotations

import functools

import numpy as np

from attnstudio.core import seeded


def token_vector(token: str, d_model: int, seed: int = 0) -> np.ndarray:
    """The toy embedding of one token: d_model values in [-1, 1], two decimals (read-only).

    Depends only on (token.casefold(), d_model, seed).
    """
    return _vector(token.casefold(), d_model, seed)


@functools.lru_cache(maxsize=2048)  # at most 16 MB (d_model 1024): a sentence's words stay seeded
def _vector(key: str, d_model: int, seed: int) -> np.ndarray:
    # Every edit recomputes the trace, and seeding each word's vector again cost 0.6 ms of a
    # 64-token edit; the vectors never change, so they are kept, read-only.
    v = seeded.uniform(f"embed|{seed}|{d_model}|{key}", d_model)
    v.setflags(write=False)
    return v


def embed(tokens: list[str], d_model: int, seed: int = 0) -> np.ndarray:
    """X: one row per token (N × d_model); a repeated token repeats its row."""
    cache: dict[str, np.ndarray] = {}
    rows = []
    for token in tokens:
        key = token.casefold()
        if key not in cache:
            cache[key] = token_vector(token, d_model, seed)
        rows.append(cache[key])
    return np.array(rows, dtype=np.float64).reshape(len(tokens), d_model)


def sinusoidal_positions(n: int, d_model: int) -> np.ndarray:
    """P (N × d_model): P[pos, 2i] = sin(pos / 10000^(2i/d)), P[pos, 2i+1] = cos(same angle).

    The encoding of "Attention Is All You Need"; position 0 is [0, 1, 0, 1, ...].
    """
    pos = np.arange(n, dtype=np.float64)[:, None]
    pair = np.arange(d_model, dtype=np.float64)[None, :] // 2
    angle = pos / np.power(10000.0, 2.0 * pair / max(d_model, 1))
    even = (np.arange(d_model) % 2 == 0)[None, :]
    return np.where(even, np.sin(angle), np.cos(angle))
