"""`attnstudio trace`: the JSON layout, values equal to the core's, and bad input answered
with one line and exit status 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from attnstudio.cli import main
from attnstudio.core import Settings, compute
from attnstudio.core.trace import HEAD_STAGES
from attnstudio.studio import StudioModel
from attnstudio.studio.workspace import dumps

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
    assert doc["version"] == 2
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
    rows = json.loads(out)["rows"]
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


# ---- trace --workspace, and the window on a workspace -------------------------------------------


def _workspace(tmp_path: Path, model: StudioModel, name: str = "work.attn") -> Path:
    path = tmp_path / name
    path.write_text(dumps(model.snapshot()), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_trace_of_a_workspace_is_the_trace_of_its_sentence_and_settings(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    settings = Settings(d_model=8, heads=2, layers=2, mask="causal", temperature=0.5, positional=True, seed=3)
    path = _workspace(tmp_path, StudioModel("The cat sat on the mat", settings))
    code, from_file, err = run_cli(capsys, "trace", "--workspace", str(path), "--format", fmt)
    assert code == 0, err
    code, from_args, err = run_cli(capsys, "trace", "The cat sat on the mat", "--d-model", "8", "--heads", "2",
                                   "--layers", "2", "--causal", "--temperature", "0.5", "--positional", "--seed", "3",
                                   "--format", fmt)
    assert code == 0, err
    assert from_file == from_args


def test_trace_of_a_workspace_computes_its_edits_and_overrides_as_the_window_does(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from attnstudio.core.formats import trace_to_json
    from attnstudio.studio.inputs import run

    m = StudioModel("the cat sat on the mat", Settings(d_model=4, heads=2, layers=2))
    m.set_weight_cell(1, 1, "w_q", 0, 0, 2.5)
    m.set_embedding_cell(1, 1, -1.25)
    m.set_direct(0, 1, "k", np.arange(12.0).reshape(6, 2) / 5)
    m.set_sentence("the cat sat on a mat")  # "a" has no row in the overrides: seeded X, K from X·W
    path = _workspace(tmp_path, m)
    code, out, err = run_cli(capsys, "trace", "--workspace", str(path), "--format", "json")
    assert code == 0, err
    want = json.loads(json.dumps(trace_to_json(run(m.inputs())), allow_nan=False))
    assert json.loads(out) == want
    plain = compute("the cat sat on a mat", m.settings)
    assert not np.array_equal(as_array(json.loads(out)["layers"][1]["output"]), plain.layers[1].output)

    # options given on the command line change the workspace's settings, as the window's controls would
    code, out, err = run_cli(capsys, "trace", "--workspace", str(path), "--format", "json", "--temperature", "3")
    assert code == 0, err
    m.set_setting(temperature=3.0)
    assert json.loads(out) == json.loads(json.dumps(trace_to_json(run(m.inputs())), allow_nan=False))




@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_a_lesson_as_a_table_or_csv_titles_each_step_and_holds_its_numbers(
        capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    from attnstudio.core.lessons import compute_step, load_lesson

    lesson = load_lesson("it-cat")
    code, out, err = run_cli(capsys, "trace", "--lesson", "it-cat", "--format", fmt)
    assert code == 0 and err == ""
    mark = "# " if fmt == "csv" else "### "
    titles = [line[len(mark):] for line in out.splitlines() if line.startswith(mark + "lesson ")]
    assert titles == [f"lesson it-cat, step {i + 1}: {s.title}" for i, s in enumerate(lesson.steps)]
    step = compute_step(lesson.steps[1])  # step 2: "it" against cat, mat, tired, worked out by hand
    row = [float(w) for w in step.head().weights[0]]
    text = out.split(mark + titles[1])[1].split(mark + titles[2])[0]
    if fmt == "table":
        assert "   it  " + " ".join(f"{w:.3f}" for w in row) in text
    else:
        assert "0,it," + ",".join(repr(w) for w in row) in text
@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["the cat"], "not both"),
        (["--lesson", "causal"], "not both"),
        (["--step", "2"], "--lesson"),
    ],
)
def test_trace_refuses_a_workspace_with_a_sentence_or_a_lesson(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], fragment: str) -> None:
    path = _workspace(tmp_path, StudioModel("a b"))
    code, out, err = run_cli(capsys, "trace", "--workspace", str(path), *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and err.startswith("attnstudio: error: ")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no such file"),
        (b"", "is empty"),
        (b"\x80\x81 binary", "is not UTF-8"),
        (b'{"format": "attnstudio-workspace", "version": 4}', "version 4; this one reads 3"),
        (b'{"format": "attnstudio-workspace", "version": 1, "settings": {"heads": "x"}}', "is missing"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_a_bad_workspace_file_is_one_line_and_exit_2(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | None, fragment: str) -> None:
    path = tmp_path / "bad.attn"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run_cli(capsys, "trace", "--workspace", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"attnstudio: error: {path}") and fragment in err


def test_a_workspace_with_an_empty_sentence_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _workspace(tmp_path, StudioModel("   "))
    code, out, err = run_cli(capsys, "trace", "--workspace", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert str(path) in err and "empty" in err


def test_a_bad_workspace_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "broken.attn"
    path.write_text('{"format": "attnstudio-workspace", "version": 1, "sentence": ', encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "attnstudio", "trace", "--workspace", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "broken.attn" in proc.stderr and "cut short" in proc.stderr


class _FakeApp(types.ModuleType):
    """Stands in for attnstudio.qt.app (no Qt in tests/core): records how the window was asked for."""

    def __init__(self) -> None:
        super().__init__("attnstudio.qt.app")
        self.calls: list[dict[str, object]] = []

    def run_app(self, argv: list[str] | None = None, lesson: str | None = None,
                workspace: str | None = None, model: str | None = None) -> int:
        self.calls.append({"argv": argv, "lesson": lesson, "workspace": workspace, "model": model})
        return 0


@pytest.mark.parametrize(
    ("argv", "lesson", "workspace"),
    [
        ([], None, None),
        (["--lesson", "causal"], "causal", None),
        (["my work.attn"], None, "my work.attn"),
        (["dir/Talk.ATTN"], None, "dir/Talk.ATTN"),
        (["--workspace", "w.attn"], None, "w.attn"),
        (["--workspace", "saved.json"], None, "saved.json"),
        (["w.attn", "--lesson", "it-cat"], "it-cat", "w.attn"),
    ],
)
def test_the_window_opens_on_a_workspace(monkeypatch: pytest.MonkeyPatch, argv: list[str], lesson: str | None,
                                         workspace: str | None) -> None:
    fake = _FakeApp()
    monkeypatch.setitem(sys.modules, "attnstudio.qt.app", fake)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # a platform chosen: no display is looked for
    assert main(argv) == 0
    assert fake.calls == [{"argv": None, "lesson": lesson, "workspace": workspace, "model": None}]


def test_the_window_opens_on_a_model_folder(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    fake = _FakeApp()
    monkeypatch.setitem(sys.modules, "attnstudio.qt.app", fake)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main(["--model", "models/minilm"]) == 0
    assert fake.calls == [{"argv": None, "lesson": None, "workspace": None, "model": "models/minilm"}]
    with pytest.raises(SystemExit) as exc:  # lessons run on the toy model
        main(["--model", "models/minilm", "--lesson", "causal"])
    assert exc.value.code == 2 and "lessons run on the toy model" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["notes.txt"], "neither a command"),
        (["The cat sat"], "neither a command"),
        (["a.attn", "--workspace", "b.attn"], "give the workspace once"),
        (["a.attn", "b.attn"], "unrecognized"),
    ],
)
def test_the_window_refuses_what_is_not_a_workspace(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str], argv: list[str],
                                                    fragment: str) -> None:
    fake = _FakeApp()
    monkeypatch.setitem(sys.modules, "attnstudio.qt.app", fake)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and fake.calls == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err
