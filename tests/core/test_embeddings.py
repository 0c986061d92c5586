"""Toy embeddings, seeded weights and sinusoidal positions: deterministic and as documented."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from seeded_reference import reference_uniform

from attnstudio.core import Settings, Weights
from attnstudio.core.embeddings import embed, sinusoidal_positions, token_vector


def test_token_vector_matches_documented_derivation() -> None:
    # The reference is core/seeded.py's derivation in plain Python (tests/core/seeded_reference.py).
    # 20 values need five 4-word Philox blocks: the block counter is exercised too.
    for token, d, seed in (("cat", 4, 0), ("it's", 8, 7), ("γάτα", 20, 3), ("Straße", 3, 1)):
        expected = reference_uniform(f"embed|{seed}|{d}|{token.casefold()}", d)
        assert token_vector(token, d, seed).tolist() == expected


def test_pinned_values() -> None:
    # Literal numbers: a class relies on seeing these on every machine. A change in the
    # derivation (hash, key format, rounding, scale) must be a deliberate, visible decision.
    # These are the Philox4x64-10 derivation's (BLAKE2b-512 blocks gave other numbers before).
    assert token_vector("cat", 4, 0).tolist() == [0.35, 0.92, 0.34, 0.55]
    assert token_vector("it's", 8, 7).tolist() == [-0.37, 0.53, 0.37, -0.02, 0.59, 0.65, -0.76, -0.26]
    w = Weights.seeded(Settings(d_model=4, heads=2, layers=2))
    assert w.layers[0].heads[0].w_q.tolist() == [[0.08, -0.1], [0.64, -0.1], [0.41, -0.21], [-0.59, -0.56]]
    assert w.layers[1].w_o[0].tolist() == [0.01, 0.76, -0.18, 0.09]


def test_seeded_weights_match_documented_derivation() -> None:
    s = Settings(d_model=6, heads=3, layers=2, seed=5)
    a = min(1.0, math.sqrt(3.0 / 6))
    w = Weights.seeded(s)
    for li, layer in enumerate(w.layers):
        for hi, head in enumerate(layer.heads):
            for name in ("w_q", "w_k", "w_v"):
                expected = reference_uniform(f"{name}|5|6|3|{li}|{hi}", 6 * 2, -a, a)
                assert getattr(head, name).shape == (6, 2)
                assert getattr(head, name).ravel().tolist() == expected
        assert layer.w_o.ravel().tolist() == reference_uniform(f"w_o|5|6|3|{li}", 36, -a, a)


def test_same_token_and_seed_same_vector_across_calls() -> None:
    first = token_vector("suitcase", 16, 3)
    for _ in range(3):
        assert np.array_equal(token_vector("suitcase", 16, 3), first)
    assert np.array_equal(Weights.seeded(Settings(d_model=8, heads=2)).layers[0].w_o,
                          Weights.seeded(Settings(d_model=8, heads=2)).layers[0].w_o)


_CHILD = (
    "import json; from attnstudio.core.embeddings import token_vector; "
    "from attnstudio.core import Settings, Weights; "
    "print(json.dumps([token_vector(t, 8, 7).tolist() for t in ('cat', 'it\\'s', '猫')] + "
    "[Weights.seeded(Settings(d_model=4, heads=2)).layers[0].heads[1].w_v.tolist()]))"
)


@pytest.mark.parametrize("hash_seed", ["0", "12345"])
def test_same_vector_in_a_process_with_another_hash_seed(hash_seed: str) -> None:
    # Python's built-in hash() of a str changes with PYTHONHASHSEED; the embeddings must not.
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
    here = [token_vector(t, 8, 7).tolist() for t in ("cat", "it's", "猫")]
    here.append(Weights.seeded(Settings(d_model=4, heads=2)).layers[0].heads[1].w_v.tolist())
    assert json.loads(out.stdout) == here


def test_different_seeds_tokens_and_sizes_differ() -> None:
    base = token_vector("cat", 8, 0)
    assert not np.array_equal(base, token_vector("cat", 8, 1))
    assert not np.array_equal(base, token_vector("dog", 8, 0))
    assert not np.array_equal(base[:4], token_vector("cat", 4, 0))  # d_model is part of the key
    w0 = Weights.seeded(Settings(d_model=4, seed=0)).layers[0].heads[0].w_q
    w1 = Weights.seeded(Settings(d_model=4, seed=1)).layers[0].heads[0].w_q
    assert not np.array_equal(w0, w1)


def test_values_are_two_decimal_numbers_in_range() -> None:
    v = token_vector("anything", 256, 9)
    assert v.min() >= -1.0 and v.max() <= 1.0
    assert np.array_equal(v, np.round(v, 2))
    assert len(set(v.tolist())) > 100  # not stuck on a few values


def test_embed_is_case_folded_and_repeats_rows() -> None:
    x = embed(["The", "cat", "the", "THE", "Cat"], 6, seed=2)
    assert x.shape == (5, 6) and x.dtype == np.float64
    assert np.array_equal(x[0], x[2]) and np.array_equal(x[0], x[3])
    assert np.array_equal(x[1], x[4])
    assert np.array_equal(x[1], token_vector("cat", 6, 2))
    assert not np.array_equal(x[0], x[1])


@pytest.mark.parametrize(("n", "d"), [(1, 1), (5, 4), (7, 5), (12, 16), (3, 64)])
def test_sinusoidal_positions_formula(n: int, d: int) -> None:
    p = sinusoidal_positions(n, d)
    assert p.shape == (n, d)
    for pos in range(n):
        for j in range(d):
            i = j // 2
            angle = pos / 10000 ** (2 * i / d)
            expected = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            assert p[pos, j] == pytest.approx(expected, abs=1e-12), (pos, j)


def test_position_zero_is_sin0_cos0() -> None:
    assert sinusoidal_positions(3, 6)[0].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert sinusoidal_positions(0, 4).shape == (0, 4)
