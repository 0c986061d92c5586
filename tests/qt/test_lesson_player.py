"""The lesson player on the studio window: every built-in lesson plays to its end showing the
numbers the core computes for each step, highlights reach the heatmap, the narration panel
says where we are, and a broken lesson file is refused with one message while the window
keeps its work."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QToolButton
from scipy.special import softmax
from studio_helpers import settle

from attnstudio.core.lessons import builtin_lesson_ids, builtin_lessons, compute_step, load_lesson
from attnstudio.core.predict import covered
from attnstudio.core.trace import TOKEN_BY_TOKEN


def shown_highlights(window):
    return window.heatmap.highlights()


def check_step(window, qtbot, step, where):
    trace = settle(qtbot, window)
    s = step.state
    want = compute_step(step)
    assert tuple(trace.tokens) == tuple(want.tokens), where
    assert trace.settings.as_dict() == {**want.settings.as_dict(), "backend": trace.settings.backend}, where
    got_w = trace.backend.asnumpy(trace.layers[s.layer].heads[s.head].weights)
    want_w = want.backend.asnumpy(want.layers[s.layer].heads[s.head].weights)
    np.testing.assert_allclose(got_w, want_w, rtol=1e-6, atol=1e-9, err_msg=where)
    np.testing.assert_allclose(trace.backend.asnumpy(trace.layers[-1].output),
                               want.backend.asnumpy(want.layers[-1].output), rtol=1e-6, atol=1e-9, err_msg=where)
    assert (window.studio.stage, window.studio.layer, window.studio.head) == (s.stage, s.layer, s.head), where
    rows, cells = shown_highlights(window)
    f = window.stage_view.factor
    assert set(rows) == {r // f for r in s.highlight_rows}, where
    want_cells = {(r // f, c // f) for r, c in s.highlight_cells} if s.stage in TOKEN_BY_TOKEN else set()
    if step.predict is not None:  # outlines inside the cells a question hides wait for its answer
        hidden = covered(step.predict, len(s.tokens))
        want_cells = {(r, c) for r, c in want_cells if not hidden[r, c]}
    assert set(cells) == want_cells, where


def test_the_window_builds_its_player_and_installs_its_menu_dock_and_actions(window):
    player = window.lesson_player
    assert player in window.features and window.presentation in window.features
    assert player.dock in window.side_docks
    assert player.open_action in window.actions() and player.narration_action in window.actions()
    assert player.lesson is None and player.step_index == -1


@pytest.mark.parametrize("lesson_id", builtin_lesson_ids())
def test_every_builtin_lesson_plays_to_its_end(window, qtbot, lesson_id):
    player = window.lesson_player
    lesson = load_lesson(lesson_id)
    seen = []
    player.stepChanged.connect(seen.append)
    assert player.open_lesson(lesson_id)
    assert player.lesson.id == lesson_id
    for k, step in enumerate(lesson.steps):
        if k:
            player.next_step()
            settle(qtbot, window)  # a step with large matrices arrives once they are seeded
        assert player.step_index == k
        check_step(window, qtbot, step, f"{lesson_id} step {k + 1}")
        assert player.panel.progress.text() == f"Step {k + 1} of {len(lesson.steps)}"
        assert player.panel.title.text() == step.title
        assert player.panel.formula.isVisibleTo(player.panel) == bool(step.formula)
    player.next_step()  # past the end: stays on the last step
    assert player.step_index == len(lesson.steps) - 1
    assert seen == list(range(len(lesson.steps)))
    assert not player.panel.next_btn.isEnabled() and player.panel.back_btn.isEnabled() == (len(lesson.steps) > 1)


def test_it_cat_weights_are_the_softmax_of_the_hand_scores(window, qtbot):
    """An independent check: the weights row of "it" is softmax(q·k) for the lesson's toy numbers."""
    player = window.lesson_player
    lesson = load_lesson("it-cat")
    player.open_lesson("it-cat")
    # The first step on the four-word sentence whose row of "it" has the raw scores 0, .6, .3, 1.1.
    k = next(i for i, s in enumerate(lesson.steps) if s.state.tokens == ("it", "cat", "mat", "tired")
             and not s.state.settings.scale and s.state.direct)
    player.go_to_step(k)
    trace = settle(qtbot, window)
    q = np.array([1.0, 0, 1, 0])
    keys = np.array([[0, 0, 0, 0], [0.5, 0.2, 0.1, 0.3], [0.1, 0.8, 0.2, 0.1], [0.2, 0.1, 0.9, 0.4]])
    scores = np.array([sum(q[i] * key[i] for i in range(4)) for key in keys])
    np.testing.assert_allclose(scores, [0, 0.6, 0.3, 1.1], atol=1e-12)
    # "it" is weighed against exactly three keys: its own key is masked (weight exactly 0).
    assert lesson.steps[k].state.mask_cells == ((0, 0),)
    weights = trace.backend.asnumpy(trace.head().weights)[0]
    assert weights[0] == 0.0
    np.testing.assert_allclose(weights[1:], softmax(scores[1:]), atol=1e-9)


def test_back_and_next_buttons_and_the_narration(window, qtbot):
    player = window.lesson_player
    lesson = load_lesson("qkv-walkthrough")
    player.open_lesson("qkv-walkthrough")
    panel = player.panel
    assert window.lesson_player.dock.isVisible()
    assert not panel.back_btn.isEnabled()
    qtbot.mouseClick(panel.next_btn, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.next_btn, Qt.MouseButton.LeftButton)
    assert player.step_index == 2
    qtbot.mouseClick(panel.back_btn, Qt.MouseButton.LeftButton)
    assert player.step_index == 1
    step = lesson.steps[1]
    assert panel.lesson_label.text() == lesson.title
    assert panel.progress.text() == f"Step 2 of {len(lesson.steps)}"
    assert panel.narration.text() == step.narration
    check_step(window, qtbot, step, "after the buttons")


def test_the_user_may_edit_and_the_next_step_applies_its_own_state(window, qtbot):
    player = window.lesson_player
    lesson = load_lesson("temperature")
    player.open_lesson("temperature")
    settle(qtbot, window)
    window.studio.set_sentence("my own words here")
    window.studio.set_setting(temperature=3.0)
    window.go_to_stage("scores")
    trace = settle(qtbot, window)
    assert trace.tokens == ("my", "own", "words", "here")
    assert shown_highlights(window) == ((), ())  # the step's rows named other words
    player.next_step()
    check_step(window, qtbot, lesson.steps[1], "the step after an edit")


def test_a_malformed_lesson_is_refused_with_one_message_and_nothing_changes(window, qtbot, tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text('format = 1\nid = "broken"\ntitle = "Broken"\nsummary = "x"\n'
                   '[[steps]]\ntitle = "one"\nnarration = "fine"\nsentence = "a b c"\n'
                   '[[steps]]\ntitle = "two"\nnarration = "bad"\nhighlight_rows = [9]\n', encoding="utf-8")
    player = window.lesson_player
    player.open_lesson("causal")
    player.next_step()
    window.studio.set_setting(temperature=2.5)  # the user's own edit, on top of the step
    before = settle(qtbot, window)
    sentence, settings = window.studio.sentence, window.studio.settings
    weights = [np.array(w) for w in (window.studio.matrix("w_q"), window.studio.matrix("w_o"))]

    assert player.open_lesson(bad) is False
    message = player.last_error
    assert "broken.toml" in message and "step 2" in message and "highlight_rows" in message
    assert "\n" not in message
    assert player.error_box is not None and player.error_box.isVisible()
    assert message in player.error_box.text()
    assert window.statusBar().currentMessage() == message
    after = settle(qtbot, window)
    assert window.studio.sentence == sentence and window.studio.settings == settings
    np.testing.assert_array_equal(window.studio.matrix("w_q"), weights[0])
    np.testing.assert_array_equal(window.studio.matrix("w_o"), weights[1])
    np.testing.assert_array_equal(after.backend.asnumpy(after.head().weights),
                                  before.backend.asnumpy(before.head().weights))
    assert player.lesson.id == "causal" and player.step_index == 1  # the lesson on view goes on
    player.error_box.close()


def test_a_missing_file_and_an_unknown_id_are_refused(window):
    player = window.lesson_player
    assert player.open_lesson("no-such-lesson") is False
    assert "no-such-lesson" in player.last_error
    assert player.open_lesson(Path("/nonexistent/dir/x.toml")) is False
    assert "x.toml" in player.last_error
    assert player.lesson is None
    player.error_box.close()


def test_the_lessons_menu_lists_the_lessons_between_open_and_close_when_it_opens(window):
    menu = window.lesson_player.menu
    menu.aboutToShow.emit()  # as clicking the menu does
    menu.aboutToShow.emit()  # a second time lists nothing twice
    texts = [a.text() for a in menu.actions()]
    lessons = builtin_lessons()
    assert texts[:2] == ["Open lesson file…", ""]
    assert texts[2:2 + len(lessons)] == [f"{k}. {lesson.title}" for k, lesson in enumerate(lessons, 1)]
    assert texts[2 + len(lessons)] == "" and "Close lesson" in texts[3 + len(lessons):]


def test_lessons_menu_lists_every_builtin_lesson_and_opens_one(window, qtbot):
    player = window.lesson_player
    assert [a.data() for a in player.lesson_actions] == builtin_lesson_ids()
    titles = [lesson.title for lesson in builtin_lessons()]
    assert all(t in a.text() for t, a in zip(titles, player.lesson_actions, strict=True))
    buttons = [b for b in window.findChildren(QToolButton, "menuButton") if b.menu() is player.menu]
    in_bar = window.menuWidget() is not None and player.menu.menuAction() in window.menuBar().actions()
    assert in_bar or (len(buttons) == 1 and buttons[0].isVisible()), "the Lessons menu is nowhere to click"
    player.lesson_actions[3].trigger()
    assert player.lesson.id == builtin_lesson_ids()[3]
    assert player.close_action.isEnabled()
    player.close_action.trigger()
    assert player.lesson is None
    assert player.panel.progress.isHidden()
    assert shown_highlights(window)[1] == ()


def test_open_lesson_file_through_the_dialog(window, qtbot, monkeypatch):
    from attnstudio.resources import lessons_dir

    path = str(lessons_dir() / "sparsemax.toml")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (path, "")))
    assert window.lesson_player.open_action.shortcut().toString() == "Ctrl+O"
    window.lesson_player.open_action.trigger()
    assert window.lesson_player.lesson.id == "sparsemax"
    assert window.lesson_player.lesson.source == path


def test_dropping_a_toml_file_opens_it(window, qtbot):
    from attnstudio.resources import lessons_dir

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(lessons_dir() / "causal.toml"))])
    pos = QPointF(200, 200)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    enter.ignore()  # events start accepted: only the window's filter may accept it
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    assert window.lesson_player.lesson is not None and window.lesson_player.lesson.id == "causal"
    # Anything that is not a .toml file is not taken.
    other = QMimeData()
    other.setUrls([QUrl.fromLocalFile("/tmp/picture.png")])
    enter2 = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, other, Qt.MouseButton.LeftButton,
                             Qt.KeyboardModifier.NoModifier)
    enter2.ignore()
    QApplication.sendEvent(window, enter2)
    assert not enter2.isAccepted()


def test_f9_twice_brings_the_narration_back_in_front(window, qtbot):
    """Hiding and showing the side panels during a lesson must not bury the narration tab."""
    player = window.lesson_player
    assert player.open_lesson("causal")
    qtbot.waitUntil(lambda: not player.dock.visibleRegion().isEmpty(), timeout=2000)
    handle = window.windowHandle()
    qtbot.keyClick(handle, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: not player.dock.isVisible(), timeout=2000)
    qtbot.keyClick(handle, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: not player.dock.visibleRegion().isEmpty(), timeout=2000)
    assert window.controls_dock.visibleRegion().isEmpty()


def test_a_row_clicked_before_a_lesson_is_not_outlined_beside_the_steps_own(window, qtbot):
    """Click row 7 ("it") in free mode, open trophy-suitcase at step 3: only the step's outlines
    show, and one token's view no longer shows the free-mode row."""
    window.go_to_stage("weights")
    settle(qtbot, window)
    window.show_token_view(7)
    assert window.studio.selected_row == 7 and 7 in shown_highlights(window)[0]
    assert window.token_panel.view is not None
    player = window.lesson_player
    lesson = load_lesson("trophy-suitcase")
    assert player.open_lesson(lesson)
    player.go_to_step(2)
    settle(qtbot, window)
    step = lesson.steps[2].state
    rows, cells = shown_highlights(window)
    assert window.studio.selected_row == -1
    assert set(rows) == set(step.highlight_rows) and set(cells) == set(step.highlight_cells)
    assert window.token_panel.view is None
    # A row clicked during the lesson joins the step's outlines; the next step clears it.
    free = next(r for r in range(len(step.tokens)) if r not in step.highlight_rows)
    window.go_to_stage("weights")
    window.show_token_view(free)
    assert set(shown_highlights(window)[0]) == {*step.highlight_rows, free}
    player.next_step()
    settle(qtbot, window)
    assert window.studio.selected_row == -1
    assert set(shown_highlights(window)[0]) == set(lesson.steps[3].state.highlight_rows)


def test_each_step_brings_its_narration_to_the_front_unless_it_was_hidden(window, qtbot):
    player = window.lesson_player
    player.open_lesson("trophy-suitcase")
    window.show_token_view(2)  # a token clicked on the first step: its view comes to the front
    qtbot.waitUntil(lambda: window.dock_in_front(window.token_dock), timeout=2000)
    player.next_step()
    qtbot.waitUntil(player.narration_in_front, timeout=2000)
    player.toggle_narration()  # N: hidden
    player.next_step()
    assert player.dock.isHidden()
