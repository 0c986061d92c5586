"""Editing matrices: accepted values recompute every stage; bad input is refused and loses nothing."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from scipy.special import softmax
from studio_helpers import make_window, settle, type_into_cell

from attnstudio.core import Settings, Weights, compute
from attnstudio.qt.matrix_editor import direct_banner


@pytest.fixture
def window(qtbot):
    w = make_window(qtbot)
    settle(qtbot, w)
    w.editor_dock.raise_()
    return w


def reference_weights(x, wq, wk, scale=True, t=1.0):
    """Softmax attention weights from X and W, written out independently of the app."""
    q, k = x @ wq, x @ wk
    s = np.array([[sum(q[i, c] * k[j, c] for c in range(q.shape[1])) for j in range(len(x))] for i in range(len(x))])
    s = s / np.sqrt(q.shape[1]) if scale else s
    return s, softmax(s / t, axis=1)


def test_typing_a_w_q_cell_recomputes_scores_and_weights(window, qtbot):
    before = window.trace
    window.editor.select("w_q")
    type_into_cell(qtbot, window.editor.table, 2, 1, "0.9")
    tr = settle(qtbot, window)
    assert window.studio.matrix("w_q")[2, 1] == 0.9
    assert window.editor.table.matrix()[2, 1] == 0.9
    wq = Weights.seeded(Settings()).layers[0].heads[0].w_q.copy()
    wq[2, 1] = 0.9
    wk = Weights.seeded(Settings()).layers[0].heads[0].w_k
    x = np.asarray(before.x)
    scaled, weights = reference_weights(x, wq, wk)
    window.go_to_stage("scaled")
    np.testing.assert_allclose(window.heatmap.values(), scaled, atol=1e-12)
    window.go_to_stage("weights")
    np.testing.assert_allclose(window.heatmap.values(), weights, atol=1e-12)
    assert not np.allclose(np.asarray(before.head().weights), weights)
    assert tr is window.trace


def test_w_o_and_x_edits_reach_their_stages(window, qtbot):
    window.editor.select("w_o")
    type_into_cell(qtbot, window.editor.table, 0, 3, "-1.5")
    window.editor.select("x")
    type_into_cell(qtbot, window.editor.table, 7, 0, "2")  # "it", first dimension
    tr = settle(qtbot, window)
    x = np.asarray(compute(list(tr.tokens)).embeddings).copy()
    x[7, 0] = 2.0
    weights = Weights.seeded(Settings())
    weights.layers[0].w_o[0, 3] = -1.5
    ref = compute(list(tr.tokens), Settings(), weights, embeddings=x)
    window.go_to_stage("embeddings")
    np.testing.assert_allclose(window.heatmap.values(), x, atol=1e-12)
    window.go_to_stage("heads")
    z = np.asarray(ref.head().weights) @ np.asarray(ref.head().v)
    np.testing.assert_allclose(window.heatmap.values(), z @ weights.layers[0].w_o, atol=1e-12)


def test_q_given_directly_says_so_and_drives_the_scores(window, qtbot):
    ed = window.editor
    ed.select("q")
    assert not ed.direct.isChecked()
    assert not ed.table.model().flags(ed.table.model().index(0, 0)) & Qt.ItemFlag.ItemIsEditable
    ed.direct.setChecked(True)
    assert ed.banner.isVisible() and ed.banner.text() == direct_banner("q") == "Q is given directly — not X·W_Q"
    type_into_cell(qtbot, ed.table, 7, 0, "3")
    tr = settle(qtbot, window)
    window.go_to_stage("scores")
    assert window.stage_view.banner.isVisible()
    assert "Q is given directly — not X·W_Q" in window.stage_view.banner.text()
    q = np.asarray(compute(list(tr.tokens)).head().q).copy()
    q[7, 0] = 3.0
    k = np.asarray(tr.head().k)
    np.testing.assert_allclose(window.heatmap.values(), q @ k.T, atol=1e-12)
    # W_Q no longer matters for Q: editing it leaves the scores alone.
    ed.select("w_q")
    type_into_cell(qtbot, ed.table, 0, 0, "5")
    settle(qtbot, window)
    np.testing.assert_allclose(window.heatmap.values(), q @ k.T, atol=1e-12)
    ed.select("q")
    ed.direct.setChecked(False)
    settle(qtbot, window)
    assert not window.stage_view.banner.isVisible()
    assert window.heatmap.values()[7, 0] != pytest.approx((q @ k.T)[7, 0])


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "-inf", "1e400", ""])
def test_bad_cell_input_is_refused_visibly_and_changes_nothing(window, qtbot, text):
    ed = window.editor
    ed.select("w_k")
    old = window.studio.matrix("w_k").copy()
    generation = window.studio.generation
    shown = window.heatmap.values()
    type_into_cell(qtbot, ed.table, 1, 3, text)
    assert ed.error.isVisible()
    msg = ed.error.text()
    assert "W_K (layer 1, head 1) row 2, column 4" in msg and f"kept {old[1, 3]:.4g}" in msg
    assert msg in window.statusBar().currentMessage()
    np.testing.assert_array_equal(window.studio.matrix("w_k"), old)
    assert window.studio.generation == generation
    assert ed.table.matrix()[1, 3] == old[1, 3]
    np.testing.assert_array_equal(window.heatmap.values(), shown)
    # The next good value clears the message.
    type_into_cell(qtbot, ed.table, 1, 3, "0.5")
    assert not ed.error.isVisible()
    assert window.studio.matrix("w_k")[1, 3] == 0.5


def test_scrubbing_by_drag_and_wheel_coalesces_to_one_recompute_per_frame(window, qtbot):
    ed = window.editor
    ed.select("w_q")
    table = ed.table
    results = []
    window.compute.result.connect(results.append)
    start = window.studio.matrix("w_q")[0, 0]
    vp = table.viewport()
    center = table.visualRect(table.model().index(0, 0)).center()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, center)
    for dy in range(1, 21):  # 20 moves, one pixel each, in one go
        qtbot.mouseMove(vp, center - QPoint(0, dy))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, center - QPoint(0, 20))
    settle(qtbot, window)
    assert window.studio.matrix("w_q")[0, 0] == pytest.approx(start + 0.20)
    assert 1 <= len(results) < 20  # coalesced, not one recompute per event
    window.go_to_stage("scores")
    wq = Weights.seeded(Settings()).layers[0].heads[0].w_q.copy()
    wq[0, 0] = round(start + 0.20, 2)
    np.testing.assert_allclose(window.heatmap.values(), compute(list(window.trace.tokens), Settings(),
                               _with(wq)).head().scores, atol=1e-12)
    # The wheel over the selected cell: 0.01 a notch, 0.1 with Shift.
    table.setCurrentIndex(table.model().index(0, 0))
    before = window.studio.matrix("w_q")[0, 0]
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    def wheel(notches, mods=Qt.KeyboardModifier.NoModifier):
        pos = QPointF(center)
        ev = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(), QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                         mods, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(vp, ev)

    wheel(3)
    assert window.studio.matrix("w_q")[0, 0] == pytest.approx(before + 0.03)
    wheel(-1, Qt.KeyboardModifier.ShiftModifier)
    assert window.studio.matrix("w_q")[0, 0] == pytest.approx(before + 0.03 - 0.1)


def _with(wq):
    w = Weights.seeded(Settings())
    w.layers[0].heads[0].w_q = wq
    return w


def test_buttons_randomize_reset_identity(window, qtbot):
    ed = window.editor
    ed.select("w_v")
    seed0 = window.studio.settings.seed
    qtbot.mouseClick(ed.randomize_btn, Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    seed1 = window.studio.settings.seed
    assert seed1 != seed0
    seeded = Weights.seeded(Settings(seed=seed1)).layers[0].heads[0].w_v
    np.testing.assert_array_equal(window.studio.matrix("w_v"), seeded)
    assert window.controls.seed.value() == seed1
    qtbot.mouseClick(ed.identity_btn, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(window.studio.matrix("w_v"), np.eye(4))
    tr = settle(qtbot, window)
    window.go_to_stage("projections")
    np.testing.assert_allclose(window.stage_view.v_view.values(), np.asarray(tr.x), atol=1e-12)  # V = X·I
    qtbot.mouseClick(ed.reset_btn, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(window.studio.matrix("w_v"), seeded)


def test_q_shown_while_a_change_adds_heads_and_views_a_new_one(window, qtbot):
    """One change that adds heads and shows one of the new ones (an undo, a lesson closed)
    announces the view before the recompute: the editor's Q must not index the old trace's
    heads with the new head (the soak test found an IndexError there)."""
    studio = window.studio
    window.editor.select("q")
    studio.set_setting(d_model=8, heads=2)
    studio.set_view(head=1)
    two_heads = studio.snapshot()
    studio.set_setting(heads=1)
    settle(qtbot, window)
    studio.restore(two_heads)
    tr = settle(qtbot, window)
    assert tr.settings.heads == 2 and studio.head == 1
    np.testing.assert_array_equal(window.editor.table.matrix(), np.asarray(tr.head(0, 1).q))
