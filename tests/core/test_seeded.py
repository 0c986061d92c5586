"""The fast seeding gives the very numbers of the first, plain derivation, to the last bit.

Every lesson's claims and every saved workspace rest on these numbers, so the C-driven
hashing and the NumPy cast must not move a single value for any existing key.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from attnstudio.core import Settings, Weights, seeded
from attnstudio.core.errors import MatrixError


def reference_uniform(key: str, count: int, low: float = -1.0, high: float = 1.0, decimals: int = 2) -> np.ndarray:
    """The derivation as it was first written: a Python loop over the digest blocks."""
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


def assert_same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype == np.float64
    assert got.shape == want.shape
    assert np.array_equal(got, want)
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))  # -0.0 and 0.0 differ here


KEYS = [
    "", "x", "embed|0|4|cat", "embed|7|1024|it's", "embed|3|20|γάτα", "embed|-5|8|猫🐈",
    "w_q|0|1024|64|7|63", "w_o|-9223372036854775807|1024|64|7", "w_k|12345|6|3|1|2",
    "a" * 200, "|" * 130, "embed|0|16|\u00e9\u0301 \t\n",
]
COUNTS = [0, 1, 7, 8, 9, 16, 17, 63, 64, 65, 1000, 1024 * 16]


@pytest.mark.parametrize("key", KEYS)
def test_uniform_equals_the_reference_bit_for_bit(key: str) -> None:
    for count in COUNTS:
        for low, high, decimals in ((-1.0, 1.0, 2), (-math.sqrt(3 / 1024), math.sqrt(3 / 1024), 2),
                                    (0.0, 1.0, 6), (-0.5, 0.25, 0)):
            assert_same_bits(seeded.uniform(key, count, low, high, decimals),
                             reference_uniform(key, count, low, high, decimals))


def test_many_keys_and_shapes_match_the_reference() -> None:
    shapes = [(1, 1), (1, 9), (9, 1), (4, 2), (6, 2), (3, 7), (1024, 16), (512, 64), (17, 33)]
    for i in range(200):
        key = f"w_{'qkv'[i % 3]}|{i * 7919 - 500}|{(i % 11) + 1}|{i % 5}|{i}|ü{i}"
        rows, cols = shapes[i % len(shapes)]
        a = min(1.0, math.sqrt(3.0 / rows))
        want = reference_uniform(key, rows * cols, -a, a).reshape(rows, cols)
        assert_same_bits(seeded.matrix(key, rows, cols, a), want)


def test_word_to_float_rounding_is_pythons() -> None:
    # The cast must round each 64-bit word as float(int) does: nearest, ties to even.
    rng = np.random.default_rng(20261202)
    edges = [0, 1, 2**53 - 1, 2**53, 2**53 + 1, 2**53 + 2, 2**53 + 3, 2**63 - 1, 2**63, 2**63 + 1,
             2**63 + 1024, 2**63 + 1025, 2**63 + 3072, 2**64 - 1, 2**64 - 1024, 2**64 - 1025, 2**64 - 2048]
    words = edges + [int(w) for w in rng.integers(0, 2**64, size=20000, dtype=np.uint64)]
    got = seeded.units(np.array(words, dtype=np.uint64))
    want = np.array(words, dtype=np.float64) / float(2**64)
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))
    assert [float(w) for w in words] == np.array(words, dtype=np.uint64).astype(np.float64).tolist()


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError):
        seeded.uniform("k", -1)


@pytest.mark.slow
def test_seeded_weights_at_the_maxima_equal_the_reference_on_a_sample() -> None:
    s = Settings(d_model=1024, heads=64, layers=8, seed=3)
    w = Weights.seeded(s)
    a = min(1.0, math.sqrt(3.0 / 1024))
    for li, hi, p in ((0, 0, "w_q"), (7, 63, "w_v"), (3, 17, "w_k"), (5, 40, "w_q")):
        want = reference_uniform(f"{p}|3|1024|64|{li}|{hi}", 1024 * 16, -a, a).reshape(1024, 16)
        assert_same_bits(getattr(w.layers[li].heads[hi], p), want)
    want = reference_uniform("w_o|3|1024|64|6", 1024 * 1024, -a, a).reshape(1024, 1024)
    assert_same_bits(w.layers[6].w_o, want)


def test_read_only_seeding_is_shared_and_seeded_gives_copies_to_edit() -> None:
    from attnstudio.core.weights import SEEDED_LAYERS

    s = Settings(d_model=64, heads=4, layers=3, seed=11)
    shared = Weights.seeded_read_only(s)
    again = Weights.seeded_read_only(s)
    assert shared is not again and shared.layers[0] is not again.layers[0]  # lists are new
    assert shared.layers[2].heads[3].w_v is again.layers[2].heads[3].w_v  # arrays are one
    assert not shared.layers[1].w_o.flags.writeable
    editable = Weights.seeded(s)
    assert editable.layers[1].w_o.flags.writeable
    assert not np.shares_memory(editable.layers[1].w_o, shared.layers[1].w_o)
    assert_same_bits(editable.layers[1].w_o, shared.layers[1].w_o)
    editable.layers[1].w_o[0, 0] = 9.0
    assert Weights.seeded(s).layers[1].w_o[0, 0] != 9.0

    # A layer's keys do not name the number of layers: one more layer seeds only that one.
    before = SEEDED_LAYERS.misses
    more = Weights.seeded_read_only(s.with_(layers=4))
    assert SEEDED_LAYERS.misses == before + 1
    assert more.layers[0].heads[0].w_q is shared.layers[0].heads[0].w_q


def test_unseeded_values_counts_what_seeding_would_hash_and_checked_does_not_copy_seeded() -> None:
    from attnstudio.core.weights import SEEDED_LAYERS

    s = Settings(d_model=32, heads=4, layers=2, seed=424242)
    SEEDED_LAYERS.clear()
    assert Weights.unseeded_values(s) == 2 * (3 * 32 * 8 * 4 + 32 * 32)  # W_Q, W_K, W_V per head, W_O
    shared = Weights.seeded_read_only(s)
    assert Weights.unseeded_values(s) == 0
    assert Weights.unseeded_values(s.with_(layers=3)) == 3 * 32 * 8 * 4 + 32 * 32  # only the new layer
    checked = shared.checked(s)
    assert checked.layers[1].heads[2].w_k is shared.layers[1].heads[2].w_k  # nothing copied
    # A matrix that only looks like a seeded one (same values, its own memory) is checked.
    edited = shared.copy()
    edited.layers[0].w_o[3, 4] = np.nan
    edited.layers[0].w_o.setflags(write=False)
    with pytest.raises(MatrixError, match=r"W_O \(layer 1\) row 4, column 5 is not a number"):
        edited.checked(s)
