"""A real model's forward pass against an independent reference written here: plain NumPy,
one head at a time in loops, LayerNorm and GELU from their formulas (GELU with math.erf),
reading the tensors and token ids with the safetensors and tokenizers packages directly.
Also: the tokens are the tokenizers package's own encoding, and every view's code
(explanations, one token's view, the text formats) works on a real model's trace."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from attnstudio.core.explain import cell_arithmetic, token_view
from attnstudio.core.formats import trace_to_csv, trace_to_json, trace_to_table
from attnstudio.core.trace import HEAD_STAGES, MATRIX_NAMES

SENTENCES = (
    "The trophy doesn't fit in the suitcase because it is too big.",
    "Tokenization splits unfamiliar words: attnstudio's heads!",
)


def reference_forward(folder: Path, ids: list[int]) -> tuple[list[list[np.ndarray]], list[np.ndarray]]:
    """Every layer's attention weights (per head) and output, computed in float64 from the file."""
    from safetensors.numpy import load_file

    t = {k: v.astype(np.float64) for k, v in load_file(str(folder / "model.safetensors")).items()}
    cfg = json.loads((folder / "config.json").read_text())
    eps, heads, d = cfg["layer_norm_eps"], cfg["num_attention_heads"], cfg["hidden_size"]
    dk = d // heads

    def norm(u: np.ndarray, name: str) -> np.ndarray:
        out = np.empty_like(u)
        for r in range(u.shape[0]):
            mu = sum(u[r]) / d
            var = sum((u[r] - mu) ** 2) / d
            out[r] = (u[r] - mu) / math.sqrt(var + eps) * t[name + ".weight"] + t[name + ".bias"]
        return out

    def dense(u: np.ndarray, name: str) -> np.ndarray:  # PyTorch's Linear: u·Wᵀ + b
        return u @ t[name + ".weight"].T + t[name + ".bias"]

    erf = np.vectorize(math.erf)
    n = len(ids)
    x = np.array([t["embeddings.word_embeddings.weight"][i] + t["embeddings.position_embeddings.weight"][p]
                  + t["embeddings.token_type_embeddings.weight"][0] for p, i in enumerate(ids)])
    x = norm(x, "embeddings.LayerNorm")
    all_weights, outputs = [], []
    for layer in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        q, k, v = (dense(x, p + f"attention.self.{m}") for m in ("query", "key", "value"))
        z = np.zeros((n, d))
        layer_weights = []
        for h in range(heads):
            c = slice(h * dk, (h + 1) * dk)
            a = np.zeros((n, n))
            for i in range(n):
                s = np.array([float(np.dot(q[i, c], k[j, c])) / math.sqrt(dk) for j in range(n)])
                e = np.exp(s - s.max())
                a[i] = e / e.sum()
            layer_weights.append(a)
            z[:, c] = a @ v[:, c]
        hid = norm(x + dense(z, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        u = dense(hid, p + "intermediate.dense")
        ffn = dense(u * 0.5 * (1 + erf(u / math.sqrt(2))), p + "output.dense")
        x = norm(hid + ffn, p + "output.LayerNorm")
        all_weights.append(layer_weights)
        outputs.append(x)
    return all_weights, outputs


def test_tokens_are_the_tokenizers_packages_own_encoding(minilm, minilm_path: Path) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(minilm_path / "tokenizer.json"))
    tok.no_padding()
    for sentence in (*SENTENCES, "Hello", "unbelievably tokenizable ünïcödé text"):
        want = tok.encode(sentence)
        got = minilm.encode(sentence)
        assert list(got.tokens) == want.tokens and list(got.ids) == want.ids
        assert got.tokens[0] == "[CLS]" and got.tokens[-1] == "[SEP]"
        assert minilm.trace(got).tokens == got.tokens
    assert any(t.startswith("##") for t in minilm.encode(SENTENCES[1]).tokens)  # subwords stay subwords


@pytest.mark.parametrize("sentence", SENTENCES)
def test_every_head_and_layer_equal_an_independent_numpy_reference(minilm, minilm_path: Path, sentence: str) -> None:
    enc = minilm.encode(sentence)
    ref_weights, ref_out = reference_forward(minilm_path, list(enc.ids))
    for dtype, tol in (("float32", 2e-5), ("float64", 1e-9)):
        trace = minilm.trace(enc, dtype=dtype)
        assert trace.settings.dtype == dtype and trace.head(0, 0).weights.dtype == np.dtype(dtype)
        assert len(trace.layers) == 6 and all(len(lt.heads) == 12 for lt in trace.layers)
        for li, lt in enumerate(trace.layers):
            for hi, h in enumerate(lt.heads):
                np.testing.assert_allclose(h.weights, ref_weights[li][hi], atol=tol, err_msg=f"L{li + 1}H{hi + 1}")
            np.testing.assert_allclose(lt.residual, ref_out[li], atol=50 * tol, rtol=0, err_msg=f"layer {li + 1}")
            if li + 1 < len(trace.layers):
                assert trace.layers[li + 1].input is lt.residual


def test_the_stages_of_a_real_head_hold_what_their_names_say(minilm) -> None:
    trace = minilm.trace(SENTENCES[0], dtype="float64")
    lt = trace.layers[3]
    h = lt.heads[1]
    dk = trace.settings.d_k
    assert dk == 32 and trace.settings.d_model == 384 and trace.model is not None
    np.testing.assert_allclose(h.scores, h.q @ h.k.T, rtol=1e-12)
    np.testing.assert_allclose(h.scaled, h.scores / math.sqrt(dk), rtol=1e-12)
    assert np.array_equal(h.masked, h.scaled)  # one sentence, no padding: nothing is masked
    np.testing.assert_allclose(h.weights.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(h.output, h.weights @ h.v, rtol=1e-12)
    np.testing.assert_allclose(lt.concat[:, dk:2 * dk], h.output, rtol=0)
    after = {m.key: m.matrix for m in lt.after}
    np.testing.assert_allclose(after["attention_sum"], lt.input + lt.output, rtol=1e-12)
    np.testing.assert_allclose(after["ffn_sum"], after["attention_norm"] + after["ffn_output"], rtol=1e-12)
    assert after["ffn_hidden"].shape == (trace.n, 1536)
    assert trace.caption("heads") == "concat·W_O + b_O" and trace.caption("nothing", "toy") == "toy"


def test_every_view_explanation_and_export_works_on_a_real_trace(minilm) -> None:
    trace = minilm.trace("The cat sat.")
    n = trace.n
    for name in MATRIX_NAMES:
        for layer in (0, 5):
            arith = cell_arithmetic(trace, layer, 11, name, n - 1, 0)
            shown = trace.matrix(name, layer, 11)
            assert math.isclose(arith.value, float(shown[n - 1, 0]), rel_tol=1e-6)
            assert arith.text
    assert "+ b_Q[1]" in cell_arithmetic(trace, 0, 0, "q", 0, 0).text
    assert "LayerNorm" in cell_arithmetic(trace, 2, 0, "input", 0, 0).text
    assert "+ b_O" in cell_arithmetic(trace, 0, 0, "heads", 0, 0).text
    weights = cell_arithmetic(trace, 1, 2, "weights", 1, 2)  # softmax terms, from the trace's own numbers
    assert weights.from_terms is not None and math.isclose(weights.from_terms, weights.value, rel_tol=1e-4)
    view = token_view(trace, 1, 2, 1)
    assert view is not None
    doc = json.loads(json.dumps(trace_to_json(trace), allow_nan=False))
    assert doc["model"]["layers"] == 6 and len(doc["layers"]) == 6 and len(doc["layers"][0]["heads"]) == 12
    assert set(HEAD_STAGES) <= set(doc["layers"][0]["heads"][0])
    assert [m["key"] for m in doc["layers"][0]["after"]] == [
        "attention_sum", "attention_norm", "ffn_hidden", "ffn_output", "ffn_sum"]
    table = trace_to_table(trace, layer=0, head=0)
    assert "concat·W_O + b_O" not in table  # one head: its own stages only
    assert "LayerNorm(E + P)" in table and "layer 1 head 1 weights" in table
    assert "LayerNorm₂(h + FFN(h))" in trace_to_csv(trace, layer=5)
