"""The lesson editor in the window: steps recorded from the screen, edited, moved, deleted,
saved as lesson TOML and played back as recorded; the dock fits the side band at 1280×720."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractButton, QLineEdit, QPlainTextEdit, QTabBar, QToolButton
from studio_helpers import settle

from attnstudio.core.lessons import load_lesson
from attnstudio.studio.snapshot import same


@pytest.fixture
def author(window):
    window.author.interactive = False
    window.lesson_player.interactive = False
    return window.author


def record_three(qtbot, w, author) -> list:
    """Three states a lecturer would record: an edited W_Q, another sentence with a causal
    mask on the weights and a highlight, two heads showing head 2."""
    st = w.studio
    snaps = []
    st.set_weight_cell(0, 0, "w_q", 1, 2, 0.5)
    st.set_stage("scores")
    assert author.add_step()
    snaps.append(st.snapshot())
    st.set_sentence("the dog chased the cat")
    st.set_setting(mask="causal")
    st.apply(stage="weights", highlight_rows=(1,), highlight_cells=((1, 0),))
    assert author.add_step()
    snaps.append(st.snapshot())
    st.set_setting(heads=2)
    st.set_view(head=1)
    st.set_stage("projections")
    assert author.add_step()
    snaps.append(st.snapshot())
    settle(qtbot, w)
    return snaps


def test_the_author_menu_and_its_key_are_installed(window):
    author = window.author
    assert author.dock in window.side_docks
    assert author.dock.isHidden()  # until asked for: the presenter's side band stays as it was
    assert author.add_action.shortcut().toString() == "Ctrl+Shift+A"
    assert author.menu.menuAction() in window.lesson_player.menu.actions()  # Lessons ▸ Author
    buttons = [b for b in window.findChildren(QToolButton, "menuButton") if b.menu() is author.menu]
    assert buttons == []


def test_ctrl_shift_a_records_a_step(qtbot, window, author):
    window.studio.set_stage("weights")
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(author.draft.steps) == 1
    assert author.draft.steps[0].state.stage == "weights"
    assert author.panel.steps.count() == 1


def test_steps_are_listed_edited_moved_and_deleted(qtbot, window, author):
    record_three(qtbot, window, author)
    p = author.panel
    assert p.steps.count() == 3 and p.current() == 2
    p.steps.setCurrentRow(0)
    assert p.step_title.text() == "Step 1"
    qtbot.keyClicks(p.step_title, ": the edited query")
    p.narration.setPlainText("One cell of <b>W_Q</b> changed:\n\"0.5\" \\ here")
    p.formula.setText("q = x·W_Q")
    p.formula.textEdited.emit(p.formula.text())
    first = author.draft.steps[0]
    assert first.title == "Step 1: the edited query"
    assert first.narration == "One cell of <b>W_Q</b> changed:\n\"0.5\" \\ here"
    assert first.formula == "q = x·W_Q"
    assert p.steps.item(0).text().startswith("1. Step 1: the edited query")

    p.narration.setPlainText("<b>never closed")  # refused: the step keeps its last good words
    assert author.draft.steps[0].narration.startswith("One cell")
    assert p.message.text().startswith("Narration: ") and "never closed" in p.message.text()

    p.steps.setCurrentRow(0)
    p.down_btn.click()
    assert [s.title for s in author.draft.steps][:2] == ["Step 2", first.title]
    assert p.current() == 1
    p.up_btn.click()
    assert author.draft.steps[0] is first
    p.steps.setCurrentRow(1)
    p.delete_btn.click()
    assert [s.title for s in author.draft.steps] == [first.title, "Step 3"]


def test_update_from_screen_replaces_the_state_and_keeps_the_words(qtbot, window, author):
    record_three(qtbot, window, author)
    author.set_words(1, "Causal", "Only the past.")
    author.panel.steps.setCurrentRow(1)
    window.studio.set_stage("masked")
    author.panel.update_btn.click()
    step = author.draft.steps[1]
    assert (step.title, step.narration, step.state.stage) == ("Causal", "Only the past.", "masked")


def test_saved_lesson_plays_back_as_recorded(qtbot, window, author, tmp_path):
    snaps = record_three(qtbot, window, author)
    path = tmp_path / "recorded.toml"
    assert author.save(path), author.last_error
    assert not author.unsaved
    lesson = load_lesson(path)
    assert [s.title for s in lesson.steps] == ["Step 1", "Step 2", "Step 3"]
    assert window.lesson_player.open_lesson(str(path))
    for k, want in enumerate(snaps):
        window.lesson_player.go_to_step(k)
        got_trace = settle(qtbot, window)
        got = window.studio.snapshot()
        for name in ("sentence", "stage", "layer", "head", "highlight_rows", "highlight_cells"):
            assert getattr(got, name) == getattr(want, name), (k, name)
        assert same(got.weights, want.weights)
        head = got_trace.head(want.layer, want.head)
        ref = window.studio.snapshot()
        window.studio.restore(want)
        want_trace = settle(qtbot, window)
        window.studio.restore(ref)
        assert np.array_equal(head.weights, want_trace.head(want.layer, want.head).weights)
        assert np.array_equal(head.q, want_trace.head(want.layer, want.head).q)


def test_go_to_step_plays_the_lesson_being_written(qtbot, window, author):
    record_three(qtbot, window, author)
    author.panel.steps.setCurrentRow(1)
    author.panel.play_btn.click()
    assert window.studio.lesson is not None and window.studio.step_index == 1
    assert window.studio.stage == "weights" and window.studio.highlight_rows == (1,)


def test_a_save_that_cannot_be_written_says_so_and_keeps_the_steps(qtbot, window, author, tmp_path):
    record_three(qtbot, window, author)
    assert not author.save(tmp_path / "no-such-folder" / "x.toml")
    assert "Not saved" in author.last_error
    assert len(author.draft.steps) == 3 and author.unsaved


def test_an_empty_lesson_cannot_be_saved(window, author, tmp_path):
    assert not author.save(tmp_path / "empty.toml")
    assert "no steps" in author.last_error
    assert not (tmp_path / "empty.toml").exists()


def test_the_lesson_id_is_checked_and_named_in_the_file(qtbot, window, author, tmp_path):
    record_three(qtbot, window, author)
    p = author.panel
    p.lesson_id.setText("Bad Id")
    p.lesson_id.editingFinished.emit()
    assert "lowercase" in p.message.text() and author.draft.id == "my-lesson"
    p.lesson_id.setText("causal-by-hand")
    p.lesson_title.setText("Causal, by hand")
    p.lesson_id.editingFinished.emit()
    assert author.save(tmp_path / "causal-by-hand")
    lesson = load_lesson(tmp_path / "causal-by-hand.toml")
    assert (lesson.id, lesson.title) == ("causal-by-hand", "Causal, by hand")


def test_an_open_lesson_can_be_edited_and_saved_as_the_same_steps(qtbot, window, author, tmp_path):
    assert window.lesson_player.open_lesson("it-cat")
    assert author.edit_open_lesson()
    assert author.panel.steps.count() == len(load_lesson("it-cat").steps)
    assert author.save(tmp_path / "it-cat.toml")
    assert same(load_lesson(tmp_path / "it-cat.toml").steps, load_lesson("it-cat").steps)


def test_new_lesson_starts_empty(qtbot, window, author):
    record_three(qtbot, window, author)
    assert author.new_lesson()
    assert author.draft.steps == () and author.panel.steps.count() == 0
    assert not author.panel.save_btn.isEnabled()


def test_the_editor_fits_the_side_band_without_clipping(qtbot, window, author):
    record_three(qtbot, window, author)
    window.author.show_editor()
    qtbot.wait(50)
    dock = author.dock
    assert window.dock_in_front(dock)
    assert dock.width() <= 400
    bars = [bar for bar in window.findChildren(QTabBar) if bar.isVisible()]
    assert any(bar.tabText(i) == "Author" for bar in bars for i in range(bar.count()))
    for bar in bars:  # every tab shows its whole title (Qt elides it in a narrower tab)
        assert all(bar.tabRect(i).width() >= bar.tabSizeHint(i).width() for i in range(bar.count()))
    p = author.panel
    scroll = dock.widget()
    assert scroll.horizontalScrollBar().maximum() == 0  # nothing cut off at the side
    for widget in p.findChildren(QAbstractButton) + p.findChildren(QLineEdit) + [p.narration, p.steps]:
        assert widget.width() <= p.width(), widget
        if isinstance(widget, QAbstractButton):
            hint = widget.fontMetrics().horizontalAdvance(widget.text())
            assert widget.width() >= hint + 8, widget.text()  # the label is not cut
    assert isinstance(p.narration, QPlainTextEdit) and p.narration.height() >= 60
    assert window.width() == 1280 and window.height() == 720


def test_a_drag_in_the_list_reorders_the_steps(qtbot, window, author):
    record_three(qtbot, window, author)
    first, second, third = author.draft.steps
    p = author.panel
    p.steps.setCurrentRow(0)
    assert p.steps.model().moveRow(QModelIndex(), 0, QModelIndex(), 3)  # what a drop does
    qtbot.waitUntil(lambda: author.draft.steps == (second, third, first))
    assert [p.steps.item(r).text()[:2] for r in range(3)] == ["1.", "2.", "3."]


def test_refusals_name_the_field_not_a_file(window, author):
    assert not author.delete_step(0)
    assert author.last_error == "There is no step 1: the lesson has 0"
    assert not author.save_dialog()  # never saved, not interactive: nowhere to write
    assert not author.play(0)


def test_closing_with_unsaved_steps_asks_and_no_keeps_the_window(qtbot, window, author, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    assert author.add_step() and author.unsaved
    author.interactive = True
    asked = []

    def answer(*args, **kwargs):
        asked.append(args[2])
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", answer)
    window.close()
    assert len(asked) == 1 and "unsaved steps" in asked[0] and "close the window" in asked[0]
    assert window.isVisible() and len(author.draft.steps) == 1
    author.interactive = False


def test_update_from_screen_keeps_the_panel_a_step_opens(qtbot, window, author):
    assert window.lesson_player.open_lesson("quadratic-cost")
    assert author.edit_open_lesson()
    last = len(author.draft.steps) - 1
    assert author.draft.steps[last].opens == "scaling-lab"
    author.panel.steps.setCurrentRow(last)
    window.studio.set_stage("weights")
    author.panel.update_btn.click()
    step = author.draft.steps[last]
    assert (step.state.stage, step.opens) == ("weights", "scaling-lab")
    assert "opens = \"scaling-lab\"" in author.draft.toml()
