"""A real model's attention weights and hidden states against Hugging Face transformers on
PyTorch (``output_attentions=True``), where both are installed; skipped otherwise (CI does
not install them: PyTorch from PyPI brings GBs of CUDA libraries)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

SENTENCES = (
    "The trophy doesn't fit in the suitcase because it is too small.",
    "A lecturer's own sentence, with unusual words: perspicacious antidisestablishmentarianism.",
)


@pytest.fixture(scope="module")
def bert(minilm_path: Path):  # type: ignore[no-untyped-def]
    model = transformers.BertModel.from_pretrained(str(minilm_path), local_files_only=True,
                                                   attn_implementation="eager")
    return model.eval()


@pytest.mark.parametrize("sentence", SENTENCES)
def test_every_layer_and_head_and_the_hidden_states_match_transformers(minilm, bert, sentence: str) -> None:
    enc = minilm.encode(sentence)
    with torch.no_grad():
        out = bert(input_ids=torch.tensor([enc.ids]), token_type_ids=torch.tensor([enc.type_ids]),
                   output_attentions=True, output_hidden_states=True)
    trace = minilm.trace(enc)
    assert len(out.attentions) == len(trace.layers)
    for li, lt in enumerate(trace.layers):
        want = out.attentions[li][0].numpy()
        assert want.shape == (12, trace.n, trace.n)
        for hi, h in enumerate(lt.heads):
            np.testing.assert_allclose(h.weights, want[hi], atol=1e-4, rtol=0, err_msg=f"L{li + 1}H{hi + 1}")
        np.testing.assert_allclose(lt.input, out.hidden_states[li][0].numpy(), atol=1e-4, rtol=0)
    np.testing.assert_allclose(trace.layers[-1].residual, out.last_hidden_state[0].numpy(), atol=1e-4, rtol=0)
