"""`attnstudio trace`: the JSON layout, values equal to the core's, and bad input answered
with one line and exit status 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from attnstudio.cli import main
from attnstudio.core import Settings, compute
from attnstudio.core.trace import HEAD_STAGES

SENTENCE = "The cat sat on the mat because it was tired"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def as_array(rows: list[list[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)


def test_json_follows_the_schema_and_equals_the_core(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(
        capsys, "trace", SENTENCE, "--heads", "2", "--d-model", "8", "--layers", "2", "--causal",
        "--temperature", "0.5", "--positional", "--seed", "3", "--format", "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["version"] == 1
    assert doc["tokens"] == ["The", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired"]
    assert doc["backend"] == "numpy"
    assert doc["settings"]["heads"] == 2 and doc["settings"]["mask"] == "causal"
    assert doc["settings"]["temperature"] == 0.5 and doc["settings"]["positional"] is True

    ref = compute(SENTENCE, Settings(d_model=8, heads=2, layers=2, mask="causal", temperature=0.5,
                                     positional=True, seed=3))
    assert len(doc["layers"]) == 2
    for layer_doc, layer in zip(doc["layers"], ref.layers):
        assert len(layer_doc["heads"]) == 2
        for head_doc, head in zip(layer_doc["heads"], layer.heads):
            assert set(HEAD_STAGES) <= set(head_doc)
            for stage in HEAD_STAGES:
                got = as_array(head_doc[stage])
                want = np.asarray(head.stage(stage), dtype=float)
                # masked cells (−∞) are written as null: nowhere else
                assert np.array_equal(np.isnan(got), ~np.isfinite(want)), stage
                np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=0, atol=0)
        np.testing.assert_array_equal(as_array(layer_doc["output"]), layer.output)


def test_masked_cells_are_null_exactly_above_the_diagonal(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "trace", "a b c d", "--causal", "--format", "json")
    assert code == 0
    masked = json.loads(out)["layers"][0]["heads"][0]["masked"]
    for i, row in enumerate(masked):
        for j, v in enumerate(row):
            assert (v is None) == (j > i)


def test_table_prints_every_stage_with_token_labels(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "trace", SENTENCE, "--format", "table")
    assert code == 0
    for title in ("embeddings X", "q", "k", "v", "scores", "scaled", "masked", "weights", "output",
                  "heads → concat·W_O", "row sums", "row entropy (bits)"):
        assert f"== {title} (" in out
    ref = compute(SENTENCE).head()
    # the weights row of "it" with 3 decimals
    block = out.split("== weights (10×10) ==")[1].split("==")[0]
    it_line = next(line for line in block.splitlines() if line.strip().startswith("it "))
    assert it_line.split()[1:] == [f"{v:.3f}" for v in ref.weights[7]]


def test_csv_has_one_block_per_stage_with_full_precision(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "trace", "one two three", "--causal", "--format", "csv")
    assert code == 0
    blocks = {b.splitlines()[0][2:]: b.splitlines()[1:] for b in out.strip().split("\n\n")}
    assert {"scores", "weights", "masked", "output"} <= set(blocks)
    ref = compute("one two three", Settings(mask="causal")).head()
    rows = list(csv.reader(io.StringIO("\n".join(blocks["weights"]))))
    assert rows[0] == ["pos", "token", "one", "two", "three"]
    got = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    np.testing.assert_array_equal(got, ref.weights)
    masked = list(csv.reader(io.StringIO("\n".join(blocks["masked"]))))
    assert masked[1][3] == "-inf"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["trace", ""], "empty"),
        (["trace", "   "], "empty"),
        (["trace", "a b", "--heads", "3", "--d-model", "8"], "not divisible"),
        (["trace", "a b", "--temperature", "0"], "temperature"),
        (["trace", "a b", "--temperature", "nan"], "temperature"),
        (["trace", "a b", "--temperature", "-1"], "temperature"),
        (["trace", "a b", "--normalizer", "magic"], "normalizer"),
        (["trace", "a b", "--backend", "tpu"], "backend"),
        (["trace", "a b", "--d-model", "x"], "d-model"),
        (["trace", "a b", "--heads", "0"], "heads"),
        (["trace", "a b", "--format", "xml"], "format"),
        (["trace"], "SENTENCE"),
        (["trace", "a b", "--step", "2"], "--lesson"),
        (["trace", "a b", "--bogus"], "unrecognized"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], argv: list[str],
                                            fragment: str) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors leave through exit(2)
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("attnstudio")
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_no_traceback_from_a_real_process() -> None:
    """The installed entry point, not only main(): a bad sentence gives one line and exit 2."""
    proc = subprocess.run([sys.executable, "-m", "attnstudio", "trace", "  "],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "empty" in proc.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from attnstudio import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"attnstudio {__version__}"


def test_bench_times_numpy_and_reports_rows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "bench", "--sizes", "4,8", "--repeat", "1", "--d-k", "8", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    numpy_rows = [r for r in rows if r["backend"] == "numpy"]
    assert [r["n"] for r in numpy_rows] == [4, 8]
    assert all(r["median_ms"] > 0 and r["scores_per_head"] == r["n"] ** 2 for r in numpy_rows)


def test_overflowing_naive_softmax_gives_valid_json_with_nulls(capsys: pytest.CaptureFixture[str]) -> None:
    """NaN weights, row sums and entropies are written as null, never as invalid JSON."""
    code, out, err = run_cli(capsys, "trace", "The cat sat on the mat", "--normalizer", "naive-softmax",
                             "--temperature", "0.0005", "--format", "json")
    assert code == 0, err
    head = json.loads(out)["layers"][0]["heads"][0]
    assert None in head["row_sums"] and None in head["row_entropy_bits"]
    assert any(v is None for row in head["weights"] for v in row)
    assert json.loads(out)["warnings"]


def test_a_lesson_step_is_its_own_numbers_and_options_override_its_settings(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`trace --lesson` computes what the window shows for the step (its direct matrices and its
    scale = off) and options given on the command line replace only the settings they name."""
    from dataclasses import replace

    from attnstudio.core.lessons import compute_step, load_lesson

    step = load_lesson("it-cat").steps[2]
    assert not step.state.settings.scale and step.state.direct  # what makes this step worth checking
    code, out, err = run_cli(capsys, "trace", "--lesson", "it-cat", "--step", "3", "--format", "json")
    assert code == 0, err
    plain = json.loads(out)
    assert plain["lesson"] == "it-cat" and plain["step"] == 3
    assert plain["settings"]["scale"] is False and plain["settings"]["temperature"] == 1.0
    assert plain["layers"][0]["heads"][0]["direct"] == sorted(name for _, _, name in step.state.direct)
    plain_weights = as_array(plain["layers"][0]["heads"][0]["weights"])
    np.testing.assert_array_equal(plain_weights, compute_step(step).head().weights)

    code, out, err = run_cli(capsys, "trace", "--lesson", "it-cat", "--step", "3", "--format", "json",
                             "--temperature", "0.5", "--causal")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["settings"]["temperature"] == 0.5 and doc["settings"]["mask"] == "causal"
    assert doc["settings"]["scale"] is False  # not named on the command line: the step's own
    want = compute_step(replace(step.state, settings=step.state.settings.with_(temperature=0.5, mask="causal")))
    weights = as_array(doc["layers"][0]["heads"][0]["weights"])
    np.testing.assert_array_equal(weights, want.head().weights)
    assert not np.array_equal(weights, plain_weights)
