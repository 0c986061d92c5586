"""Machine-independent pseudo-random numbers derived from text keys.

Every toy number (embeddings, weight matrices) comes from a BLAKE2b hash of a key such as
``"embed|7|cat"``, so the same token and seed give the same values on every machine, every
Python (no dependence on the randomized built-in ``hash``) and every NumPy version (no
dependence on NumPy's generator streams).
"""

from __future__ import annotations

import hashlib

import numpy as np


def uniform(key: str, count: int, low: float = -1.0, high: float = 1.0, decimals: int = 2) -> np.ndarray:
    """``count`` values uniform in [low, high], rounded to ``decimals`` so they read well in a cell.

    Each value takes 8 bytes (little-endian) of the digest stream BLAKE2b(key|block), block
    = 0, 1, 2 …, 64-byte digests. The hashes run in C through ``map`` and the words are
    converted in one NumPy cast: the loop in Python cost 0.5 µs a value, 18 s for the
    matrices of the largest model. The numbers are the same to the last bit (tests/core/
    test_seeded.py keeps the loop as the reference).
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    blocks = -(-count // 8)
    if blocks == 0:
        return np.round(low + (high - low) * np.zeros(0), decimals)
    prefix = f"{key}|".encode()
    suffixes = _suffixes(blocks)
    # In slices of CHUNK_BLOCKS: one C call keeps Python's lock until it returns, and the
    # window's UI thread must not wait 60 ms (W_O at d_model 1024) while a worker seeds.
    digests = b"".join(
        b"".join(map(_DIGEST, map(_BLAKE2B, map(prefix.__add__, suffixes[i:i + CHUNK_BLOCKS]))))
        for i in range(0, blocks, CHUNK_BLOCKS)
    )
    # low + (high - low) * unit, rounded, done in place: the same operations on the same
    # values (IEEE + and × commute), without three more arrays of the full size.
    values = units(np.frombuffer(digests, dtype="<u8", count=count))
    values *= high - low
    values += low
    return np.round(values, decimals, out=values)


def units(words: np.ndarray) -> np.ndarray:
    """64-bit words as floats in [0, 1]: each word rounded to the nearest float64, then / 2^64.

    The same rounding as Python's ``float(int)`` (nearest, ties to even), which the
    derivation was first written with.
    """
    unit = words.astype(np.float64)
    unit /= float(2**64)
    return unit


CHUNK_BLOCKS = 4096  # ~2 ms of hashing
_BLAKE2B = hashlib.blake2b  # digest_size defaults to 64, the size the derivation uses
_DIGEST = hashlib.blake2b.digest
_SUFFIXES: list[tuple[bytes, ...]] = [()]  # one slot, replaced whole


def _suffixes(blocks: int) -> tuple[bytes, ...]:
    """The block numbers as the key's text ends with them, b"0" … , at least ``blocks`` of them.

    Shared by every key; grown by replacing the tuple, so a thread reading it never sees
    half an extension.
    """
    have = _SUFFIXES[0]
    if len(have) < blocks:
        have = tuple(str(b).encode() for b in range(max(blocks, 2 * len(have))))
        _SUFFIXES[0] = have
    return have[:blocks] if len(have) > blocks else have


def matrix(key: str, rows: int, cols: int, scale: float = 1.0, decimals: int = 2) -> np.ndarray:
    """A new rows × cols matrix of values uniform in [-scale, scale] for ``key`` (the caller may edit it).

    Not remembered here: core.weights keeps whole seeded layers, read-only.
    """
    return uniform(key, rows * cols, -scale, scale, decimals).reshape(rows, cols)
