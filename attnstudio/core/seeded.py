"""Machine-independent pseudo-random numbers derived from text keys.

Every toy number (embeddings, weight matrices) comes from a key such as ``"embed|7|4|cat"``:

1. the key: BLAKE2b with a 16-byte digest of the key's UTF-8 text, read as two
   little-endian 64-bit words k0, k1;
2. the words: Philox4x64-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
   easy as 1, 2, 3", SC 2011) under that key; block b = 0, 1, 2 … encrypts the 256-bit
   counter b and gives four 64-bit words, taken in order;
3. the values: ``low + (high - low) × unit`` with ``unit = (word >> 11) / 2^53``, the
   word's top 53 bits as an exact float64 in [0, 1); rounded to ``decimals`` as NumPy
   rounds (× 10^decimals, to the nearest whole number, ÷ 10^decimals) so they read well in
   a cell.

So the same token and seed give the same values on every machine, every Python (no
dependence on the randomized built-in ``hash``) and every NumPy: the words come from
``numpy.random.Philox.random_raw``, a raw bit stream NumPy keeps stable by policy, and
tests/core/test_seeded.py checks it against a plain-Python Philox and the algorithm's
published known answers. Until this derivation the words were BLAKE2b-512 digests of
"key|block", one hash call per 8 values: 2 s at the largest model, where Philox takes a
fraction of that (docs/architecture.md, "Seeding").
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np


def uniform(key: str, count: int, low: float = -1.0, high: float = 1.0, decimals: int = 2) -> np.ndarray:
    """``count`` values uniform in [low, high], rounded to ``decimals`` (the derivation above).

    Generated in slices of CHUNK values written straight into the result: one slice's
    words stay in the processor's cache (a single 33-million-word call ran three times
    slower per word), and Philox runs without Python's lock, so a worker thread seeding
    the largest model leaves the UI thread free.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    values = np.empty(count, dtype=np.float64)
    if count == 0:
        return values
    stream = _stream(key)
    # (high - low) * 2^-53 is exact (a power of two), so word * step is the one rounding of
    # unit * (high - low) that the derivation names.
    step = (high - low) * _TWO_TO_MINUS_53
    for start in range(0, count, CHUNK):
        part = values[start:start + CHUNK]
        words = stream.random_raw(part.size)
        # 53 bits fit an int64, whose cast to float64 is exact and fast (NumPy's cast of a
        # full uint64 is about ten times slower than the rest of the work together).
        words >>= 11
        np.multiply(words.view(np.int64), step, out=part)
        part += low
        np.round(part, decimals, out=part)  # each step in place while the slice is in cache
    return values


def philox_key(key: str) -> list[int]:
    """The Philox key of a text key: BLAKE2b-128 of its UTF-8 text as two little-endian words."""
    digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
    return [int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")]


def matrix(key: str, rows: int, cols: int, scale: float = 1.0, decimals: int = 2) -> np.ndarray:
    """A new rows × cols matrix of values uniform in [-scale, scale] for ``key`` (the caller may edit it).

    Row-major: row r holds values r·cols … r·cols + cols − 1 of the key's stream. Not
    remembered here: core.weights keeps whole seeded layers, read-only.
    """
    return uniform(key, rows * cols, -scale, scale, decimals).reshape(rows, cols)


CHUNK = 65_536  # values per slice: 512 KB of words, ~0.3 ms of Philox
_TWO_TO_MINUS_53 = 2.0**-53
_ALL_ONES = np.full(4, 2**64 - 1, dtype=np.uint64)  # NumPy adds 1 before each block: block 0 is counter 0
_NO_BUFFER = np.zeros(4, dtype=np.uint64)
_PER_THREAD = threading.local()  # one generator per thread, re-keyed for each key


def _stream(key: str) -> np.random.Philox:
    """This thread's Philox generator, set to the start of ``key``'s stream.

    Re-keying one generator costs a few microseconds where building a new one costs ~20
    (it gathers entropy it will not use): an embedding hashes one key per token.
    """
    words = getattr(_PER_THREAD, "philox", None)
    if words is None:
        words = _PER_THREAD.philox = np.random.Philox(key=[0, 0])
    words.state = {
        "bit_generator": "Philox",
        "state": {"counter": _ALL_ONES, "key": philox_key(key)},
        "buffer": _NO_BUFFER,
        "buffer_pos": 4,  # the buffer is spent: the next word starts a block
        "has_uint32": 0,
        "uinteger": 0,
    }
    return words
