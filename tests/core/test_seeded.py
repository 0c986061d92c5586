"""Seeding follows its documented derivation (core/seeded.py) to the last bit.

The reference (tests/core/seeded_reference.py) is Philox4x64-10 in plain Python integers,
checked against the algorithm's published known answers; the app's values come from
NumPy's Philox in slices. Every lesson's claims and every saved workspace rest on these
numbers, so no slice boundary, thread or cast may move a single value.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from seeded_reference import KNOWN_ANSWERS, philox4x64_10, reference_uniform, reference_words

from attnstudio.core import Settings, Weights, seeded
from attnstudio.core.errors import MatrixError


def assert_same_bits(got: np.ndarray, want: list[float] | np.ndarray) -> None:
    """Equal to the last bit, when compared with ``want`` flattened (-0.0 and 0.0 differ here)."""
    expected = np.asarray(want, dtype=np.float64).ravel()
    assert got.dtype == np.float64 and got.size == expected.size
    assert np.array_equal(got.ravel().view(np.uint64), expected.view(np.uint64))


KEYS = [
    "", "x", "embed|0|4|cat", "embed|7|1024|it's", "embed|3|20|γάτα", "embed|-5|8|猫🐈",
    "w_q|0|1024|64|7|63", "w_o|-9223372036854775807|1024|64|7", "w_k|12345|6|3|1|2",
    "a" * 200, "|" * 130, "embed|0|16|\u00e9\u0301 \t\n",
]
COUNTS = [0, 1, 3, 4, 5, 7, 8, 9, 63, 64, 65, 1001]


def test_the_reference_philox_gives_the_published_known_answers() -> None:
    for counter, key, answer in KNOWN_ANSWERS:
        assert philox4x64_10(counter, key) == answer


@pytest.mark.parametrize("key", KEYS)
def test_uniform_equals_the_reference_bit_for_bit(key: str) -> None:
    for low, high, decimals in ((-1.0, 1.0, 2), (-math.sqrt(3 / 1024), math.sqrt(3 / 1024), 2),
                                (0.0, 1.0, 6), (-0.5, 0.25, 0), (0.0, 1.0, 15)):
        want = reference_uniform(key, max(COUNTS), low, high, decimals)
        for count in COUNTS:  # a stream's first values do not depend on how many are asked for
            assert_same_bits(seeded.uniform(key, count, low, high, decimals), want[:count])


def test_slices_join_without_a_seam() -> None:
    # Values are generated CHUNK at a time: around each boundary, and past the second one.
    n = 2 * seeded.CHUNK + 5
    got = seeded.uniform("w_o|1|1024|8|0", n, 0.0, 1.0, 15)
    for first in (0, seeded.CHUNK - 3, 2 * seeded.CHUNK - 3):
        want = reference_uniform("w_o|1|1024|8|0", 8, 0.0, 1.0, 15, first=first)
        assert_same_bits(got[first:first + 8], want)
    for count in (seeded.CHUNK - 1, seeded.CHUNK, seeded.CHUNK + 1):
        assert_same_bits(seeded.uniform("w_o|1|1024|8|0", count, 0.0, 1.0, 15)[-3:],
                         reference_uniform("w_o|1|1024|8|0", 3, 0.0, 1.0, 15, first=count - 3))


def test_many_keys_and_shapes_match_the_reference() -> None:
    shapes = [(1, 1), (1, 9), (9, 1), (4, 2), (6, 2), (3, 7), (1024, 1), (17, 33)]
    for i in range(120):
        key = f"w_{'qkv'[i % 3]}|{i * 7919 - 500}|{(i % 11) + 1}|{i % 5}|{i}|ü{i}"
        rows, cols = shapes[i % len(shapes)]
        a = min(1.0, math.sqrt(3.0 / rows))
        got = seeded.matrix(key, rows, cols, a)
        assert got.shape == (rows, cols)
        assert_same_bits(got, reference_uniform(key, rows * cols, -a, a))  # row-major


def test_words_are_the_keys_philox_stream_from_counter_zero() -> None:
    # Values in [0, 1] with 15 decimals recover each word to within 2^-49 of its unit.
    got = seeded.uniform("embed|0|4|cat", 12, 0.0, 1.0, 15)
    words = reference_words("embed|0|4|cat", 12)
    assert np.allclose(got, [(w >> 11) / 2**53 for w in words], rtol=0, atol=1e-15)


def test_values_are_uniform_in_the_range_and_rounded() -> None:
    values = seeded.uniform("w_o|0|1024|64|0", 1_000_000, -0.25, 0.75, 2)
    assert values.min() == -0.25 and values.max() == 0.75
    assert np.array_equal(values, np.round(values, 2))
    # 101 possible values; the two ends get half a step each. Each count is within 6
    # standard deviations of its expectation (a failure by chance: < 1e-7 per run).
    counts = np.bincount(np.rint((values + 0.25) * 100).astype(int), minlength=101)
    expected = np.full(101, 1_000_000 / 100)
    expected[[0, -1]] /= 2
    assert np.all(np.abs(counts - expected) < 6 * np.sqrt(expected))


def test_threads_seeding_at_once_get_each_keys_own_numbers() -> None:
    # Each thread re-keys its own generator: two threads never see each other's stream.
    keys = [f"w_q|{i}|64|4|0|0" for i in range(6)]
    want = {k: reference_uniform(k, 300) for k in keys}
    wrong: list[str] = []

    def seed(k: str) -> None:
        for _ in range(200):
            if seeded.uniform(k, 300).tolist() != want[k]:
                wrong.append(k)

    threads = [threading.Thread(target=seed, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError):
        seeded.uniform("k", -1)


@pytest.mark.slow
def test_seeded_weights_at_the_maxima_equal_the_reference_on_a_sample() -> None:
    s = Settings(d_model=1024, heads=64, layers=8, seed=3)
    w = Weights.seeded(s)
    a = min(1.0, math.sqrt(3.0 / 1024))
    for li, hi, p in ((0, 0, "w_q"), (7, 63, "w_v"), (3, 17, "w_k"), (5, 40, "w_q")):
        want = reference_uniform(f"{p}|3|1024|64|{li}|{hi}", 1024 * 16, -a, a)
        assert_same_bits(getattr(w.layers[li].heads[hi], p), want)
    w_o = w.layers[6].w_o
    for row in (0, 1, 511, 1023):  # the stream is counter-based: any row can be computed alone
        assert_same_bits(w_o[row], reference_uniform("w_o|3|1024|64|6", 1024, -a, a, first=row * 1024))


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
