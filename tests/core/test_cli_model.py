"""`attnstudio trace --model PATH`: the JSON schema with and without --layer / --head (1-based,
as everywhere on the command line), values equal to the core's, bad input one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attnstudio.cli import main
from attnstudio.core.trace import HEAD_STAGES

SENTENCE = "The cat sat on the mat."


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_layer_and_head_in_the_json(minilm, minilm_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "trace", "--model", str(minilm_path), SENTENCE, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    ref = minilm.trace(SENTENCE)
    assert doc["version"] == 2 and doc["tokens"] == list(ref.tokens)
    assert doc["selected"] == {"layer": None, "head": None}
    assert doc["model"]["layers"] == 6 and doc["model"]["heads"] == 12 and doc["model"]["model_type"] == "bert"
    assert doc["settings"]["d_model"] == 384 and doc["settings"]["heads"] == 12
    assert [lt["number"] for lt in doc["layers"]] == [1, 2, 3, 4, 5, 6]
    for lt_doc, lt in zip(doc["layers"], ref.layers):
        assert [h["number"] for h in lt_doc["heads"]] == list(range(1, 13))
        np.testing.assert_allclose(lt_doc["heads"][11]["weights"], lt.heads[11].weights, rtol=1e-6)
        np.testing.assert_allclose(lt_doc["residual"], lt.residual, rtol=1e-6)


def test_one_head_in_the_same_schema(minilm, minilm_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "trace", "--model", str(minilm_path), SENTENCE, "--layer", "4", "--head", "2",
                             "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["selected"] == {"layer": 4, "head": 2}
    assert len(doc["layers"]) == 1 and len(doc["layers"][0]["heads"]) == 1
    head = doc["layers"][0]["heads"][0]
    assert doc["layers"][0]["number"] == 4 and head["number"] == 2 and set(HEAD_STAGES) <= set(head)
    want = minilm.trace(SENTENCE).head(3, 1)
    for stage in HEAD_STAGES:
        np.testing.assert_allclose(head[stage], want.stage(stage), rtol=1e-6, atol=1e-7)

    code, out, _ = run_cli(capsys, "trace", "--model", str(minilm_path), SENTENCE, "--layer", "6", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["selected"] == {"layer": 6, "head": None} and len(doc["layers"][0]["heads"]) == 12
    code, out, _ = run_cli(capsys, "trace", "--model", str(minilm_path), SENTENCE, "--head", "12", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and len(doc["layers"]) == 6 and all(len(lt["heads"]) == 1 for lt in doc["layers"])
    assert [lt["heads"][0]["number"] for lt in doc["layers"]] == [12] * 6


def test_table_and_csv_name_the_model_and_what_each_matrix_is(
    minilm_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "trace", "--model", str(minilm_path), SENTENCE, "--layer", "1", "--head", "1")
    assert code == 0
    assert out.startswith("tokens (9): 0:[CLS] 1:the 2:cat")
    assert "model: all-MiniLM-L6-v2 (BertModel, 6 layers × 12 heads" in out
    assert "== layer 1 head 1 weights (9×9) ==" in out and "layer 2" not in out
    code, out, _ = run_cli(capsys, "trace", "--model", str(minilm_path), SENTENCE, "--layer", "2", "--format", "csv")
    assert code == 0 and "# layer 2 heads → concat·W_O + b_O" in out and "# layer 2 ffn_hidden GELU(h·W₁ + b₁)" in out


def test_the_toy_trace_takes_layer_and_head_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "trace", SENTENCE, "--layers", "2", "--heads", "2", "--d-model", "4",
                             "--layer", "2", "--head", "1", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model"] is None and doc["selected"] == {"layer": 2, "head": 1} and len(doc["layers"]) == 1


@pytest.mark.parametrize(("extra", "message"), [
    (["--layer", "7"], "--layer 7 does not exist: this trace has layers 1..6"),
    (["--head", "13"], "--head 13 does not exist: this trace has heads 1..12"),
    (["--head", "0"], "--head counts from 1, not 0"),
    (["--heads", "2"], "--heads cannot be set with --model"),
    (["--causal", "--seed", "3"], "--causal, --seed cannot be set with --model"),
    (["--lesson", "it-cat"], "--model traces a SENTENCE, not a --lesson or --workspace"),
])
def test_bad_options_are_one_line_and_status_2(
    minilm_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["trace", "--model", str(minilm_path)] + ([] if "--lesson" in extra else [SENTENCE]) + extra
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err == f"attnstudio: error: {message}" + err.split(message, 1)[1] and err.count("\n") == 1, err


def test_a_bad_model_path_is_one_line_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "trace", "--model", str(tmp_path / "none"), SENTENCE)
    assert (code, out) == (2, "") and err == f"attnstudio: error: {tmp_path / 'none'}: no such folder\n"
    (tmp_path / "config.json").write_text("{")
    code, out, err = run_cli(capsys, "trace", "--model", str(tmp_path), SENTENCE)
    assert code == 2 and "model.safetensors and tokenizer.json missing" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "trace", "--model", str(tmp_path))
    assert code == 2 and err == "attnstudio: error: trace --model PATH needs a SENTENCE\n"


def test_the_installed_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "attnstudio", "trace", "--model", str(tmp_path), "x"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
