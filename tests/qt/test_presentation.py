"""Presentation mode: the clicker keys step a lesson (and the stages without one), B blanks the
screen, digits jump to stages, Ctrl+=/-/0 zoom every text, F5/F11 toggle full screen.
Keys go to the window handle, as a clicker's would (window-level QAction shortcuts)."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from studio_helpers import make_window, settle

from attnstudio.core.lessons import load_lesson
from attnstudio.core.trace import STAGE_KEYS

NEXT = (Qt.Key.Key_PageDown, Qt.Key.Key_Space, Qt.Key.Key_Right)
PREV = (Qt.Key.Key_PageUp, Qt.Key.Key_Left)



def key(qtbot, window, k, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(window.windowHandle(), k, modifier)


@pytest.mark.parametrize("forward", NEXT)
@pytest.mark.parametrize("backward", PREV)
def test_clicker_keys_step_the_lesson(window, qtbot, forward, backward):
    player = window.lesson_player
    lesson = load_lesson("causal")
    player.open_lesson("causal")
    for k in range(1, len(lesson.steps)):
        key(qtbot, window, forward)
        assert player.step_index == k
        assert window.studio.stage == lesson.steps[k].state.stage
        if lesson.steps[k].predict is not None:  # a question: the first press reveals its answer
            assert window.studio.asking
            key(qtbot, window, forward)
            assert player.step_index == k and not window.studio.asking
    key(qtbot, window, forward)
    assert player.step_index == len(lesson.steps) - 1
    for k in reversed(range(len(lesson.steps) - 1)):
        key(qtbot, window, backward)
        assert player.step_index == k
    trace = settle(qtbot, window)
    assert trace.settings.mask == lesson.steps[0].state.settings.mask


def test_without_a_lesson_the_keys_step_the_stages(window, qtbot):
    assert window.studio.stage == STAGE_KEYS[0]
    for i, k in enumerate(NEXT, 1):
        key(qtbot, window, k)
        assert window.studio.stage == STAGE_KEYS[i]
    for i, k in enumerate(PREV, 1):
        key(qtbot, window, k)
        assert window.studio.stage == STAGE_KEYS[len(NEXT) - i]


def test_a_step_key_is_not_ambiguous(window):
    """Qt fires neither of two actions that share a shortcut: each step key has one owner."""
    owners: dict[str, list[str]] = {}
    for action in {*window.findChildren(QAction), *window.actions()}:
        if action.isEnabled():
            for seq in action.shortcuts():
                owners.setdefault(seq.toString(), []).append(action.text())
    for name in ("PgDown", "PgUp", "Right", "Left", "Space", "B", "R", "F5", "F11", "1", "9", "Ctrl+=", "Ctrl+0"):
        assert len(owners.get(name, [])) == 1, (name, owners.get(name))


def test_b_blanks_and_b_or_a_step_key_brings_it_back_without_stepping(window, qtbot):
    player = window.lesson_player
    player.open_lesson("it-cat")
    pres = window.presentation
    key(qtbot, window, Qt.Key.Key_B)
    assert pres.blanked and pres.overlay.geometry() == window.rect()
    image = window.grab().toImage().scaled(32, 18)
    assert {image.pixel(x, y) & 0xFFFFFF for x in range(32) for y in range(18)} == {0}  # all black
    key(qtbot, window, Qt.Key.Key_B)
    assert not pres.blanked
    key(qtbot, window, Qt.Key.Key_B)
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert not pres.blanked and player.step_index == 0
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert player.step_index == 1


def test_number_keys_jump_to_stages(window, qtbot):
    for digit, stage in ((Qt.Key.Key_7, "weights"), (Qt.Key.Key_3, "projections"), (Qt.Key.Key_9, "heads"),
                         (Qt.Key.Key_1, "tokens")):
        key(qtbot, window, digit)
        assert window.studio.stage == stage


def test_typing_in_the_sentence_field_keeps_space_and_digits(window, qtbot):
    window.sentence.field.setFocus()
    window.sentence.field.setText("a")
    window.sentence.field.end(False)
    for char in " 2b":  # to the window, as a keyboard types: shortcuts are asked first
        qtbot.keyClick(window.windowHandle(), char)
    assert window.sentence.field.text() == "a 2b"
    assert window.studio.stage == "tokens" and not window.presentation.blanked


def test_zoom_keys(window, qtbot):
    label = window.lesson_player.panel.narration
    base_px = label.font().pixelSize()
    key(qtbot, window, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert window.studio.zoom == pytest.approx(1.15)
    assert label.font().pixelSize() > base_px  # the narration grows with the rest
    key(qtbot, window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert window.studio.zoom == pytest.approx(1.15**2)
    key(qtbot, window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert window.studio.zoom == pytest.approx(1.15)
    key(qtbot, window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.studio.zoom == 1.0 and label.font().pixelSize() == base_px


def test_f11_and_f5_toggle_full_screen_and_escape_leaves(window, qtbot):
    pres = window.presentation
    assert not window.isFullScreen()
    key(qtbot, window, Qt.Key.Key_F11)
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    assert pres.fullscreen_action.isChecked() and pres.leave_action.isEnabled()
    if window.menuWidget() is not None:
        assert window.menuWidget().isHidden()  # the whole screen for the stage; the keys still work
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.studio.stage == STAGE_KEYS[1]
    key(qtbot, window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)
    assert window.menuWidget() is None or not window.menuWidget().isHidden()
    key(qtbot, window, Qt.Key.Key_F5)
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    key(qtbot, window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)
    assert not pres.leave_action.isEnabled()


@pytest.mark.parametrize("scale", [1.5, 2.0])
def test_zoomed_narration_and_buttons_stay_inside_the_window(qtbot, scale):
    window = make_window(qtbot, (1280, 720))
    player = window.lesson_player
    player.open_lesson("trophy-suitcase")
    window.studio.apply(zoom=scale)
    settle(qtbot, window)
    qtbot.wait(20)
    panel = player.panel
    for button in (panel.back_btn, panel.next_btn):
        top_left = button.mapTo(window, button.rect().topLeft())
        bottom_right = button.mapTo(window, button.rect().bottomRight())
        assert window.rect().contains(top_left) and window.rect().contains(bottom_right)
    assert panel.narration.width() <= panel.scroll.viewport().width()  # wraps, never scrolls sideways


def test_menu_lists_the_presentation_keys(window):
    pres = window.presentation
    texts = {a.text(): a.shortcut() for a in pres.menu.actions()}
    assert texts["Full screen"] == QKeySequence("F5")
    assert texts["Blank screen"] == QKeySequence("B")


def test_a_focused_matrix_table_types_digits_instead_of_jumping(window, qtbot):
    from PySide6.QtWidgets import QAbstractItemView, QApplication

    from attnstudio.qt.matrix_table import MatrixTable

    window.editor_dock.raise_()
    qtbot.wait(10)
    table = next(t for t in window.findChildren(MatrixTable) if t.isVisible())
    window.activateWindow()
    table.setFocus()
    table.setCurrentIndex(table.model().index(0, 0))
    qtbot.waitUntil(lambda: QApplication.focusWidget() is table, timeout=2000)
    qtbot.keyClick(window.windowHandle(), "7")
    assert window.studio.stage == "tokens"
    assert table.state() == QAbstractItemView.State.EditingState
    qtbot.keyClick(window.windowHandle(), Qt.Key.Key_Escape)
    # PgDn, the clicker's key, still steps from a table.
    table.setFocus()
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.studio.stage == STAGE_KEYS[1]


def test_with_a_menu_bar_the_menus_go_there_and_full_screen_hides_it(qtbot):
    from PySide6.QtWidgets import QApplication

    from attnstudio.qt.main_window import MainWindow

    w = MainWindow(menu_bar=True)
    qtbot.addWidget(w)
    player = w.lesson_player
    w.resize(1280, 720)
    w.show()
    qtbot.waitExposed(w)
    # Keys reach a window's shortcuts once it has a focus widget (it gets one a moment after show).
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=2000)
    titles = [a.text() for a in w.menuBar().actions()]
    # Author and Export are submenus; View holds the scaling lab.
    assert titles == ["&File", "&Edit", "&Lessons", "&Present", "&View"]
    assert player.menu.menuAction() in w.menuBar().actions()
    key(qtbot, w, Qt.Key.Key_F11)
    qtbot.waitUntil(w.isFullScreen, timeout=2000)
    assert w.menuBar().isHidden()
    key(qtbot, w, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: not w.isFullScreen(), timeout=2000)
    assert not w.menuBar().isHidden()


def test_n_hides_and_shows_the_narration(window, qtbot):
    dock = window.lesson_player.dock
    window.lesson_player.open_lesson("it-cat")
    assert dock.isVisible()
    key(qtbot, window, Qt.Key.Key_N)
    assert dock.isHidden() and not window.lesson_player.narration_action.isChecked()
    key(qtbot, window, Qt.Key.Key_N)
    assert dock.isVisible() and front_tab(window) == "Lesson"
    window.controls_dock.raise_()  # the narration behind the Settings tab: N brings it to the front
    qtbot.waitUntil(lambda: front_tab(window) == "Settings")
    assert not window.lesson_player.narration_in_front()
    key(qtbot, window, Qt.Key.Key_N)
    assert front_tab(window) == "Lesson" and window.lesson_player.narration_in_front()


def front_tab(window):
    from PySide6.QtWidgets import QTabBar

    bars = [b for b in window.findChildren(QTabBar) if b.isVisible() and b.count() > 1]
    assert len(bars) == 1
    return bars[0].tabText(bars[0].currentIndex())


@pytest.mark.parametrize("zoom", [1.5, 2.0])
def test_zoom_keeps_the_window_on_a_1280x720_screen(window, qtbot, zoom):
    """Presentation zoom must not grow the window past the projector (it grew to 1280×1023 at
    2× on the tokens stage, and to 735 px tall on it-cat's direct-Q/K/V steps)."""
    window.studio.apply(zoom=zoom)
    player = window.lesson_player
    for lesson_id in ("it-cat", "qkv-walkthrough"):
        assert player.open_lesson(lesson_id)
        for k in range(len(player.lesson.steps)):
            if k:
                player.next_step()
            settle(qtbot, window)
            assert window.size().toTuple() == (1280, 720), (lesson_id, k + 1, window.stage_view.stage)
    for key in STAGE_KEYS:
        window.go_to_stage(key)
        settle(qtbot, window)
        assert window.size().toTuple() == (1280, 720), key
    window.go_to_stage("weights")
    settle(qtbot, window)
    qtbot.waitUntil(window.heatmap.cell_text_visible, timeout=2000)  # the numbers still fit


def test_inside_a_lesson_home_and_end_step_it_and_a_digit_leaves_it_visibly(window, qtbot):
    player = window.lesson_player
    lesson = load_lesson("causal")
    player.open_lesson("causal")
    key(qtbot, window, Qt.Key.Key_End)
    assert player.step_index == len(lesson.steps) - 1
    key(qtbot, window, Qt.Key.Key_Home)
    assert player.step_index == 0 and not player.panel.off_script.isVisibleTo(player.panel)
    step_stage = lesson.steps[0].state.stage
    other = next(i for i, k in enumerate(STAGE_KEYS) if k != step_stage)
    key(qtbot, window, getattr(Qt.Key, f"Key_{other + 1}"))
    assert window.studio.stage == STAGE_KEYS[other] and player.step_index == 0
    note = player.panel.off_script
    assert note.isVisibleTo(player.panel) and "Off the lesson" in note.text() and "PgDn" in note.text()
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert player.step_index == 1 and not note.isVisibleTo(player.panel)


def test_closing_a_lesson_gives_the_window_back_the_users_work(window, qtbot):
    window.sentence.field.setText("my own sentence for today")
    window.go_to_stage("scores")
    settle(qtbot, window)
    window.studio.set_weight_cell(0, 0, "w_k", 0, 0, "0.5")
    trace_before = settle(qtbot, window)
    window.lesson_player.open_lesson("trophy-suitcase")
    settle(qtbot, window)
    assert window.sentence.text() != "my own sentence for today"
    window.lesson_player.close_lesson()
    trace = settle(qtbot, window)
    assert window.sentence.text() == "my own sentence for today" and window.studio.stage == "scores"
    assert tuple(trace.tokens) == tuple(trace_before.tokens)
    np.testing.assert_array_equal(trace.head().scores, trace_before.head().scores)
    assert "your own" in window.statusBar().currentMessage()
