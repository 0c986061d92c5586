"""A real model in the window: opened off the UI thread, its tokens, its heads on the stage,
the overview grid of every layer and head, the line view, a bad folder, closing it.

Every number is compared with the core's forward pass run here by the test
(``load_model(folder).trace(sentence)``) or with the tokenizers package."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from studio_helpers import settle

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.real_model import RealModel

SENTENCE = "The trophy doesn't fit in the suitcase because it's too big"


@pytest.fixture(scope="module")
def reference(minilm_path):
    """The trace of SENTENCE, computed by the core outside the window."""
    from attnstudio.core.model_folder import load_model

    return load_model(minilm_path).trace(SENTENCE, "numpy", "float64")


def open_model(qtbot, window, folder) -> None:
    window.models.open_folder(folder)
    qtbot.waitUntil(lambda: not window.models.loading, timeout=30_000)
    settle(qtbot, window, timeout=30_000)


def test_open_model_runs_off_the_ui_thread_and_shows_its_tokens_and_heads(qtbot, window, minilm_path, reference,
                                                                           monkeypatch):
    ui = threading.current_thread()
    threads = []
    real_trace = RealModel.trace

    def recording_trace(self, *args, **kwargs):
        threads.append(threading.current_thread())
        return real_trace(self, *args, **kwargs)

    monkeypatch.setattr(RealModel, "trace", recording_trace)
    load = window.models._load
    loaded_on = []
    window.models._load = lambda folder: (loaded_on.append(threading.current_thread()), load(folder))[1]
    window.studio.set_sentence(SENTENCE)
    settle(qtbot, window)
    open_model(qtbot, window, minilm_path)

    assert loaded_on and all(t is not ui for t in loaded_on)
    assert threads and all(t is not ui for t in threads)
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(str(minilm_path / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    expected = tuple(tok.encode(SENTENCE).tokens)
    assert expected[0] == "[CLS]" and expected[-1] == "[SEP]" and any(t.startswith("##") or t == "'" for t in expected)
    assert window.trace.tokens == expected
    assert window.token_strip.tokens() == expected
    assert window.models.button.isVisible() and "all-MiniLM-L6-v2" in window.models.button.text()

    # Layer 4, head 2 (from 0: 3, 1) on the weights stage: the core's numbers, 6 × 12 heads.
    window.studio.set_view(layer=3, head=1)
    window.studio.set_stage("weights")
    settle(qtbot, window)
    assert window.controls.layer.count() == 6 and window.controls.head.count() == 12
    shown = window.heatmap.values()
    np.testing.assert_allclose(shown, reference.head(3, 1).weights, atol=1e-6)
    assert "all-MiniLM-L6-v2 · layer 4 · head 2" in window.stage_view.where.text()
    # The last head of the last layer: beyond the toy model's limits (8 heads, 8 layers is fine too).
    window.studio.set_view(layer=5, head=11)
    settle(qtbot, window)
    np.testing.assert_allclose(window.heatmap.values(), reference.head(5, 11).weights, atol=1e-6)
    # Hover arithmetic of a real weight: the value the core computed, to the digits shown.
    text = window.hover_text("weights", 2, 5)
    assert f"{reference.head(5, 11).weights[2, 5]:.3f}"[:5] in text


def test_settings_a_model_fixes_are_refused_and_closing_brings_the_toy_back(qtbot, window, minilm_path):
    before = window.studio.snapshot()
    toy_tokens = window.trace.tokens
    open_model(qtbot, window, minilm_path)
    assert not window.controls.d_model.isEnabled() and not window.controls.mask.isEnabled()
    assert window.controls.fixed_note.isVisibleTo(window.controls)
    with pytest.raises(AttnStudioError, match="Close Model"):
        window.studio.set_setting(heads=2)
    with pytest.raises(AttnStudioError, match="Close Model"):
        window.studio.set_weight_cell(0, 0, "w_q", 0, 0, 1.0)
    window.models.close_action.trigger()
    settle(qtbot, window)
    assert window.studio.real is None and window.trace.model is None
    assert window.trace.tokens == toy_tokens
    assert window.studio.settings == before.settings and window.studio.sentence == before.sentence
    assert window.controls.d_model.isEnabled() and not window.models.button.isVisible()


def test_a_bad_folder_gives_one_message_and_leaves_the_work_untouched(qtbot, window, tmp_path):
    window.studio.set_sentence("my own sentence stays")
    window.studio.set_setting(heads=2)
    settle(qtbot, window)
    before = window.studio.snapshot()
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    window.models.open_folder(tmp_path)
    qtbot.waitUntil(lambda: not window.models.loading, timeout=30_000)
    settle(qtbot, window)
    assert "missing" in window.models.last_error and str(tmp_path) in window.models.last_error
    assert window.studio.real is None and window.studio.snapshot() is before
    assert window.trace.model is None and window.trace.settings.heads == 2


def test_the_overview_grid_shows_every_head_and_a_click_opens_one(qtbot, window, minilm_path, reference):
    window.studio.set_sentence(SENTENCE)
    open_model(qtbot, window, minilm_path)
    window.view_tabs.set_index(2)
    grid = window.head_grid
    assert len(grid.pictures) == 6 and all(len(row) == 12 for row in grid.pictures)
    assert sum(len(row) for row in grid.pictures) == 72
    for li in range(6):
        for hi in range(12):
            np.testing.assert_allclose(grid.pictures[li][hi].values(), reference.head(li, hi).weights, atol=1e-6)
    pic = grid.pictures[4][7]
    qtbot.mouseClick(pic, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    settle(qtbot, window)
    assert (window.studio.layer, window.studio.head, window.studio.stage) == (4, 7, "weights")
    assert window.view_stack.currentWidget() is window.stage_view
    np.testing.assert_allclose(window.heatmap.values(), reference.head(4, 7).weights, atol=1e-6)


def test_the_line_view_draws_a_heads_weights_and_their_mean(qtbot, window, minilm_path, reference):
    window.studio.set_sentence(SENTENCE)
    open_model(qtbot, window, minilm_path)
    window.studio.set_view(layer=2, head=9)
    window.view_tabs.set_index(1)
    settle(qtbot, window)
    canvas = window.line_view.canvas
    n = reference.n
    for row in range(n):
        np.testing.assert_allclose(canvas.row_lines(row), reference.head(2, 9).weights[row], atol=1e-6)
    # The lines' strength grows with the weight: the strongest line of a row is its largest weight.
    row = 4
    styles = [canvas.line_style(w) for w in canvas.row_lines(row)]
    assert int(np.argmax([a for a, _ in styles])) == int(np.argmax(reference.head(2, 9).weights[row]))
    window.line_view.averaged.setChecked(True)
    mean = np.mean([reference.head(2, h).weights for h in range(12)], axis=0)
    for row in range(n):
        np.testing.assert_allclose(canvas.row_lines(row), mean[row], atol=1e-6)
    assert "layer 3 · mean of 12 heads" in window.line_view.title.text()
    # Hovering a query token on the left: only its lines.
    top, h = canvas._rows()
    left, _right = canvas._columns()
    qtbot.mouseMove(canvas, QPoint(round(left - 10), round(top + 3.5 * h)))
    qtbot.waitUntil(lambda: canvas.focus == 3, timeout=2000)


def test_the_line_view_works_for_toy_traces(qtbot, window):
    window.view_tabs.set_index(1)
    settle(qtbot, window)
    tr = window.trace
    assert tr.model is None
    np.testing.assert_allclose(window.line_view.canvas.weights, np.asarray(tr.head(0, 0).weights), atol=1e-12)
    assert "toy model · layer 1 · head 1" in window.line_view.title.text()


def test_every_stage_and_one_tokens_view_show_the_real_head(qtbot, window, minilm_path, reference):
    from studio_helpers import expected_stage

    from attnstudio.core.trace import HEAD_STAGES, STAGE_KEYS, STAGE_MATRIX

    window.studio.set_sentence(SENTENCE)
    open_model(qtbot, window, minilm_path)
    window.studio.set_view(layer=1, head=6)
    for key in STAGE_KEYS:
        window.studio.set_stage(key)
        settle(qtbot, window)
        assert window.stage_view.stack.currentIndex() == 0, key
        if STAGE_MATRIX[key][0] not in HEAD_STAGES:  # N × 384 (x, concat·W_O): shown reduced for display
            continue
        np.testing.assert_allclose(window.heatmap.values(), expected_stage(reference, key, 1, 6), atol=1e-6,
                                   err_msg=key)
    window.show_token_view(9)  # [CLS] is row 0: a subword row of the sentence
    settle(qtbot, window)
    view = window.token_panel.view
    assert view is not None and view.query == window.trace.tokens[9]
    np.testing.assert_allclose(view.weights, reference.head(1, 6).weights[9], atol=1e-6)


def test_a_new_stage_brings_the_stage_back_and_a_new_head_keeps_the_lines(qtbot, window):
    window.view_tabs.set_index(1)
    window.studio.set_view(head=0, layer=0)
    settle(qtbot, window)
    assert window.view_stack.currentWidget() is window.line_view
    window.studio.next_stage()
    settle(qtbot, window)
    assert window.view_stack.currentWidget() is window.stage_view and window.view_tabs.index() == 0


def test_a_real_heads_w_q_is_edited_in_the_matrices_panel_and_marked(qtbot, window, minilm_path):
    from studio_helpers import type_into_cell

    window.studio.set_sentence(SENTENCE)
    open_model(qtbot, window, minilm_path)
    window.studio.set_view(layer=0, head=2)
    window.studio.set_stage("weights")
    window.show_dock(window.editor_dock)
    window.editor.select("w_q")
    settle(qtbot, window)
    model = window.studio.real
    own = model.w_q(0, 2)
    np.testing.assert_array_equal(window.editor.table.matrix(), own)
    type_into_cell(qtbot, window.editor.table, 5, 1, "3")
    settle(qtbot, window)
    edited = own.copy()
    edited[5, 1] = 3.0
    assert window.studio.model_edits() == {(0, 2)} and "EDITED" in window.editor.where.text()
    expected = model.trace(SENTENCE, "numpy", "float64", w_q={(0, 2): edited})
    np.testing.assert_allclose(window.heatmap.values(), expected.head(0, 2).weights, atol=1e-9)
    assert window.stage_view.banner.isVisibleTo(window.stage_view) and "EDITED" in window.stage_view.banner.text()
    window.editor.reset_btn.click()
    settle(qtbot, window)
    assert window.studio.model_edits() == frozenset() and not window.stage_view.banner.isVisibleTo(window.stage_view)


def test_undo_across_opening_and_closing_a_model(qtbot, window, minilm_path):
    window.studio.set_sentence("first words")
    settle(qtbot, window)
    window.studio.set_setting(temperature=2.0)  # a step of its own: the sentence steps below do not merge into it
    settle(qtbot, window)
    open_model(qtbot, window, minilm_path)
    window.studio.set_view(layer=5, head=11)
    window.studio.set_sentence("second words")
    settle(qtbot, window)
    window.models.close_model()
    settle(qtbot, window)
    window.undo.undo_action.trigger()  # the sentence typed while the model was open
    settle(qtbot, window)
    assert window.studio.sentence == "first words" and window.studio.real is None
    assert window.studio.settings.temperature == 2.0
    assert (window.studio.layer, window.studio.head) == (0, 0) and window.trace.model is None
