"""A model folder's config.json, read and checked: only what attnstudio implements passes.

Supported: the BERT encoder (``model_type`` "bert", an architecture named Bert…) with
absolute learned positions and the exact GELU (``hidden_act`` "gelu", x·Φ(x) with erf).
Everything else is refused with a ModelError that names the setting and its value.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attnstudio.core.errors import ModelError

SUPPORTED_MODEL_TYPES = ("bert",)
SUPPORTED_ACTIVATIONS = ("gelu",)
# Sizes beyond any released BERT, refused before a tensor is read.
MAX_LAYERS = 128
MAX_HIDDEN = 16384


@dataclass(frozen=True)
class BertConfig:
    """The sizes and constants of a BERT encoder, as config.json gives them."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    hidden_act: str
    model_type: str
    architecture: str
    name: str

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads


def read_config(path: Path) -> BertConfig:
    """config.json at ``path`` as a BertConfig, or ModelError naming what is missing or unsupported."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(f"{path.parent}: no config.json (a model folder holds config.json, model.safetensors "
                         "and tokenizer.json)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot be read: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{path}: must hold a JSON object, not {type(doc).__name__}")
    return parse_config(doc, str(path))


def parse_config(doc: dict[str, Any], where: str = "config.json") -> BertConfig:
    """Check a config.json object; ``where`` names it in messages."""
    model_type = doc.get("model_type")
    archs = doc.get("architectures") or []
    if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
        raise ModelError(f"{where}: \"architectures\" must be a list of names, not {archs!r}")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ModelError(f"{where}: model_type {model_type!r} is not supported: attnstudio runs "
                         f"{', '.join(SUPPORTED_MODEL_TYPES)} encoders")
    foreign = [a for a in archs if not a.startswith("Bert")]
    if foreign:
        raise ModelError(f"{where}: architecture {foreign[0]!r} is not supported: attnstudio runs BERT encoders "
                         "(BertModel, BertForMaskedLM, …)")

    def whole(key: str, low: int, high: int) -> int:
        value = doc.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ModelError(f"{where}: {key} must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise ModelError(f"{where}: {key} = {value} is outside {low}..{high}")
        return value

    hidden = whole("hidden_size", 1, MAX_HIDDEN)
    heads = whole("num_attention_heads", 1, hidden)
    if hidden % heads:
        raise ModelError(f"{where}: hidden_size {hidden} is not divisible by num_attention_heads {heads}")
    act = doc.get("hidden_act", "gelu")
    if act not in SUPPORTED_ACTIVATIONS:
        raise ModelError(f"{where}: hidden_act {act!r} is not supported: attnstudio implements "
                         f"{', '.join(SUPPORTED_ACTIVATIONS)} (the exact GELU, x·Φ(x))")
    pos = doc.get("position_embedding_type", "absolute")
    if pos != "absolute":
        raise ModelError(f"{where}: position_embedding_type {pos!r} is not supported: attnstudio implements "
                         "\"absolute\" (learned positions)")
    if doc.get("is_decoder") or doc.get("add_cross_attention"):
        raise ModelError(f"{where}: a BERT decoder (is_decoder / add_cross_attention) is not supported: "
                         "attnstudio runs encoders")
    eps = doc.get("layer_norm_eps", 1e-12)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or not 0 < eps < 1:
        raise ModelError(f"{where}: layer_norm_eps must be a number between 0 and 1, not {eps!r}")
    name = doc.get("_name_or_path")
    return BertConfig(
        vocab_size=whole("vocab_size", 1, 10_000_000),
        hidden_size=hidden,
        num_hidden_layers=whole("num_hidden_layers", 1, MAX_LAYERS),
        num_attention_heads=heads,
        intermediate_size=whole("intermediate_size", 1, 16 * MAX_HIDDEN),
        max_position_embeddings=whole("max_position_embeddings", 1, 1_000_000),
        type_vocab_size=whole("type_vocab_size", 1, 1000) if "type_vocab_size" in doc else 2,
        layer_norm_eps=float(eps),
        hidden_act=act,
        model_type=model_type,
        architecture=archs[0] if archs else "BertModel",
        name=name if isinstance(name, str) and name else "",
    )
