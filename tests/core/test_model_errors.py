"""A folder that is not a model attnstudio can run gets one ModelError naming what is missing,
malformed or unsupported; a model already open is untouched by a failed load. The folders
are the MiniLM test model with one thing broken, built in tmp_path."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from attnstudio.core.errors import AttnStudioError, ModelError, TokenizeError
from attnstudio.core.model_folder import FILES, load_model
from attnstudio.core.model_tokenize import Encoding


def broken(tmp_path: Path, source: Path, change: Callable[[Path], None]) -> Path:
    """A copy of ``source`` (links to its files) with ``change`` applied to the copy."""
    folder = tmp_path / "model"
    folder.mkdir()
    for name in FILES:
        (folder / name).symlink_to(source / name)
    change(folder)
    return folder


def rewrite_config(**changes: object) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        doc = json.loads((folder / "config.json").read_text())
        doc.update(changes)
        (folder / "config.json").unlink()
        (folder / "config.json").write_text(json.dumps(doc))
    return change


def rewrite_tensors(edit: Callable[[dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        from safetensors.numpy import load_file, save_file

        tensors = load_file(str(folder / "model.safetensors"))
        edit(tensors)
        (folder / "model.safetensors").unlink()
        save_file(tensors, str(folder / "model.safetensors"))
    return change


def replace_file(name: str, data: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        old = (folder / name).read_bytes()
        (folder / name).unlink()
        (folder / name).write_bytes(data(old))
    return change


def drop(key: str) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(t: dict[str, np.ndarray]) -> None:
        del t[key]
    return edit


def reshape(key: str) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(t: dict[str, np.ndarray]) -> None:
        t[key] = np.ascontiguousarray(t[key][:, :100])
    return edit


CASES = {
    "no config": (lambda f: (f / "config.json").unlink(), "config.json missing"),
    "no weights": (lambda f: (f / "model.safetensors").unlink(), "model.safetensors missing"),
    "no tokenizer": (lambda f: (f / "tokenizer.json").unlink(), "tokenizer.json missing"),
    "config not JSON": (replace_file("config.json", lambda b: b[:-40]), "config.json: not valid JSON"),
    "config a list": (replace_file("config.json", lambda b: b"[1, 2]"), "must hold a JSON object"),
    "unknown model type": (rewrite_config(model_type="gpt2", architectures=["GPT2LMHeadModel"]),
                           "model_type 'gpt2' is not supported"),
    "unknown architecture": (rewrite_config(architectures=["RobertaModel"]),
                             "architecture 'RobertaModel' is not supported"),
    "tanh GELU": (rewrite_config(hidden_act="gelu_new"), "hidden_act 'gelu_new' is not supported"),
    "relative positions": (rewrite_config(position_embedding_type="relative_key"),
                           "position_embedding_type 'relative_key' is not supported"),
    "heads do not divide": (rewrite_config(num_attention_heads=7), "not divisible by num_attention_heads 7"),
    "size not a number": (rewrite_config(hidden_size="384"), "hidden_size must be a whole number"),
    "config sizes disagree": (rewrite_config(hidden_size=768, num_attention_heads=12),
                              "query.weight has shape (384, 384), config.json asks for (768, 768)"),
    "config has fewer layers": (rewrite_config(num_hidden_layers=5), "more layers than config.json"),
    "tensor missing": (rewrite_tensors(drop("encoder.layer.3.attention.self.key.bias")),
                       "tensor encoder.layer.3.attention.self.key.bias is missing"),
    "tensor wrong shape": (rewrite_tensors(reshape("encoder.layer.2.attention.self.query.weight")),
                           "encoder.layer.2.attention.self.query.weight has shape (384, 100), config.json asks "
                           "for (384, 384)"),
    "not BERT tensors": (rewrite_tensors(drop("embeddings.word_embeddings.weight")), "not a BERT checkpoint"),
    "truncated weights": (replace_file("model.safetensors", lambda b: b[: len(b) // 2]),
                          "not a readable safetensors file (truncated or corrupt?)"),
    "garbage weights": (replace_file("model.safetensors", lambda b: b"\xff" * 64), "not a readable safetensors"),
    "empty weights": (replace_file("model.safetensors", lambda b: b""), "not a readable safetensors"),
    "tokenizer not JSON": (replace_file("tokenizer.json", lambda b: b[:1000]),
                           "not a tokenizer file the tokenizers package can read"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_broken_folder_gets_one_clear_message(minilm, minilm_path: Path, tmp_path: Path, case: str) -> None:
    before = minilm.trace("The cat sat.")
    change, message = CASES[case]
    folder = broken(tmp_path, minilm_path, change)
    with pytest.raises(ModelError) as info:
        load_model(folder)
    assert message in str(info.value), str(info.value)
    assert "\n" not in str(info.value)
    after = minilm.trace("The cat sat.")  # the model already open is untouched
    assert np.array_equal(after.layers[-1].residual, before.layers[-1].residual)


def test_a_path_that_is_no_folder(tmp_path: Path, minilm_path: Path) -> None:
    with pytest.raises(ModelError, match="no such folder"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="not a folder"):
        load_model(tmp_path / "file")
    with pytest.raises(ModelError, match=r"config\.json and model\.safetensors and tokenizer\.json missing"):
        load_model(tmp_path)


def test_sentences_the_model_cannot_read(minilm) -> None:
    with pytest.raises(ModelError, match="514 tokens long; this model reads at most 512"):
        minilm.encode(" ".join(["word"] * 512))
    with pytest.raises(TokenizeError):
        minilm.encode("   ")
    with pytest.raises(AttnStudioError, match="not UTF-8"):
        minilm.encode("bad \udcff byte")
    with pytest.raises(ModelError, match="id 40000, beyond the model's vocabulary of 30522"):
        minilm.trace(Encoding(("[CLS]", "?", "[SEP]"), (101, 40000, 102), (0, 0, 0)))
    with pytest.raises(ModelError, match="as many tokens, ids and token types"):
        minilm.trace(Encoding(("[CLS]",), (101, 102), (0, 0)))
    with pytest.raises(AttnStudioError, match="backend must be one of"):
        minilm.trace("x", "tpu")
    with pytest.raises(AttnStudioError, match="dtype must be one of"):
        minilm.trace("x", dtype="float16")


def test_cupy_asked_for_and_missing_computes_on_numpy_and_says_so(minilm, monkeypatch: pytest.MonkeyPatch) -> None:
    from attnstudio.core import backends

    def no_cupy() -> None:
        raise ImportError("no cupy here")

    monkeypatch.setattr(backends, "_import_cupy", no_cupy)
    backends.cupy_status.cache_clear()
    try:
        trace = minilm.trace("The cat sat.", "cupy")
    finally:
        backends.cupy_status.cache_clear()
    assert trace.backend.name == "numpy" and trace.warnings == ("computing on NumPy: CuPy not installed",)
    assert np.array_equal(trace.head(2, 3).weights, minilm.trace("The cat sat.").head(2, 3).weights)


def test_a_missing_package_is_named_with_how_to_install_it(
    minilm_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module, package in (("safetensors.numpy", "safetensors"), ("tokenizers", "tokenizers"),
                            ("scipy.special", "scipy")):
        with monkeypatch.context() as m:
            m.setitem(sys.modules, module, None)  # `import module` now fails
            with pytest.raises(ModelError, match=rf"needs the '{package}' package.*pip install \"\.\[model\]\""):
                load_model(minilm_path)
