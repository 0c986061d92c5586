"""The PyTorch peer of `attnstudio bench` computes what core.pipeline.compute computes for the
bench's settings, stage for stage, from the same inputs: otherwise its time would be the time
of other work. Skipped where PyTorch is not installed (as in CI)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnstudio.core.bench import bench_inputs, bench_settings
from attnstudio.core.bench_peers import numpy_blas_threads, torch_stages
from attnstudio.core.pipeline import compute

torch = pytest.importorskip("torch", reason="the PyTorch peer needs PyTorch")


@pytest.mark.parametrize(("n", "d_k"), [(5, 4), (64, 64), (300, 32)])
def test_the_torch_peer_computes_every_stage_the_pipeline_keeps(n: int, d_k: int) -> None:
    tokens, x, weights = bench_inputs(n, d_k)
    trace = compute(tokens, bench_settings(d_k), weights=weights, embeddings=x)
    head, layer = trace.head(0, 0), trace.layers[0]
    got = {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in torch_stages(torch, x, weights).items()}
    expected = {
        "x": trace.x, "q": head.q, "k": head.k, "v": head.v, "scores": head.scores, "scaled": head.scaled,
        "masked": head.masked, "weights": head.weights, "output": head.output, "row_sums": head.row_sums,
        "row_entropy": head.row_entropy, "concat": layer.concat, "layer_output": layer.output,
        "residual": layer.residual,
    }
    assert set(got) == {*expected, "nonfinite_weights"}
    for name, want in expected.items():
        assert got[name].dtype == np.float32 and want.dtype == np.float32, name
        np.testing.assert_allclose(got[name], want, rtol=2e-5, atol=2e-5, err_msg=name)
    assert got["nonfinite_weights"] == head.nonfinite_weights == 0


def test_the_peer_is_checked_against_a_loop_too() -> None:
    """Not only the pipeline: one row of weights and output from the formulas, in float64."""
    _tokens, x, weights = bench_inputs(7, 4)
    got = torch_stages(torch, x, weights)
    hw = weights.layers[0].heads[0]
    q, k, v = (x.astype(np.float32).astype(np.float64) @ m.astype(np.float32).astype(np.float64)
               for m in (hw.w_q, hw.w_k, hw.w_v))
    row = 3
    s = [sum(q[row, c] * k[j, c] for c in range(4)) / math.sqrt(4) for j in range(7)]
    e = [math.exp(t - max(s)) for t in s]
    a = [t / sum(e) for t in e]
    np.testing.assert_allclose(got["weights"][row].numpy(), a, rtol=1e-5)
    np.testing.assert_allclose(got["output"][row].numpy(), [sum(a[j] * v[j, c] for j in range(7)) for c in range(4)],
                               rtol=1e-4, atol=1e-6)
    assert got["row_entropy"][row].item() == pytest.approx(-sum(p * math.log2(p) for p in a), rel=1e-5)


def test_the_thread_count_is_a_positive_number_with_its_source(monkeypatch: pytest.MonkeyPatch) -> None:
    threads, how = numpy_blas_threads()
    assert threads >= 1 and how
    # Without threadpoolctl, the variable OpenBLAS reads at start-up decides.
    monkeypatch.setitem(__import__("sys").modules, "threadpoolctl", None)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert numpy_blas_threads() == (3, "OPENBLAS_NUM_THREADS")

