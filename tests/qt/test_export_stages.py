"""`attnstudio export --workspace/--sentence`: a stage as PNG or SVG, any matrix as CSV or .npy
(numbers checked against a recomputation here), every stage as a GIF; and a write that the
system refuses (`ulimit -f`) exits 2 with one line and leaves no file, for every format."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage, QImageReader
from scipy.special import softmax

from attnstudio.cli import main
from attnstudio.core.trace import STAGE_KEYS
from attnstudio.studio.model import StudioModel
from attnstudio.studio.workspace import save

ROOT = Path(__file__).resolve().parents[2]
SENTENCE = "the cat sat on the mat because it was tired"


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["export", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def reference_weights(model: StudioModel) -> np.ndarray:
    """softmax(X·W_Q (X·W_K)ᵀ / √d_k) row by row, from the model's own X and weights."""
    x = model.embeddings_matrix()
    q, k = x @ model.matrix("w_q", 0, 0), x @ model.matrix("w_k", 0, 0)
    return softmax(q @ k.T / np.sqrt(q.shape[1]), axis=1)


def test_csv_and_npy_of_the_weights_equal_a_recomputation(qtbot, tmp_path, capsys):
    model = StudioModel(SENTENCE)
    expected = reference_weights(model)
    assert cli(capsys, "--sentence", SENTENCE, "--stage", "weights", "--out", str(tmp_path / "w.csv"))[0] == 0
    assert cli(capsys, "--sentence", SENTENCE, "--stage", "weights", "--out", str(tmp_path / "w.npy"))[0] == 0
    rows = [line.split(",") for line in (tmp_path / "w.csv").read_text().splitlines() if not line.startswith("#")]
    from_csv = np.array(rows, dtype=np.float64)
    assert from_csv.shape == (10, 10) and np.allclose(from_csv, expected, atol=1e-12)
    assert np.allclose(np.load(tmp_path / "w.npy", allow_pickle=False), expected, atol=1e-12)


def test_a_workspace_matrix_by_name_keeps_the_users_edit(qtbot, tmp_path, capsys):
    model = StudioModel(SENTENCE)
    model.set_weight_cell(0, 0, "w_q", 1, 2, "0.5")
    save(model.snapshot(), tmp_path / "work.attn")
    code, out, err = cli(capsys, "--workspace", str(tmp_path / "work.attn"), "--matrix", "w_q", "--format", "csv",
                         "--out", str(tmp_path / "wq.txt"))
    assert code == 0 and err == "" and "w_q (layer 1, head 1)" in out
    text = (tmp_path / "wq.txt").read_text()
    got = np.array([r.split(",") for r in text.splitlines()[1:]], dtype=np.float64)
    assert got[1, 2] == 0.5 and np.array_equal(got, model.matrix("w_q", 0, 0))
    code, _, _ = cli(capsys, "--workspace", str(tmp_path / "work.attn"), "--matrix", "k", "--out",
                     str(tmp_path / "k.npy"))
    x = model.embeddings_matrix()
    assert code == 0 and np.allclose(np.load(tmp_path / "k.npy"), x @ model.matrix("w_k", 0, 0), atol=1e-12)


def test_png_and_svg_of_a_stage(qtbot, tmp_path, capsys):
    expected = reference_weights(StudioModel(SENTENCE))
    png, svg = tmp_path / "w.png", tmp_path / "w.svg"
    assert cli(capsys, "--sentence", SENTENCE, "--stage", "weights", "--out", str(png), "--size", "1024x600")[0] == 0
    image = QImage(str(png))
    assert (image.width(), image.height()) == (1024, 600)
    assert cli(capsys, "--sentence", SENTENCE, "--stage", "weights", "--out", str(svg))[0] == 0
    root = ET.fromstring(svg.read_bytes())  # well-formed XML
    texts = ["".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "7 · Weights (normalized)" in texts
    numbers = {t for t in texts if re.fullmatch(r"\d\.\d\d", t)}
    assert {f"{v:.2f}" for v in expected.ravel()} <= numbers  # every cell's number, as text


def test_gif_steps_through_every_stage(qtbot, tmp_path, capsys):
    path = tmp_path / "stages.gif"
    code, out, _ = cli(capsys, "--sentence", "the cat sat", "--out", str(path))
    assert code == 0 and f"{len(STAGE_KEYS)} stages" in out
    reader = QImageReader(str(path))  # Qt's decoder, not the writer's code
    frames = []
    while not (image := reader.read()).isNull():
        frames.append(image)
    assert len(frames) == len(STAGE_KEYS)
    assert {(f.width(), f.height()) for f in frames} == {(960, 540)}
    assert len({bytes(f.convertToFormat(QImage.Format.Format_RGB32).constBits()) for f in frames}) == len(frames)


def test_a_small_gif_is_laid_out_as_a_screen_and_scaled_down(qtbot, tmp_path, capsys, monkeypatch):
    """Laid out at 960×540 itself, the colour bar's caption ran under the Σ column."""
    from attnstudio.qt import export_stages

    laid_out = []
    real = export_stages.stage_window
    monkeypatch.setattr(export_stages, "stage_window", lambda snap, size, theme="light": (
        laid_out.append(size) or real(snap, size, theme)))
    path = tmp_path / "small.gif"
    code, out, _ = cli(capsys, "--sentence", "the cat sat", "--out", str(path), "--size", "640x360")
    assert code == 0 and "640x360" in out
    assert laid_out == [(1280, 720)]
    reader = QImageReader(str(path))
    assert (reader.size().width(), reader.size().height()) == (640, 360)


@pytest.mark.parametrize(("argv", "says"), [
    (["--sentence", SENTENCE, "--out", ""], "empty"),
    (["--sentence", SENTENCE, "--stage", "nope", "--out", "a.png"], "unknown stage"),
    (["--sentence", SENTENCE, "--head", "2", "--out", "a.png"], "head 2 does not exist"),
    (["--sentence", SENTENCE, "--matrix", "nope", "--out", "a.csv"], "unknown matrix"),
    (["--sentence", SENTENCE, "--matrix", "k", "--out", "a.png"], "--matrix is for csv or npy"),
    (["--sentence", SENTENCE, "--stage", "weights", "--out", "a.gif"], "every stage"),
    (["--sentence", SENTENCE, "--out", "missing/a.png"], "does not exist"),
    (["--lesson", "it-cat", "--stage", "weights", "--out", "d"], "a lesson exports every step"),
    (["--workspace", "nowhere.attn", "--out", "a.png"], "nowhere.attn"),
])
def test_bad_requests_are_one_line_and_write_nothing(qtbot, tmp_path, capsys, monkeypatch, argv, says):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and err.startswith("attnstudio: error: ") and says in err, err
    assert list(tmp_path.iterdir()) == []


LONG = " ".join(f"w{i}" for i in range(100))  # a 100 × 100 matrix: 80 kB as .npy, more as CSV


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "name"), [
    (["--sentence", SENTENCE, "--stage", "weights"], "w.png"),
    (["--sentence", SENTENCE, "--stage", "weights"], "w.svg"),
    (["--sentence", SENTENCE], "s.gif"),
    (["--sentence", LONG, "--stage", "weights"], "w.csv"),
    (["--sentence", LONG, "--stage", "weights"], "w.npy"),
    (["--lesson", "it-cat", "--format", "pdf"], None),
    (["--lesson", "it-cat", "--format", "png"], None),
    (["--lesson", "it-cat", "--format", "gif", "--size", "640x360"], None),
])
def test_a_write_past_ulimit_f_exits_2_and_leaves_no_file(tmp_path, argv, name):
    out = tmp_path / name if name else tmp_path
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    # As a user would: the shell's `ulimit -f 50` (bash counts 1024-byte blocks: 51 200 bytes),
    # SIGXFSZ left as it is.
    run = subprocess.run(["bash", "-c", 'ulimit -f 50 && exec "$@"', "bash", sys.executable, "-m", "attnstudio",
                          "export", *argv, "--out", str(out)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert run.stderr.startswith("attnstudio: error: ") and run.stderr.count("\n") == 1, run.stderr
    assert "ulimit -f" in run.stderr
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary one
