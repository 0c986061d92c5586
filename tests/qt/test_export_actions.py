"""The Export menu of the window: pictures of the stage, matrices as files (numbers checked
against a recomputation here), every stage as a GIF, and importing a matrix into the editor —
one undo step — with every bad file refused in one line and the work untouched."""

from __future__ import annotations

import pickle
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage, QImageReader
from scipy.special import softmax
from studio_helpers import settle

from attnstudio.core.matrix_files import matrix_to_npy
from attnstudio.core.trace import STAGE_KEYS


def weights_reference(window) -> np.ndarray:
    st = window.studio
    x = st.embeddings_matrix()
    q, k = x @ st.matrix("w_q", 0, 0), x @ st.matrix("w_k", 0, 0)
    return softmax(q @ k.T / np.sqrt(q.shape[1]), axis=1)


def test_the_menu_lists_the_exports(window):
    texts = [a.text() for a in window.exports.menu.actions() if a.text()]
    assert "Stage as PNG…" in texts and "Stage as SVG…" in texts and "Stages as GIF…" in texts
    assert "Import into the editor's matrix…" in texts
    assert window.exports.menu.menuAction() in window.document.menu.actions()  # File ▸ Export


def test_stage_png_and_svg(window, qtbot, tmp_path):
    window.studio.set_stage("weights")
    settle(qtbot, window)
    assert window.exports.save_stage_png(tmp_path / "w.png")
    image = QImage(str(tmp_path / "w.png"))
    assert (image.width(), image.height()) == (window.stage_view.width(), window.stage_view.height())
    assert window.exports.save_stage_svg(tmp_path / "w.svg")
    root = ET.fromstring((tmp_path / "w.svg").read_bytes())
    texts = {"".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {f"{v:.2f}" for v in weights_reference(window).ravel()} <= {t for t in texts if re.fullmatch(r"\d\.\d\d", t)}


def test_stage_matrix_csv_and_npy_equal_a_recomputation(window, qtbot, tmp_path):
    window.studio.set_stage("weights")
    settle(qtbot, window)
    expected = weights_reference(window)
    assert window.exports.save_stage_matrix(tmp_path / "w.csv")
    assert window.exports.save_stage_matrix(tmp_path / "w.npy")
    lines = (tmp_path / "w.csv").read_text().splitlines()
    assert lines[0].startswith("# attnstudio: weights")
    assert np.allclose(np.array([r.split(",") for r in lines[1:]], dtype=float), expected, atol=1e-12)
    assert np.allclose(np.load(tmp_path / "w.npy"), expected, atol=1e-12)


def test_stages_gif_steps_through_every_stage_and_gives_the_view_back(window, qtbot, tmp_path):
    window.studio.set_stage("scaled")
    settle(qtbot, window)
    assert window.exports.save_stages_gif(tmp_path / "s.gif")
    assert window.studio.stage == "scaled"
    reader = QImageReader(str(tmp_path / "s.gif"))
    frames = []
    while not (image := reader.read()).isNull():
        frames.append(image)
    assert len(frames) == len(STAGE_KEYS)
    assert max(frames[0].width(), frames[0].height()) <= 960


def test_editor_matrix_round_trip_and_import_is_one_undo_step(window, qtbot, tmp_path):
    window.editor.select("w_q")
    st = window.studio
    before = np.array(st.matrix("w_q", 0, 0))
    assert window.exports.save_editor_matrix(tmp_path / "wq.csv")
    lines = (tmp_path / "wq.csv").read_text().splitlines()
    assert np.array_equal(np.array([r.split(",") for r in lines[1:]], dtype=float), before)
    changed = before * 2 + 1
    (tmp_path / "new.npy").write_bytes(matrix_to_npy(changed))
    assert window.exports.import_matrix(tmp_path / "new.npy")
    settle(qtbot, window)
    assert np.array_equal(st.matrix("w_q", 0, 0), changed)
    assert np.array_equal(window.editor.table.matrix(), changed)
    window.undo.undo_action.trigger()
    assert np.array_equal(st.matrix("w_q", 0, 0), before)


def test_import_into_x(window, qtbot, tmp_path):
    window.editor.select("x")
    settle(qtbot, window)
    x = window.studio.embeddings_matrix()
    np.savetxt(tmp_path / "x.csv", -x, delimiter=",")
    assert window.exports.import_matrix(tmp_path / "x.csv")
    assert np.allclose(window.studio.embeddings_matrix(), -x)


def _object_npy(path):
    np.save(path, np.array([[1, "a"]], dtype=object), allow_pickle=True)


@pytest.mark.parametrize(("name", "make", "says"), [
    ("small.csv", lambda p: p.write_text("1,2\n3,4\n"), "must be 4 × 4, got 2 × 2"),
    ("words.csv", lambda p: p.write_text("1,2,3,x\n" * 4), "'x' is not a number"),
    ("nan.csv", lambda p: p.write_text("1,2,3,nan\n" * 4), "not a number (NaN)"),
    ("inf.npy", lambda p: np.save(p, np.full((4, 4), np.inf)), "infinite"),
    ("objects.npy", _object_npy, "pickle"),
    ("pickle.npy", lambda p: p.write_bytes(pickle.dumps([[1.0] * 4] * 4)), "not a .npy file"),
    ("short.npy", lambda p: p.write_bytes(matrix_to_npy(np.zeros((4, 4)))[:-9]), "truncated"),
    ("garbage.csv", lambda p: p.write_bytes(bytes(range(256))), "binary"),
])
def test_a_bad_file_is_one_message_and_the_work_is_untouched(window, qtbot, tmp_path, name, make, says):
    window.editor.select("w_q")
    path = tmp_path / name
    make(path)
    snap = window.studio.snapshot()
    steps = window.undo.stack.count()
    assert not window.exports.import_matrix(path)
    assert window.studio.snapshot() is snap and window.undo.stack.count() == steps
    message = window.exports.last_error
    assert message.startswith(f"{path}: ") and "\n" not in message and says in message, message
    assert window.statusBar().currentMessage() == message


def test_a_failed_write_is_a_message_and_no_file(window, tmp_path):
    target = tmp_path / "gone" / "w.png"
    assert not window.exports.save_stage_png(target)
    assert "does not exist" in window.exports.last_error
    assert not window.exports.save_stage_matrix("")
    assert "empty" in window.exports.last_error
    assert list(tmp_path.iterdir()) == []


def test_the_open_lesson_as_pdf_and_gif(window, qtbot, tmp_path):
    """Drawn by `attnstudio export` in a process of its own; the window stays usable."""
    from attnstudio.core.lessons import load_lesson

    assert not window.exports.save_lesson(tmp_path / "none.pdf")  # no lesson open
    assert "open a lesson" in window.exports.last_error
    lesson = load_lesson("causal")
    window.studio.open_lesson(lesson)
    for name in ("causal slides.pdf", "causal.gif"):
        assert window.exports.save_lesson(tmp_path / name)
        qtbot.waitUntil(lambda: not window.exports.busy, timeout=120_000)
        assert window.exports.last_error == "" and (tmp_path / name).is_file()
    pdf = (tmp_path / "causal slides.pdf").read_bytes()
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == len(lesson.steps)
    (tmp_path / "plain").write_text("a file where a folder should be")
    assert window.exports.save_lesson(tmp_path / "plain" / "x.pdf")
    qtbot.waitUntil(lambda: not window.exports.busy, timeout=120_000)
    assert "plain" in window.exports.last_error and "\n" not in window.exports.last_error
    assert window.statusBar().currentMessage() == window.exports.last_error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["causal slides.pdf", "causal.gif", "plain"]


def test_a_dropped_matrix_file_is_imported(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    window.editor.select("w_k")
    new = np.arange(16, dtype=float).reshape(4, 4) / 10
    path = tmp_path / "wk.npy"
    path.write_bytes(matrix_to_npy(new))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert np.array_equal(window.studio.matrix("w_k", 0, 0), new)
