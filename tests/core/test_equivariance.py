"""Attention without positions is permutation-equivariant; positional encoding breaks that.

If the tokens are reordered by ``perm`` (new token i = old token perm[i]), then with no
positional encoding and no mask every stage follows: A' = A[perm][:, perm] and Z' = Z[perm].
"""

from __future__ import annotations

import numpy as np
import pytest

from attnstudio.core import Settings, compute

WORDS = ["dog", "bites", "man", "loudly", "at", "noon", "today"]


def permutations() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [np.array([2, 1, 0, 3, 4, 5, 6]), np.arange(7)[::-1].copy(), *(rng.permutation(7) for _ in range(3))]


@pytest.mark.parametrize("normalizer", ["softmax", "sparsemax", "entmax15"])
@pytest.mark.parametrize("perm", permutations(), ids=lambda p: "".join(map(str, p)))
def test_without_positions_attention_is_permuted(normalizer: str, perm: np.ndarray) -> None:
    s = Settings(d_model=8, heads=2, layers=2, normalizer=normalizer, positional=False)
    base = compute(WORDS, s)
    moved = compute([WORDS[i] for i in perm], s)
    for lb, lm in zip(base.layers, moved.layers):
        for hb, hm in zip(lb.heads, lm.heads):
            np.testing.assert_allclose(hm.weights, hb.weights[perm][:, perm], atol=1e-12)
            np.testing.assert_allclose(hm.scores, hb.scores[perm][:, perm], atol=1e-12)
            np.testing.assert_allclose(hm.output, hb.output[perm], atol=1e-12)
        np.testing.assert_allclose(lm.residual, lb.residual[perm], atol=1e-12)


def test_with_given_embeddings_too() -> None:
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(6, 4))
    perm = np.array([3, 0, 5, 1, 4, 2])
    tokens = [f"t{i}" for i in range(6)]
    s = Settings(d_model=4, heads=2)
    base = compute(tokens, s, embeddings=emb).head(0, 1)
    moved = compute([tokens[i] for i in perm], s, embeddings=emb[perm]).head(0, 1)
    np.testing.assert_allclose(moved.weights, base.weights[perm][:, perm], atol=1e-12)
    np.testing.assert_allclose(moved.output, base.output[perm], atol=1e-12)


@pytest.mark.parametrize("perm", permutations()[:3], ids=lambda p: "".join(map(str, p)))
def test_with_positions_attention_is_not_permuted(perm: np.ndarray) -> None:
    s = Settings(d_model=8, heads=2, layers=2, positional=True)
    base = compute(WORDS, s)
    moved = compute([WORDS[i] for i in perm], s)
    for lb, lm in zip(base.layers, moved.layers):
        for hb, hm in zip(lb.heads, lm.heads):
            assert not np.allclose(hm.weights, hb.weights[perm][:, perm], atol=1e-6)
    # The positions themselves do not move with the tokens: P is the same for both orders.
    np.testing.assert_array_equal(base.positions, moved.positions)


def test_dog_bites_man_lesson_claim() -> None:
    # The dog-bites-man lesson: off, one matrix is the other's permutation; on, it is not.
    perm = [2, 1, 0]
    for positional, permuted in ((False, True), (True, False)):
        s = Settings(d_model=4, heads=1, positional=positional)
        a = compute("dog bites man", s).head().weights
        b = compute("man bites dog", s).head().weights
        assert np.allclose(b, a[perm][:, perm], atol=1e-12) is permuted
