"""A real model's trace on CuPy equals the one on NumPy (where a working CuPy exists)."""

from __future__ import annotations

import numpy as np
import pytest

from attnstudio.core.backends import cupy_status, resolve_backend

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(cupy_status().module is None, reason=f"no working CuPy: {cupy_status().reason}")
def test_cupy_gives_numpys_numbers(minilm) -> None:
    sentence = "The trophy doesn't fit in the suitcase because it is too big."
    on_cpu = minilm.trace(sentence, "numpy")
    on_gpu = minilm.trace(sentence, resolve_backend("cupy"))
    assert on_gpu.backend.name == "cupy" and not on_gpu.warnings
    host = on_gpu.host()
    for lc, lg in zip(on_cpu.layers, host.layers):
        for hc, hg in zip(lc.heads, lg.heads):
            for stage in ("q", "k", "v", "scores", "weights", "output"):
                np.testing.assert_allclose(hg.stage(stage), hc.stage(stage), atol=1e-4, rtol=1e-4)
        for mc, mg in zip(lc.after, lg.after):
            assert isinstance(mg.matrix, np.ndarray)
            np.testing.assert_allclose(mg.matrix, mc.matrix, atol=1e-3, rtol=1e-4)
        np.testing.assert_allclose(lg.residual, lc.residual, atol=1e-4, rtol=1e-4)
