"""A real head's W_Q given instead of the model's own: that head's q is x·W′ + b_Q, computed
here in the test, and every head of the layers before is unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from attnstudio.core.errors import MatrixError
from attnstudio.core.trace import Trace

SENTENCE = "The cat sat on the mat."


def test_an_edited_w_q_changes_that_head_alone(minilm):
    layer, head = 2, 5
    own = minilm.w_q(layer, head)
    assert own.shape == (384, 32)
    edited = own.copy()
    edited[:, 0] = 0.0
    edited[7, 3] = 2.5
    before: Trace = minilm.trace(SENTENCE, "numpy", "float64")
    after: Trace = minilm.trace(SENTENCE, "numpy", "float64", w_q={(layer, head): edited})
    x = np.asarray(after.layers[layer].input)
    b = np.asarray(minilm.weights.layers[layer].query.b, dtype=np.float64)[head * 32:(head + 1) * 32]
    expected_q = np.zeros((after.n, 32))
    for i in range(after.n):  # x_i · W′ + b, as a loop
        for c in range(32):
            expected_q[i, c] = sum(x[i, r] * edited[r, c] for r in range(384)) + b[c]
    np.testing.assert_allclose(after.head(layer, head).q, expected_q, atol=1e-9)
    assert not np.allclose(after.head(layer, head).weights, before.head(layer, head).weights)
    for li in range(layer):
        for hi in range(12):
            np.testing.assert_array_equal(after.head(li, hi).weights, before.head(li, hi).weights)
    for hi in range(12):  # the other heads of the layer: same q
        if hi != head:
            np.testing.assert_array_equal(after.head(layer, hi).q, before.head(layer, hi).q)
    # The model itself is unchanged: the next trace is the model's own again.
    np.testing.assert_array_equal(minilm.trace(SENTENCE, "numpy", "float64").head(layer, head).q,
                                  before.head(layer, head).q)


def test_a_w_q_of_the_wrong_shape_is_refused(minilm):
    with pytest.raises(MatrixError, match="384 × 32"):
        minilm.trace(SENTENCE, w_q={(0, 0): np.zeros((32, 32))})
    with pytest.raises(MatrixError, match="6 layers"):
        minilm.trace(SENTENCE, w_q={(6, 0): np.zeros((384, 32))})
