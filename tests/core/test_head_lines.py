"""The line view's weights: one head's, or the mean over a layer's heads, against a loop."""

from __future__ import annotations

import numpy as np

from attnstudio.core.head_lines import line_weights
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import Settings
from attnstudio.core.weights import Weights


def test_one_head_and_the_mean_of_the_heads():
    s = Settings(d_model=8, heads=4, layers=2, seed=3).validated()
    tokens = ["the", "cat", "sat", "on", "the", "mat"]
    tr = compute(tokens, s, Weights.seeded(s))
    for layer in range(2):
        for head in range(4):
            np.testing.assert_array_equal(line_weights(tr, layer, head), tr.head(layer, head).weights)
        n = len(tokens)
        mean = [[0.0] * n for _ in range(n)]
        for head in range(4):
            w = tr.head(layer, head).weights
            for i in range(n):
                for j in range(n):
                    mean[i][j] += float(w[i, j]) / 4
        got = line_weights(tr, layer)
        np.testing.assert_allclose(got, mean, rtol=0, atol=1e-15)
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)
