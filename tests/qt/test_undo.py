"""Undo and redo of every kind of edit, through the window's Edit actions: a cell, the
sentence, a setting, a direct matrix, Randomize, Reset, a lesson opened and closed; a scrub
over a cell is one step; undo keeps the presenter's theme and zoom."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from studio_helpers import settle

from attnstudio.qt import undo as undo_module


def undo(window, qtbot):
    assert window.undo.undo_action.isEnabled()
    window.undo.undo_action.trigger()
    settle(qtbot, window)


def redo(window, qtbot):
    window.undo.redo_action.trigger()
    settle(qtbot, window)


EDITS = {
    "cell": lambda s: s.set_weight_cell(0, 0, "w_q", 1, 2, "0.75"),
    "sentence": lambda s: s.set_sentence("a different sentence"),
    "setting": lambda s: s.set_setting(temperature=3.0),
    "size": lambda s: s.set_setting(d_model=8, heads=2),
    "x cell": lambda s: s.set_embedding_cell(1, 1, "2.5"),
    "direct": lambda s: s.set_direct(0, 0, "k", np.ones((10, 4))),
    "randomize": lambda s: s.randomize(),
    "reset": lambda s: s.reset(),
    "identity": lambda s: s.identity("w_o"),
}


@pytest.mark.parametrize("kind", EDITS)
def test_every_kind_of_edit_undoes_and_redoes(window, qtbot, kind, monkeypatch):
    monkeypatch.setattr(undo_module, "MERGE_S", -1.0)  # every change its own step here
    studio = window.studio
    if kind == "reset":  # something to reset, made before the step under test
        studio.set_weight_cell(0, 0, "w_v", 0, 0, 9.0)
        window.undo.clear()
    start = studio.snapshot()
    EDITS[kind](studio)
    settle(qtbot, window)
    after = studio.snapshot()
    assert after != start
    while window.undo.undo_action.isEnabled():
        undo(window, qtbot)
    assert studio.snapshot() == start
    assert window.sentence.text() == start.sentence
    while window.undo.redo_action.isEnabled():
        redo(window, qtbot)
    assert studio.snapshot() == after


def test_a_scrub_over_a_cell_is_one_step_and_typing_another_cell_another(window, qtbot):
    studio = window.studio
    before = float(studio.matrix("w_q")[0, 0])
    for i in range(25):  # a drag: many changes of one cell within the merge window
        studio.set_weight_cell(0, 0, "w_q", 0, 0, before + 0.01 * (i + 1))
    settle(qtbot, window)
    assert window.undo.stack.count() == 1
    studio.set_sentence("typed quickly")
    studio.set_sentence("typed quickly here")
    assert window.undo.stack.count() == 2
    undo(window, qtbot)
    assert studio.sentence != "typed quickly"  # the whole typing went in one step
    undo(window, qtbot)
    assert float(studio.matrix("w_q")[0, 0]) == before


def test_opening_and_closing_a_lesson_are_steps_and_undo_keeps_the_presenters_zoom(window, qtbot):
    studio = window.studio
    mine = studio.snapshot()
    assert window.lesson_player.open_lesson("causal")
    settle(qtbot, window)
    studio.apply(zoom=1.5, theme="light")
    window.lesson_player.close_lesson()
    undo(window, qtbot)  # back into the lesson
    assert studio.lesson is not None and studio.lesson.id == "causal"
    assert window.lesson_player.panel.progress.text().startswith("Step 1")
    undo(window, qtbot)  # before the lesson
    assert studio.lesson is None and studio.sentence == mine.sentence
    assert (studio.zoom, studio.theme) == (1.5, "light")


def test_view_changes_are_not_steps(window, qtbot):
    window.go_to_stage("weights")
    window.studio.set_view(head=0)
    window.studio.apply(theme="light", zoom=1.3)
    assert window.undo.stack.count() == 0 and not window.undo.undo_action.isEnabled()


def test_the_edit_menu_has_the_standard_keys(window):
    assert window.undo.undo_action.shortcut().toString() == "Ctrl+Z"
    keys = [k.toString() for k in window.undo.redo_action.shortcuts()]
    assert "Ctrl+Y" in keys and "Ctrl+Shift+Z" in keys


@pytest.mark.parametrize("redo_keys", [(Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier),
                                       (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                                        | Qt.KeyboardModifier.ShiftModifier)], ids=["Ctrl+Y", "Ctrl+Shift+Z"])
def test_the_keys_undo_and_redo(window, qtbot, redo_keys):
    """Pressed, not triggered: a key bound twice is ambiguous to Qt and does nothing (Ctrl+Y
    was, on Linux, where the platform's Redo keys hold it already)."""
    studio = window.studio
    start = studio.snapshot()
    studio.set_sentence("pressed keys")
    central = window.centralWidget()
    central.setFocus()
    qtbot.keyClick(central, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert studio.snapshot() == start
    qtbot.keyClick(central, *redo_keys)
    assert studio.sentence == "pressed keys"


def test_merged_changes_are_freed(window, qtbot):
    """A scrub merged into one step keeps one step's snapshots, not one per change (PySide6
    never freed the commands QUndoStack deleted after merging them: the soak's 67 MB)."""
    import gc

    studio = window.studio
    for i in range(30):
        studio.set_weight_cell(0, 0, "w_q", 0, 0, 0.01 * (i + 1))
    assert window.undo.stack.count() == 1
    gc.collect()
    mine = [o for o in gc.get_objects() if type(o) is undo_module._Change and o._feature is window.undo]
    assert len(mine) == 1  # (other tests' windows may still be waiting to be collected)
    undo(window, qtbot)
    studio.set_sentence("after an undo, a step of its own")
    assert window.undo.stack.count() == 1 and window.undo.undo_action.isEnabled()
