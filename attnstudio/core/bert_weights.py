"""A BERT encoder's tensors, by role, checked against its config.

Linear layers are kept as ``x @ W + b`` with W of in × out (PyTorch stores out × in; the
transpose is taken once here), so W_Q[:, h·d_k:(h+1)·d_k] is head h's W_Q exactly as the
toy pipeline's X·W_Q uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from attnstudio.core.errors import ModelError
from attnstudio.core.model_config import BertConfig

# Prefixes a BERT checkpoint may put before the encoder's own names (BertFor… heads add "bert.").
PREFIXES = ("", "bert.")


@dataclass(frozen=True)
class Linear:
    """y = x·w + b, with w of in × out."""

    w: np.ndarray
    b: np.ndarray


@dataclass(frozen=True)
class Norm:
    """LayerNorm's scale γ and shift β."""

    gamma: np.ndarray
    beta: np.ndarray


@dataclass(frozen=True)
class BertLayerWeights:
    """One encoder layer: Q, K, V and output projections, two LayerNorms, the feed-forward pair."""

    query: Linear
    key: Linear
    value: Linear
    attention_out: Linear
    attention_norm: Norm
    ffn_in: Linear
    ffn_out: Linear
    output_norm: Norm


@dataclass(frozen=True)
class BertWeights:
    """The embedding tables, their LayerNorm, and every layer."""

    word: np.ndarray
    position: np.ndarray
    token_type: np.ndarray
    embedding_norm: Norm
    layers: tuple[BertLayerWeights, ...]


def bert_weights(tensors: Mapping[str, np.ndarray], config: BertConfig, where: str) -> BertWeights:
    """The encoder's tensors from a safetensors mapping, or ModelError naming the first
    missing tensor or wrong shape (``where`` names the file)."""
    prefix = next((p for p in PREFIXES if f"{p}embeddings.word_embeddings.weight" in tensors), None)
    if prefix is None:
        raise ModelError(f"{where}: no tensor embeddings.word_embeddings.weight: this is not a BERT checkpoint")
    d, ff = config.hidden_size, config.intermediate_size

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        full = prefix + name
        if full not in tensors:
            raise ModelError(f"{where}: tensor {full} is missing")
        a = tensors[full]
        if a.shape != shape:
            raise ModelError(f"{where}: tensor {full} has shape {tuple(a.shape)}, config.json asks for {shape}")
        if a.dtype.kind != "f":
            raise ModelError(f"{where}: tensor {full} holds {a.dtype}, not floating-point numbers")
        return a

    def linear(name: str, n_in: int, n_out: int) -> Linear:
        w = get(f"{name}.weight", (n_out, n_in))
        return Linear(np.ascontiguousarray(w.T), get(f"{name}.bias", (n_out,)))

    def norm(name: str) -> Norm:
        return Norm(get(f"{name}.weight", (d,)), get(f"{name}.bias", (d,)))

    layers = []
    for i in range(config.num_hidden_layers):
        p = f"encoder.layer.{i}."
        layers.append(BertLayerWeights(
            query=linear(p + "attention.self.query", d, d),
            key=linear(p + "attention.self.key", d, d),
            value=linear(p + "attention.self.value", d, d),
            attention_out=linear(p + "attention.output.dense", d, d),
            attention_norm=norm(p + "attention.output.LayerNorm"),
            ffn_in=linear(p + "intermediate.dense", d, ff),
            ffn_out=linear(p + "output.dense", ff, d),
            output_norm=norm(p + "output.LayerNorm"),
        ))
    extra = f"{prefix}encoder.layer.{config.num_hidden_layers}.attention.self.query.weight"
    if extra in tensors:
        raise ModelError(f"{where}: holds more layers than config.json's num_hidden_layers = "
                         f"{config.num_hidden_layers}")
    return BertWeights(
        word=get("embeddings.word_embeddings.weight", (config.vocab_size, d)),
        position=get("embeddings.position_embeddings.weight", (config.max_position_embeddings, d)),
        token_type=get("embeddings.token_type_embeddings.weight", (config.type_vocab_size, d)),
        embedding_norm=norm("embeddings.LayerNorm"),
        layers=tuple(layers),
    )
