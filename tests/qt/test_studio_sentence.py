"""Typing a sentence: tokens and every heatmap follow; an empty sentence keeps every edit."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from studio_helpers import expected_stage, make_window, settle

from attnstudio.core import Settings, compute, tokenize
from attnstudio.core.trace import STAGE_KEYS
from attnstudio.qt.token_strip import TokenStrip
from attnstudio.studio.snapshot import DEFAULT_SENTENCE


@pytest.fixture
def window(qtbot):
    return make_window(qtbot)


def test_default_sentence_is_shown_and_computed(window, qtbot):
    tr = settle(qtbot, window)
    assert window.sentence.text() == DEFAULT_SENTENCE
    assert window.token_strip.tokens() == tuple(DEFAULT_SENTENCE.split())
    assert tr.n == 10


def test_typing_updates_tokens_and_every_heatmap(window, qtbot):
    settle(qtbot, window)
    window.studio.set_setting(heads=2, d_model=8, mask="causal")
    settle(qtbot, window)
    field = window.sentence.field
    field.clear()
    qtbot.keyClicks(field, "A dog chased the red ball")
    qtbot.waitUntil(lambda: window.trace is not None and window.trace.n == 6, timeout=3000)
    tokens = ("A", "dog", "chased", "the", "red", "ball")
    assert window.token_strip.tokens() == tokens
    ref = compute(list(tokens), Settings(d_model=8, heads=2, mask="causal"))
    for head in (0, 1):
        window.studio.set_view(head=head)
        for stage in STAGE_KEYS:
            window.go_to_stage(stage)
            np.testing.assert_allclose(window.heatmap.values(), expected_stage(ref, stage, 0, head), atol=1e-12)
            if stage == "projections":
                np.testing.assert_allclose(window.stage_view.k_view.values(), ref.head(0, head).k, atol=1e-12)
                np.testing.assert_allclose(window.stage_view.v_view.values(), ref.head(0, head).v, atol=1e-12)
            if stage != "tokens":  # every thumbnail shows the same numbers as the stage
                thumb = window.stage_strip.thumbs[stage].heatmap
                np.testing.assert_allclose(thumb.values(), expected_stage(ref, stage, 0, head), atol=1e-12)
    # An independent check of one stage: the causal weights are a softmax over the visible keys.
    s = np.asarray(ref.head(0, 1).scores) / 2.0
    window.go_to_stage("weights")
    for i in range(6):
        e = np.exp(s[i, : i + 1] - s[i, : i + 1].max())
        np.testing.assert_allclose(window.heatmap.values()[i, : i + 1], e / e.sum(), atol=1e-12)
        assert (window.heatmap.values()[i, i + 1 :] == 0).all()


def test_typing_is_debounced_into_one_recompute(window, qtbot):
    settle(qtbot, window)
    results = []
    window.compute.result.connect(results.append)
    field = window.sentence.field
    field.clear()
    qtbot.keyClicks(field, "one two three")
    qtbot.waitUntil(lambda: window.trace.tokens == ("one", "two", "three"), timeout=3000)
    # 14 edits of the text (clear + 13 keys) became one recompute, not one per key.
    assert len(results) == 1


def test_empty_sentence_shows_a_message_and_keeps_edits(window, qtbot):
    settle(qtbot, window)
    window.studio.set_weight_cell(0, 0, "w_q", 1, 2, 0.75)
    window.studio.set_embedding_cell(0, 0, 0.5)
    edited = settle(qtbot, window)
    field = window.sentence.field
    field.clear()
    qtbot.waitUntil(lambda: window.stage_view.stack.currentWidget() is window.stage_view.empty, timeout=3000)
    assert window.stage_view.empty.isVisible()
    assert "empty" in window.stage_view.empty.text() and "kept" in window.stage_view.empty.text()
    assert window.trace is edited  # the last good trace stays
    assert window.studio.matrix("w_q")[1, 2] == 0.75
    qtbot.keyClicks(field, DEFAULT_SENTENCE)
    qtbot.waitUntil(lambda: window.stage_view.stack.currentIndex() == 0, timeout=3000)
    tr = window.trace
    assert tr is not edited
    assert float(np.asarray(tr.embeddings)[0, 0]) == 0.5  # the X edit came back with its token
    assert window.studio.matrix("w_q")[1, 2] == 0.75
    window.go_to_stage("scores")
    np.testing.assert_allclose(window.heatmap.values(), edited.head().scores, atol=1e-12)


def test_ten_thousand_tokens_paint_only_what_fits(qtbot):
    strip = TokenStrip()
    qtbot.addWidget(strip)
    strip.resize(900, 60)
    strip.show()
    qtbot.waitExposed(strip)
    tokens = tokenize(" ".join(f"w{i}" for i in range(10_000)))
    strip.set_tokens(tokens)
    strip.grab()  # paints now
    assert 0 < strip.visible_count() < 100


def test_enter_hands_the_keyboard_back_to_the_stepper(window, qtbot):
    settle(qtbot, window)
    field = window.sentence.field
    field.setFocus()
    qtbot.keyClicks(field, " now")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert window.studio.sentence == DEFAULT_SENTENCE + " now"
    assert not field.hasFocus()
    window.go_to_stage("tokens")
    qtbot.keyClick(window.windowHandle(), Qt.Key.Key_Right)
    assert window.studio.stage == "embeddings"


def test_while_empty_the_thumbnails_hide_old_numbers(window, qtbot):
    settle(qtbot, window)
    window.sentence.field.clear()
    qtbot.waitUntil(lambda: window.stage_view.stack.currentIndex() == 1, timeout=3000)
    thumbs = window.stage_strip.thumbs
    assert not any(t.heatmap.isVisible() for t in thumbs.values() if t.heatmap is not None)
    assert thumbs["tokens"].text.text() == "no tokens"
    assert window.stage_view.where.text() == "no tokens"
    window.sentence.field.setText("back again")
    qtbot.waitUntil(lambda: window.stage_view.stack.currentIndex() == 0, timeout=3000)
    assert all(t.heatmap.isVisible() for t in thumbs.values() if t.heatmap is not None)
    assert thumbs["tokens"].text.text() == "2 tokens"


def test_keys_typed_while_a_change_is_on_its_way_are_not_lost(window, qtbot):
    settle(qtbot, window)
    field = window.sentence.field
    field.setText("a b")
    window.sentence.flush()  # "a b" goes to the state; its changed signal is still queued
    qtbot.keyClicks(field, " c")  # typed before the state's signal comes back
    window.studio_qt.flush()  # the echo of "a b" must not overwrite " c"
    assert field.text() == "a b c"
    qtbot.waitUntil(lambda: window.trace.tokens == ("a", "b", "c"), timeout=3000)


@pytest.mark.parametrize("display", [{"theme": "light"}, {"weights_scale": "unit"}, {"zoom": 1.3}])
def test_while_empty_a_display_change_keeps_the_message(window, qtbot, display):
    """The soak test found the old sentence's matrix back on screen under an empty sentence
    after a change of theme or colours: the display redraw re-showed the last good result."""
    window.go_to_stage("weights")
    window.studio.set_sentence("")
    settle(qtbot, window)
    assert window.stage_view.stack.currentIndex() == 1
    window.studio.apply(**display)
    assert window.stage_view.stack.currentIndex() == 1
    window.studio.set_sentence("back again")
    settle(qtbot, window)
    assert window.stage_view.stack.currentIndex() == 0
    assert window.heatmap.values().shape == (2, 2)


def test_a_long_sentence_set_by_a_lesson_or_file_shows_its_start(window, qtbot):
    settle(qtbot, window)
    long = "Every student reads the notes before each lecture and again after it, twice over"
    window.studio.set_sentence(long)
    settle(qtbot, window)
    field = window.sentence.field
    assert field.text() == long and not field.hasFocus()
    assert field.cursorPosition() == 0  # the field scrolls to its cursor: "very student …" at the end


def test_the_first_sentence_shows_its_start_when_zoomed_past_the_field(window, qtbot):
    settle(qtbot, window)
    window.studio.apply(zoom=2.0)
    settle(qtbot, window)
    field = window.sentence.field
    assert field.cursorPosition() == 0 and field.cursorRect().left() < field.width() // 4


def test_a_sentence_set_by_a_lesson_is_continued_where_it_ends_once_focused(window, qtbot):
    settle(qtbot, window)
    window.studio.set_sentence("the dog barked")
    settle(qtbot, window)
    field = window.sentence.field
    assert field.cursorPosition() == 0
    field.setFocus()
    qtbot.keyClicks(field, " loudly")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert window.studio.sentence == "the dog barked loudly"
