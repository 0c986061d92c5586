"""The workspace as a document in the window: save and open round-trip the work, the title
marks unsaved work, a failed save leaves the file on disk as it was, a bad file changes
nothing, and closing or opening with unsaved work asks first."""

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QMessageBox
from studio_helpers import settle

from attnstudio.qt import document as document_module
from attnstudio.studio import workspace
from attnstudio.studio.snapshot import same


def make_work(window, qtbot):
    s = window.studio
    s.set_sentence("my own words for the lecture")
    s.set_setting(d_model=8, heads=2, temperature=0.5)
    s.set_weight_cell(0, 1, "w_k", 3, 2, "0.625")
    s.set_direct(0, 0, "q", np.full((6, 4), 0.25))
    s.apply(stage="scores", theme="light", zoom=1.5)
    settle(qtbot, window)


def test_save_then_open_gives_the_work_back_and_the_title_follows(window, qtbot, tmp_path, monkeypatch):
    doc = window.document
    doc.interactive = True  # asks before opening over unsaved work: answered Discard below
    assert window.windowTitle() == "untitled — Attention Studio" and not doc.modified
    make_work(window, qtbot)
    assert doc.modified and window.windowTitle().startswith("untitled •")
    path = tmp_path / "lecture.attn"
    assert doc.save_to(path)
    assert not doc.modified and window.windowTitle() == "lecture.attn — Attention Studio"
    saved = window.studio.snapshot()
    window.studio.set_sentence("something else")
    assert doc.modified
    asked = []
    monkeypatch.setattr(document_module.QMessageBox, "question",
                        lambda *a, **k: asked.append(1) or QMessageBox.StandardButton.Discard)
    assert doc.open_path(path)
    assert asked == [1]
    doc.interactive = False
    trace = settle(qtbot, window)
    now = window.studio.snapshot()
    for field in ("sentence", "settings", "weights", "embeddings", "direct", "stage", "theme", "zoom"):
        assert same(getattr(now, field), getattr(saved, field)), field
    assert tuple(trace.tokens) == ("my", "own", "words", "for", "the", "lecture")
    assert window.sentence.text() == "my own words for the lecture"
    assert str(path.resolve()) == doc.recent()[0]
    assert not window.undo.undo_action.isEnabled()  # another workspace: the old steps are gone


def test_a_failed_save_leaves_the_file_on_disk_as_it_was(window, qtbot, tmp_path, monkeypatch):
    doc = window.document
    doc.interactive = False
    path = tmp_path / "kept.attn"
    assert doc.save_to(path)
    before = path.read_bytes()
    window.studio.set_sentence("changed after saving")

    def broken(_snap):
        raise ValueError("disk on fire")

    monkeypatch.setattr(workspace, "dumps", broken)
    assert not doc.save_to(path)
    assert path.read_bytes() == before and "disk on fire" in doc.last_error
    monkeypatch.undo()
    nowhere = tmp_path / "no-such-folder" / "x.attn"  # the write itself fails (as root, modes would not)
    assert not doc.save_to(nowhere)
    assert not nowhere.exists() and doc.modified and "x.attn" in doc.last_error


def test_a_bad_file_is_one_message_and_the_work_stays(window, qtbot, tmp_path):
    doc = window.document
    doc.interactive = False
    make_work(window, qtbot)
    before = window.studio.snapshot()
    bad = tmp_path / "broken.attn"
    bad.write_bytes(b'{"format": "attnstudio-workspace", "version": 1, "sentence": ')
    assert not doc.open_path(bad)
    assert "broken.attn" in doc.last_error and "\n" not in doc.last_error
    assert window.studio.snapshot() is before
    assert not doc.open_path(tmp_path / "missing.attn")
    assert window.studio.snapshot() is before


def test_unsaved_work_asks_before_closing_and_cancel_keeps_the_window(window, qtbot, monkeypatch):
    window.document.interactive = True
    make_work(window, qtbot)
    answers = []

    def ask(*_args, **_kwargs):
        answers.append(1)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(document_module.QMessageBox, "question", ask)
    assert not window.close()
    assert answers and window.isVisible()
    monkeypatch.setattr(document_module.QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert window.document.new()
    assert window.studio.sentence == "The cat sat on the mat because it was tired"
    assert window.studio.theme == "light"  # the presenter's display stays
    assert window.close()


def test_a_workspace_file_dropped_or_given_opens(window, qtbot, tmp_path):
    doc = window.document
    doc.interactive = False
    make_work(window, qtbot)
    path = tmp_path / "dropped.attn"
    assert doc.save_to(path)
    doc.new()
    assert window._drops[".attn"](str(path))
    assert window.studio.sentence == "my own words for the lecture" and doc.path == Path(path)


def test_typing_not_yet_handed_over_is_saved_and_survives_closing(window, qtbot, tmp_path):
    """Ctrl+S within the sentence's 150 ms pause, or with a number typed in a cell's open
    editor, saves what is on screen; closing hands both to the model first."""
    from PySide6.QtWidgets import QLineEdit

    window.sentence.field.setFocus()
    window.sentence.field.clear()
    qtbot.keyClicks(window.sentence.field, "typed just before saving")
    assert window.studio.sentence != "typed just before saving"  # still within the pause
    table = window.editor.table
    index = table.model().index(1, 2)
    table.setCurrentIndex(index)
    table.edit(index)
    (editor,) = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
    editor.setText("0.75")
    assert window.document.save_to(tmp_path / "mid-typing.attn")
    saved = workspace.load(tmp_path / "mid-typing.attn")
    assert saved.sentence == "typed just before saving"
    assert same(saved.weights, window.studio.weights) and window.editor.table.matrix()[1, 2] == 0.75
    assert table.state() != table.State.EditingState

    table.edit(table.model().index(0, 0))
    (editor,) = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
    editor.setText("-0.5")
    qtbot.keyClicks(window.sentence.field, " and closed")
    window.close()
    assert window.studio.sentence == "typed just before saving and closed"
    assert window.editor.table.matrix()[0, 0] == -0.5


def test_saved_inside_a_lesson_the_own_work_stays_unsaved(window, qtbot, tmp_path):
    """The file holds the lesson's screen; the user's own work, which closing the lesson gives
    back, is in no file: the title must keep saying so (the soak test found it marked saved,
    and the window would close without asking)."""
    doc = window.document
    doc.interactive = False
    window.studio.set_sentence("my own words")
    assert window.lesson_player.open_lesson("causal")
    path = tmp_path / "in-a-lesson.attn"
    assert doc.save_to(path)
    assert workspace.load(path).sentence == window.studio.sentence == "the robot wrote a short poem"
    assert doc.modified and "•" in window.windowTitle()
    window.lesson_player.close_lesson()
    assert window.studio.sentence == "my own words"
    assert doc.modified and "•" in window.windowTitle()
    assert doc.save_to(path)
    assert not doc.modified and workspace.load(path).sentence == "my own words"
