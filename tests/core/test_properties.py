"""Property tests: any allowed input computes without error, and every weights row is a distribution."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnstudio.core import Settings, compute
from attnstudio.core.matrices import MAX_ABS
from attnstudio.core.normalizers import entmax15, softmax, sparsemax

QUICK = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def runs(draw):
    """A sentence length, settings and embeddings, including embeddings at the ±MAX_ABS limit."""
    n = draw(st.integers(1, 64))
    d_model = draw(st.integers(1, 64))
    heads = draw(st.sampled_from([h for h in range(1, d_model + 1) if d_model % h == 0]))
    s = Settings(
        d_model=d_model,
        heads=heads,
        layers=draw(st.integers(1, 2)),
        normalizer=draw(st.sampled_from(["softmax", "sparsemax", "entmax15"])),
        mask=draw(st.sampled_from(["none", "causal"])),
        positional=draw(st.booleans()),
        scale=draw(st.booleans()),
        temperature=draw(st.sampled_from([1e-3, 0.5, 1.0, 7.0])),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    magnitude = draw(st.sampled_from([0.0, 1e-6, 1.0, 1e3, MAX_ABS]))
    shape = draw(st.sampled_from(["normal", "signs", "same-row", "one-big"]))
    if shape == "normal":
        emb = rng.normal(size=(n, d_model)) * magnitude
    elif shape == "signs":  # every entry at ±magnitude: the largest allowed values everywhere
        emb = rng.choice([-1.0, 1.0], size=(n, d_model)) * magnitude
    elif shape == "same-row":  # every token the same: ties in every row
        emb = np.tile(rng.normal(size=d_model), (n, 1)) * magnitude
    else:
        emb = rng.normal(size=(n, d_model))
        emb[rng.integers(n), rng.integers(d_model)] = magnitude
    return s, np.clip(emb, -MAX_ABS, MAX_ABS)


@QUICK
@given(runs())
def test_any_allowed_input_gives_finite_rows_that_sum_to_one(run) -> None:
    s, emb = run
    n = emb.shape[0]
    trace = compute([f"t{i}" for i in range(n)], s, embeddings=emb)
    assert trace.warnings == ()
    for layer in trace.layers:
        assert np.all(np.isfinite(layer.residual))
        for h in layer.heads:
            assert h.nonfinite_weights == 0
            assert np.all(np.isfinite(h.weights)) and np.all(h.weights >= 0)
            np.testing.assert_allclose(h.weights.sum(axis=-1), 1.0, rtol=0, atol=1e-9)
            if s.mask == "causal":
                assert np.all(h.weights[np.triu_indices(n, k=1)] == 0.0)


rows = st.lists(st.floats(min_value=-1e300, max_value=1e300, allow_nan=False), min_size=1, max_size=64)


@QUICK
@given(rows, st.data())
def test_normalizers_on_huge_rows_give_no_nan(row: list[float], data) -> None:
    x = np.array(row)
    masked = np.array(data.draw(st.lists(st.booleans(), min_size=len(row), max_size=len(row))))
    masked[data.draw(st.integers(0, len(row) - 1))] = False  # at least one entry stays
    x[masked] = -np.inf
    for f in (softmax, sparsemax, entmax15):
        p = f(x)
        assert not np.any(np.isnan(p)), f.__name__
        assert np.all(p >= 0)
        assert np.all(p[masked] == 0.0)
        np.testing.assert_allclose(p.sum(), 1.0, rtol=0, atol=1e-9)
        # The largest score always gets the largest weight.
        assert p[int(np.argmax(x))] == p.max()
