"""Open a Hugging Face style model folder: config.json, model.safetensors, tokenizer.json.

Everything is read from the folder; nothing is ever fetched from a network. Each way a
folder can be wrong (a file missing, truncated or malformed, an unsupported architecture,
a tensor of the wrong shape, a package not installed) is one ModelError naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from attnstudio.core.bert_weights import bert_weights
from attnstudio.core.errors import ModelError
from attnstudio.core.model_config import read_config
from attnstudio.core.model_tokenize import ModelTokenizer, first_line, require
from attnstudio.core.real_model import RealModel

FILES = ("config.json", "model.safetensors", "tokenizer.json")


def load_model(folder: str | os.PathLike[str]) -> RealModel:
    """The model in ``folder``, ready to trace; ModelError naming what is wrong otherwise.

    Takes a second or more (the tensors are read whole): call it off the UI thread."""
    path = Path(folder).expanduser()
    if not path.exists():
        raise ModelError(f"{path}: no such folder")
    if not path.is_dir():
        raise ModelError(f"{path}: not a folder (a model folder holds {', '.join(FILES)})")
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise ModelError(f"{path}: {' and '.join(missing)} missing (a model folder holds {', '.join(FILES)})")
    require("scipy.special")  # the GELU's erf: refuse now rather than at the first trace
    config = read_config(path / "config.json")
    tokenizer = ModelTokenizer(path / "tokenizer.json", config.max_position_embeddings)
    tensors = read_tensors(path / "model.safetensors")
    weights = bert_weights(tensors, config, str(path / "model.safetensors"))
    return RealModel(config, weights, tokenizer, str(path.resolve()), model_name(path))


# Folder names that say nothing about the model inside (a package's "model" folder).
GENERIC_FOLDERS = ("model", "models", "weights", "checkpoint", "snapshot")


def model_name(path: Path) -> str:
    """What the window and the exports call the model: the folder's name, or where that is
    generic ("model"), the title of its model card (README.md's first "# " heading)."""
    name = path.resolve().name
    if name.lower() not in GENERIC_FOLDERS:
        return name
    try:
        with open(path / "README.md", encoding="utf-8", errors="replace") as f:
            for line in f.read(65_536).splitlines():
                title = line.strip()
                if title.startswith("# ") and 0 < len(title[2:].strip()) <= 80:
                    return title[2:].strip()
    except OSError:
        pass
    return name


def read_tensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as float32 NumPy arrays (float16 is widened; other
    integer tensors, such as BERT's position_ids buffer, pass unchanged)."""
    st = require("safetensors.numpy")
    try:
        tensors = st.load_file(str(path))
    except Exception as exc:  # safetensors raises its own error for a truncated or corrupt file
        raise ModelError(f"{path}: not a readable safetensors file (truncated or corrupt?): "
                         f"{first_line(exc)}") from None
    return {name: a.astype(np.float32) if a.dtype == np.float16 else a for name, a in tensors.items()}
