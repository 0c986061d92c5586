"""Predict steps in the window: the weights a question is about show no number anywhere
(cells, thumbnail, Σ / H, hover, one token's view) until it is answered by a click, a word,
an option or Check, or revealed with R or the clicker; then the numbers come back and the
answer stands beside the learner's with its why."""

from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import Qt
from studio_helpers import settle, viewport, viewport_pos

from attnstudio.core.lessons import load_lesson
from attnstudio.qt.main_window import COVERED_TEXT

NUMBER = re.compile(r"\d\.\d")


def at_question(qtbot, window, lesson_id: str) -> int:
    les = load_lesson(lesson_id)
    index = next(i for i, s in enumerate(les.steps) if s.predict is not None)
    window.lesson_player.open_lesson(les)
    window.lesson_player.go_to_step(index)
    settle(qtbot, window)
    return index


def key(qtbot, window, k) -> None:
    qtbot.keyClick(window.windowHandle(), k)


def click_cell(qtbot, window, row: int, col: int) -> None:
    view = window.heatmap
    qtbot.mouseClick(viewport(view), Qt.MouseButton.LeftButton, pos=viewport_pos(view, row, col))


def weights_on_view(window) -> np.ndarray:
    st = window.studio.step.state
    return np.asarray(window.trace.head(st.layer, st.head).weights)


def test_a_covered_row_shows_no_number_anywhere_until_revealed(window, qtbot):
    at_question(qtbot, window, "trophy-suitcase")
    row = window.studio.question().row
    view = window.heatmap
    values, texts = view.values(), view.shown_texts()
    assert np.isnan(values[row]).all() and view.covered()[row].all()
    assert texts[row] == ["?"] * len(texts[row])
    assert all(NUMBER.search(t) for r, line in enumerate(texts) if r != row for t in line)
    # Not even the colour bar's top may come from the hidden row (it holds the largest weight).
    assert view.color_limits()[1] < weights_on_view(window)[row].max()
    thumb = window.stage_strip.thumbs["weights"].heatmap
    assert np.isnan(thumb.values()[row]).all()
    assert window.stage_view.side.lines()[row].endswith("Σ = ?, H = ? bits")
    for name in ("weights", "output"):
        text = window.hover_text(name, row, 6)
        assert text == COVERED_TEXT and not NUMBER.search(text)
    assert NUMBER.search(window.hover_text("weights", row - 1, 6))  # other rows explain as ever
    window.show_token_view(row)
    assert window.token_panel.view is None
    # The step's own outline of the answer's cell waits too.
    assert window.heatmap.highlights()[1] == ()

    key(qtbot, window, Qt.Key.Key_R)
    assert not window.studio.asking
    np.testing.assert_array_equal(view.values(), weights_on_view(window))
    assert view.covered() is None
    assert all(NUMBER.search(t) or t == "<0.01" for t in view.shown_texts()[row])
    assert not np.isnan(thumb.values()).any()
    assert "?" not in window.stage_view.side.lines()[row]
    assert NUMBER.search(window.hover_text("weights", row, 6))
    window.show_token_view(row)
    assert window.token_panel.view is not None
    panel = window.lesson_player.panel
    assert panel.verdict.text() == "The answer, for everyone:"
    assert "suitcase" in panel.compare.text() and panel.why.text().startswith("Why: 'suitcase' gets 0.96")


def test_clicking_a_cell_answers_and_the_verdict_is_shown_kindly(window, qtbot):
    at_question(qtbot, window, "trophy-suitcase")
    row = window.studio.question().row
    tokens = window.trace.tokens
    click_cell(qtbot, window, row, tokens.index("trophy"))
    assert not window.studio.asking
    panel = window.lesson_player.panel
    assert panel.verdict.property("right") == "no"
    assert panel.verdict.text() == "Not quite: you chose 'trophy'; 'suitcase' gets the most."
    assert panel.compare.text() == "Your answer: 'trophy'\nThe answer: 'suitcase'"
    best = int(np.argmax(weights_on_view(window)[row]))
    assert (row, best) in window.heatmap.highlights()[1]  # the answer's cell is outlined
    assert panel.narration.text() == window.studio.step.narration  # the explanation follows


def test_a_click_in_another_row_opens_its_view_and_a_right_word_is_right(window, qtbot):
    at_question(qtbot, window, "dog-bites-man")
    row = window.studio.question().row
    click_cell(qtbot, window, 0, 0)
    assert window.studio.asking and window.studio.selected_row == 0
    best = int(np.argmax(weights_on_view(window)[row]))
    window.token_strip.token_clicked.emit(best)
    assert window.lesson_player.panel.verdict.property("right") == "yes"
    assert window.lesson_player.panel.verdict.text().startswith("Right:")


def test_an_option_button_answers_sharper_or_flatter(window, qtbot):
    at_question(qtbot, window, "temperature")
    panel = window.lesson_player.panel
    assert [b.text() for b in panel.option_buttons] == ["sharper", "flatter", "same"]
    assert panel.narration.text() != window.studio.step.narration  # it would give the answer
    qtbot.mouseClick(panel.option_buttons[0], Qt.MouseButton.LeftButton)
    assert panel.verdict.text() == "Right: sharper."
    assert re.search(r"went from \d\.\d\d to \d\.\d\d bits", panel.why.text())


def test_zeros_are_marked_by_clicks_then_checked(window, qtbot):
    at_question(qtbot, window, "causal")
    n = window.trace.n
    above = [(r, c) for r in range(n) for c in range(n) if c > r]
    for r, c in above:
        click_cell(qtbot, window, r, c)
    assert window.studio.asking and set(window.heatmap.highlights()[1]) >= set(above)
    assert "15 marked" in window.lesson_player.panel.asks_for.text()
    qtbot.mouseClick(window.lesson_player.panel.check_btn, Qt.MouseButton.LeftButton)
    assert window.lesson_player.panel.verdict.text() == "Right: exactly those weights are 0."
    shown = window.heatmap.shown_texts()
    assert [shown[r][c] for r, c in above] == ["—"] * len(above)


def test_the_clicker_reveals_first_and_going_back_shows_the_answer(window, qtbot):
    index = at_question(qtbot, window, "sparsemax")
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.lesson_player.step_index == index and not window.studio.asking
    key(qtbot, window, Qt.Key.Key_PageDown)
    assert window.lesson_player.step_index == index + 1
    key(qtbot, window, Qt.Key.Key_PageUp)
    settle(qtbot, window)
    assert not window.studio.asking and window.heatmap.covered() is None
    assert window.lesson_player.panel.verdict.text() == "The answer, for everyone:"
    assert "'drank'" in window.lesson_player.panel.compare.text()


def test_zoomed_for_the_hall_the_question_and_then_its_answer_stand_above_the_matrix(window, qtbot):
    at_question(qtbot, window, "temperature")
    line = window.stage_view.question
    assert line.isHidden()  # at a desk the narration panel asks, and the matrix keeps the height
    window.presentation.set_zoom(1.5)
    settle(qtbot, window)
    assert line.isVisibleTo(window) and line.text() == f"Question: {window.studio.question().question}"
    key(qtbot, window, Qt.Key.Key_R)
    assert line.text().startswith("Answer: sharper. The entropy of the row of 'chased' went from")
    window.presentation.set_zoom(1.0)
    window.panels_action.trigger()  # side panels hidden at zoom 1: the matrix's own line says it
    assert line.isHidden() and window.heatmap.hover_text().startswith("Answer: sharper.")


def test_updating_an_authored_step_keeps_its_question_while_the_tokens_stay(window, qtbot):
    index = at_question(qtbot, window, "temperature")
    author = window.author
    author.interactive = False  # closing with the draft unsaved must not wait on a dialog
    assert author.edit_open_lesson()
    question = author.draft.steps[index].predict
    window.studio.apply(stage="scores")
    assert author.update_step(index)
    assert author.draft.steps[index].predict == question and author.draft.steps[index].state.stage == "scores"
    window.studio.set_sentence("a whole other sentence")
    assert author.update_step(index)
    assert author.draft.steps[index].predict is None
