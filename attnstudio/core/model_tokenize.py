"""A model's own tokenizer (tokenizer.json, read by the ``tokenizers`` package): a sentence
as the model's subword tokens, [CLS] and [SEP] included, with their ids."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attnstudio.core.errors import ModelError, TokenizeError
from attnstudio.core.tokenize import check_text

INSTALL_HINT = 'pip install ".[model]"'


def require(module: str) -> Any:
    """Import ``module`` (a package the real-model support needs), or ModelError saying how
    to install it. Imported here, on first use, so the app starts without them."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".", maxsplit=1)[0]
        raise ModelError(f"opening a model folder needs the {package!r} package, which is not installed: "
                         f"{INSTALL_HINT}") from None


@dataclass(frozen=True)
class Encoding:
    """A sentence as the model reads it: subword ``tokens`` (as the tokenizer writes them,
    e.g. "##ing"), their vocabulary ``ids`` and segment ``type_ids``."""

    tokens: tuple[str, ...]
    ids: tuple[int, ...]
    type_ids: tuple[int, ...]


class ModelTokenizer:
    """tokenizer.json of a model folder, with padding and truncation switched off: a sentence
    gives exactly its own tokens, and one longer than the model allows is refused."""

    def __init__(self, path: Path, max_tokens: int) -> None:
        tokenizers = require("tokenizers")
        if not path.is_file():
            raise ModelError(f"{path.parent}: no tokenizer.json (a model folder holds config.json, "
                             "model.safetensors and tokenizer.json)")
        try:
            tok = tokenizers.Tokenizer.from_file(str(path))
        except Exception as exc:  # the Rust side raises its own Exception type for bad JSON
            raise ModelError(f"{path}: not a tokenizer file the tokenizers package can read: "
                             f"{first_line(exc)}") from None
        tok.no_padding()
        tok.no_truncation()
        self._tok = tok
        self.max_tokens = max_tokens
        self.path = path

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def encode(self, sentence: str) -> Encoding:
        """``sentence`` as the model's tokens; ModelError when it has none or more than the
        model's positions allow; TokenizeError for an empty sentence or text that cannot be tokens."""
        text = check_text(sentence)
        if not text.strip():
            raise TokenizeError("the sentence is empty: there are no words to attend over")
        try:
            enc = self._tok.encode(text)
        except Exception as exc:
            raise ModelError(f"the tokenizer refused the sentence: {first_line(exc)}") from None
        if len(enc.ids) > self.max_tokens:
            raise ModelError(f"the sentence is {len(enc.ids)} tokens long; this model reads at most "
                             f"{self.max_tokens}")
        return Encoding(tuple(enc.tokens), tuple(int(i) for i in enc.ids), tuple(int(t) for t in enc.type_ids))


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
