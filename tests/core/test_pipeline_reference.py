"""The whole pipeline against a reference written here with plain Python loops, and against torch.

The reference derives the toy embeddings from the documented derivation (Philox4x64-10), adds sinusoidal positions
with math.sin/cos, and runs every stage of core.pipeline's docstring on lists of floats: q/k/v per head,
scores, scaled, masked, softmax with temperature, output, concat·W_O, residual, two layers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from seeded_reference import reference_uniform

from attnstudio.core import Settings, Weights, compute, tokenize
from attnstudio.core.trace import HEAD_STAGES, STAGE_KEYS

Matrix = list[list[float]]
SENTENCE = "The cat sat on the mat because it was tired"


def toy_vector(token: str, d: int, seed: int) -> list[float]:
    """The toy embedding, from core/seeded.py's derivation in plain Python (Philox4x64-10)."""
    return reference_uniform(f"embed|{seed}|{d}|{token.casefold()}", d)


def matmul(a: Matrix, b: Matrix) -> Matrix:
    return [[sum(a[i][t] * b[t][j] for t in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def softmax_row(row: list[float], temperature: float) -> list[float]:
    z = [x / temperature for x in row]
    top = max(z)
    e = [math.exp(x - top) if x != -math.inf else 0.0 for x in z]
    total = sum(e)
    return [x / total for x in e]


def reference(tokens: list[str], s: Settings, w: Weights, emb: Matrix | None = None) -> dict:
    n, d, dk = len(tokens), s.d_model, s.d_model // s.heads
    x = emb if emb is not None else [toy_vector(t, d, s.seed) for t in tokens]
    if s.positional:
        x = [
            [x[p][j] + (math.sin if j % 2 == 0 else math.cos)(p / 10000 ** (2 * (j // 2) / d)) for j in range(d)]
            for p in range(n)
        ]
    out: dict = {"x": x, "layers": []}
    for layer in w.layers:
        heads = []
        for hw in layer.heads:
            q, k, v = (matmul(x, getattr(hw, m).tolist()) for m in ("w_q", "w_k", "w_v"))
            scores = [[sum(q[i][c] * k[j][c] for c in range(dk)) for j in range(n)] for i in range(n)]
            scaled = [[v_ / math.sqrt(dk) if s.scale else v_ for v_ in row] for row in scores]
            masked = [[-math.inf if s.mask == "causal" and j > i else scaled[i][j] for j in range(n)] for i in range(n)]
            weights = [softmax_row(row, s.temperature) for row in masked]
            output = [[sum(weights[i][j] * v[j][c] for j in range(n)) for c in range(dk)] for i in range(n)]
            heads.append(
                dict(q=q, k=k, v=v, scores=scores, scaled=scaled, masked=masked, weights=weights, output=output)
            )
        concat = [[value for h in heads for value in h["output"][i]] for i in range(n)]
        mha = matmul(concat, layer.w_o.tolist())
        residual = [[x[i][j] + mha[i][j] for j in range(d)] for i in range(n)] if s.residual else mha
        out["layers"].append(dict(input=x, heads=heads, concat=concat, output=mha, residual=residual))
        x = residual
    return out


def close(actual: np.ndarray, expected: Matrix, tol: float = 1e-9) -> None:
    np.testing.assert_allclose(np.asarray(actual), np.array(expected, dtype=np.float64), rtol=tol, atol=tol)


def check_against_reference(trace, ref: dict, tol: float = 1e-9) -> None:
    close(trace.x, ref["x"], tol)
    assert len(trace.layers) == len(ref["layers"])
    for lt, lr in zip(trace.layers, ref["layers"]):
        close(lt.input, lr["input"], tol)
        for ht, hr in zip(lt.heads, lr["heads"], strict=True):
            for stage in HEAD_STAGES:
                close(ht.stage(stage), hr[stage], tol)
        for key in ("concat", "output", "residual"):
            close(getattr(lt, key), lr[key], tol)


@pytest.mark.parametrize("positional", [False, True])
@pytest.mark.parametrize("mask", ["none", "causal"])
@pytest.mark.parametrize(
    ("scale", "temperature", "residual"), [(True, 1.0, True), (False, 0.6, True), (True, 2.5, False)]
)
def test_two_layers_two_heads_match_loop_reference(
    positional: bool, mask: str, scale: bool, temperature: float, residual: bool
) -> None:
    s = Settings(d_model=4, heads=2, layers=2, positional=positional, mask=mask, scale=scale,
                 temperature=temperature, residual=residual, seed=3)
    tokens = tokenize(SENTENCE)
    trace = compute(SENTENCE, s)
    assert trace.tokens == tuple(tokens)
    check_against_reference(trace, reference(tokens, s, Weights.seeded(s)))


def test_arbitrary_weights_and_embeddings_match_loop_reference() -> None:
    # Unrounded values, 3 heads with d_k = 2 (so √d_k ≠ √d_model), given embeddings.
    rng = np.random.default_rng(7)
    s = Settings(d_model=6, heads=3, layers=2, positional=True, mask="causal", temperature=0.8)
    w = Weights.seeded(s)
    for layer in w.layers:
        for hw in layer.heads:
            hw.w_q, hw.w_k, hw.w_v = (rng.normal(size=(6, 2)) for _ in range(3))
        layer.w_o = rng.normal(scale=0.5, size=(6, 6))
    emb = rng.normal(size=(5, 6))
    tokens = ["one", "two", "three", "four", "five"]
    trace = compute(tokens, s, weights=w, embeddings=emb)
    check_against_reference(trace, reference(tokens, s, w, emb.tolist()))
    np.testing.assert_array_equal(trace.embeddings, emb)


def test_float32_is_close_to_the_float64_reference() -> None:
    s = Settings(d_model=8, heads=2, layers=2, positional=True, dtype="float32")
    tokens = tokenize(SENTENCE)
    trace = compute(SENTENCE, s)
    assert trace.head(1, 1).weights.dtype == np.float32
    check_against_reference(trace, reference(tokens, s, Weights.seeded(s)), tol=2e-5)


def test_shapes_follow_the_stage_formulas() -> None:
    s = Settings(d_model=8, heads=4, layers=2)
    trace = compute("a b c d e", s)
    n = 5
    assert trace.x.shape == (n, 8) and trace.positions is None
    for layer in trace.layers:
        assert len(layer.heads) == 4
        for h in layer.heads:
            for key in ("q", "k", "v", "output"):
                assert h.stage(key).shape == (n, 2)
            for key in ("scores", "scaled", "masked", "weights"):
                assert h.stage(key).shape == (n, n)
            assert h.row_sums.shape == (n,) and h.row_entropy.shape == (n,)
        assert layer.concat.shape == (n, 8) and layer.output.shape == (n, 8) and layer.residual.shape == (n, 8)
    assert STAGE_KEYS[0] == "tokens" and STAGE_KEYS[-1] == "heads" and len(STAGE_KEYS) == 9


@pytest.mark.parametrize("normalizer", ["softmax", "sparsemax", "entmax15", "naive-softmax"])
def test_causal_mask_zeroes_the_future(normalizer: str) -> None:
    s = Settings(d_model=8, heads=2, layers=2, mask="causal", normalizer=normalizer, positional=True)
    trace = compute(SENTENCE, s)
    n = trace.n
    upper = np.triu_indices(n, k=1)
    for layer in trace.layers:
        for h in layer.heads:
            assert np.all(h.masked[upper] == -np.inf)
            assert np.all(np.isfinite(h.masked[np.tril_indices(n)]))
            assert np.all(h.weights[upper] == 0.0)  # exactly, not approximately
            assert h.weights[0].tolist() == [1.0] + [0.0] * (n - 1)
            np.testing.assert_allclose(h.row_sums, 1.0, atol=1e-12)
            # The first token's output is its own value vector, nothing from the future.
            np.testing.assert_allclose(h.output[0], h.v[0], atol=1e-15)


def test_no_mask_leaves_scaled_unchanged() -> None:
    h = compute(SENTENCE, Settings(d_model=4)).head()
    np.testing.assert_array_equal(h.masked, h.scaled)
    assert np.all(h.weights > 0)



@pytest.fixture(scope="module")
def torch_module():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("mask", ["none", "causal"])
@pytest.mark.parametrize(("scale", "temperature"), [(True, 1.0), (False, 1.0), (True, 0.5)])
def test_heads_match_torch_scaled_dot_product_attention(
    torch_module, mask: str, scale: bool, temperature: float
) -> None:
    torch = torch_module
    sdpa = torch.nn.functional.scaled_dot_product_attention
    s = Settings(d_model=8, heads=2, layers=2, mask=mask, scale=scale, temperature=temperature, positional=True)
    trace = compute(SENTENCE, s)
    factor = (1 / math.sqrt(s.d_k) if scale else 1.0) / temperature
    for layer in trace.layers:
        for h in layer.heads:
            q, k, v = (torch.from_numpy(np.ascontiguousarray(m)) for m in (h.q, h.k, h.v))
            expected = sdpa(q, k, v, is_causal=(mask == "causal"), scale=factor).numpy()
            np.testing.assert_allclose(h.output, expected, atol=1e-5, rtol=1e-5)
