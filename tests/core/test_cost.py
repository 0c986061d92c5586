"""The cost estimate the window uses to decide where to compute, against a count from a trace."""

from __future__ import annotations

import pytest

from attnstudio.core import Settings, compute
from attnstudio.core.cost import PER_HEAD, multiply_adds


@pytest.mark.parametrize(("n", "d", "heads", "layers"), [(3, 4, 1, 1), (11, 64, 8, 2), (40, 48, 3, 3)])
def test_multiply_adds_count_every_product_of_the_trace(n: int, d: int, heads: int, layers: int) -> None:
    s = Settings(d_model=d, heads=heads, layers=layers)
    tr = compute(" ".join(f"w{i}" for i in range(n)), s)
    count = 0
    for layer in tr.layers:
        for h in layer.heads:
            # Each product of an a × b by a b × c matrix is a·b·c multiply-adds.
            for m in (h.q, h.k, h.v):  # X (n × d) · W (d × d_k)
                count += m.shape[0] * d * m.shape[1]
            count += h.scores.shape[0] * h.scores.shape[1] * h.q.shape[1]  # Q · Kᵀ
            count += h.output.shape[0] * h.weights.shape[1] * h.output.shape[1]  # A · V
            count += PER_HEAD
        count += layer.concat.shape[0] * layer.concat.shape[1] * d  # concat · W_O
    assert multiply_adds(n, s) == count


def test_the_largest_model_costs_more_than_many_tokens_of_the_default_one() -> None:
    largest = Settings(d_model=1024, heads=64, layers=8)
    assert multiply_adds(11, largest) > 100 * multiply_adds(128, Settings())
