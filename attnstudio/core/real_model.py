"""A real (pretrained) model, loaded: what the window and the command line work with.

    model = load_model("path/to/folder")          # core.model_folder; slow: off the UI thread
    model.info.layers, model.info.heads, model.info.name
    model.encode("The cat sat.").tokens           # ('[CLS]', 'the', 'cat', 'sat', '.', '[SEP]')
    trace = model.trace("The cat sat.")           # a core.trace.Trace, every stage of every head

docs/architecture.md, "Real models", describes the modules and the data flow.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from attnstudio.core.backends import Backend, resolve_backend
from attnstudio.core.bert import CAPTIONS, forward, model_settings, to_device
from attnstudio.core.bert_weights import BertLayerWeights, BertWeights, Linear
from attnstudio.core.errors import MatrixError, ModelError, SettingsError
from attnstudio.core.memory import check_memory
from attnstudio.core.model_config import BertConfig
from attnstudio.core.model_info import ModelInfo
from attnstudio.core.model_tokenize import Encoding, ModelTokenizer
from attnstudio.core.settings import BACKENDS, DTYPES
from attnstudio.core.trace import Trace


class RealModel:
    """A BERT encoder with its tokenizer. Immutable once loaded; ``trace`` may be called from
    any thread (the tensors copied to a GPU are kept, once per backend and dtype)."""

    def __init__(self, config: BertConfig, weights: BertWeights, tokenizer: ModelTokenizer, folder: str,
                 name: str) -> None:
        self.config = config
        self.weights = weights
        self.tokenizer = tokenizer
        self.info = ModelInfo(
            name=name, folder=folder, model_type=config.model_type, architecture=config.architecture,
            layers=config.num_hidden_layers, heads=config.num_attention_heads, d_model=config.hidden_size,
            d_ff=config.intermediate_size, vocab_size=config.vocab_size,
            max_positions=config.max_position_embeddings, hidden_act=config.hidden_act,
            layer_norm_eps=config.layer_norm_eps, captions=CAPTIONS,
        )
        self._device: dict[tuple[str, str], tuple[BertLayerWeights, ...]] = {}
        self._lock = threading.Lock()

    def encode(self, sentence: str) -> Encoding:
        """``sentence`` as the model's subword tokens and ids; ModelError or TokenizeError when it cannot be."""
        return self._checked(self.tokenizer.encode(sentence))

    def _checked(self, enc: Encoding) -> Encoding:
        """``enc`` if this model can read it: every id and token type in its tables, no more
        tokens than its positions, at least one token."""
        if not enc.ids or not len(enc.ids) == len(enc.tokens) == len(enc.type_ids):
            raise ModelError("an encoding needs as many tokens, ids and token types, and at least one")
        bad = [i for i in enc.ids if not 0 <= i < self.config.vocab_size]
        if bad:
            raise ModelError(f"the tokenizer gave id {bad[0]}, beyond the model's vocabulary of "
                             f"{self.config.vocab_size}: tokenizer.json does not belong to this model")
        if len(enc.ids) > self.config.max_position_embeddings:
            raise ModelError(f"the sentence is {len(enc.ids)} tokens long; this model reads at most "
                             f"{self.config.max_position_embeddings}")
        if any(not 0 <= t < self.config.type_vocab_size for t in enc.type_ids):
            raise ModelError("the tokenizer gave a token type the model has no embedding for")
        return enc

    def w_q(self, layer: int, head: int) -> np.ndarray:
        """Head ``head``'s W_Q in layer ``layer`` (d_model × d_k, x·W_Q + b_Q), a host copy."""
        dk = self.config.head_size
        return np.array(self.weights.layers[layer].query.w[:, head * dk:(head + 1) * dk], dtype=np.float64)

    def trace(self, sentence: str | Encoding, backend: Backend | str | None = None,
              dtype: str = "float32", w_q: Mapping[tuple[int, int], np.ndarray] | None = None) -> Trace:
        """The forward pass on ``sentence`` (text, or an Encoding from ``encode``) as a Trace.

        ``backend`` is a Backend or "numpy" | "cupy" | "auto" (default NumPy); ``dtype``
        "float32" (as the weights are stored) or "float64". ``w_q``: {(layer, head): d_model ×
        d_k} heads' W_Q given instead of the model's own (an edit in the window); the model
        itself is not changed (MatrixError for a matrix of the wrong shape or not finite).
        """
        edits = self._checked_w_q(w_q or {})
        enc = self.encode(sentence) if isinstance(sentence, str) else self._checked(sentence)
        if dtype not in DTYPES:
            raise SettingsError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        if backend is None or isinstance(backend, str):
            requested = backend or "numpy"
            if requested not in BACKENDS:
                raise SettingsError(f"backend must be one of {', '.join(BACKENDS)}, not {requested!r}")
            backend = resolve_backend(requested, len(enc.ids))
        check_memory(len(enc.ids), model_settings(self.config, backend.requested, dtype))
        layers_on = self._layers_on if not edits else (lambda b, d: self._edited(self._layers_on(b, d), edits, b))
        return forward(self.config, self.weights, layers_on, enc, self.info, backend, dtype)

    def _checked_w_q(self, w_q: Mapping[tuple[int, int], np.ndarray]) -> dict[tuple[int, int], np.ndarray]:
        c = self.config
        out = {}
        for (layer, head), m in w_q.items():
            if not (0 <= layer < c.num_hidden_layers and 0 <= head < c.num_attention_heads):
                raise MatrixError(f"W_Q of layer {layer + 1}, head {head + 1}: the model has {c.num_hidden_layers} "
                                  f"layers of {c.num_attention_heads} heads")
            a = np.asarray(m, dtype=np.float64)
            if a.shape != (c.hidden_size, c.head_size) or not np.isfinite(a).all():
                raise MatrixError(f"W_Q of layer {layer + 1}, head {head + 1} must be {c.hidden_size} × "
                                  f"{c.head_size} finite numbers, not {a.shape}")
            out[(layer, head)] = a
        return out

    def _edited(self, layers: tuple[BertLayerWeights, ...], edits: dict[tuple[int, int], np.ndarray],
                backend: Backend) -> tuple[BertLayerWeights, ...]:
        """``layers`` with the edited heads' columns of the query weights replaced (copies)."""
        xp, dk = backend.xp, self.config.head_size
        out = list(layers)
        for li in sorted({layer for layer, _ in edits}):
            lw = out[li]
            w = xp.array(lw.query.w, copy=True)
            for (layer, head), m in edits.items():
                if layer == li:
                    w[:, head * dk:(head + 1) * dk] = xp.asarray(m, dtype=w.dtype)
            out[li] = replace(lw, query=Linear(w, lw.query.b))
        return tuple(out)

    def _layers_on(self, backend: Backend, dtype: str) -> tuple[BertLayerWeights, ...]:
        if backend.name == "numpy" and dtype == "float32":
            return self.weights.layers
        key = (backend.name, dtype)
        with self._lock:
            if key not in self._device:
                self._device[key] = to_device(self.weights.layers, backend.xp, dtype)
            return self._device[key]

    def __repr__(self) -> str:
        i = self.info
        return f"RealModel({i.name!r}: {i.layers} layers × {i.heads} heads, d_model {i.d_model})"

