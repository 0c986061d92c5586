"""Hovering a cell shows its arithmetic with the real numbers; clicking a query row opens its view."""

import math

import numpy as np
from PySide6.QtCore import QPoint, Qt
from studio_helpers import viewport, viewport_pos

from attnstudio.core.explain import explain_cell
from attnstudio.core.numbers import format_result as fmt


def hover(qtbot, view, row, col):
    vp = viewport(view)
    # From elsewhere first: a pointer already resting on that spot (left there by an earlier
    # test, windows open at the same place) moves nowhere and the view would see no move.
    qtbot.mouseMove(vp, QPoint(1, 1))
    with qtbot.waitSignal(view.cellHovered, timeout=1000):
        qtbot.mouseMove(vp, viewport_pos(view, row, col))


def test_hovering_a_score_shows_the_dot_product(window, qtbot):
    window.go_to_stage("scores")
    qtbot.wait(20)
    hover(qtbot, window.heatmap, 7, 1)  # it → cat
    tr = window.trace
    text = window.heatmap.hover_text()
    assert text == explain_cell(tr, 0, 0, "scores", 7, 1, weights=window.result.inputs.weights)
    q, k = np.asarray(tr.head().q)[7], np.asarray(tr.head().k)[1]
    total = sum(q[c] * k[c] for c in range(len(q)))  # the dot product, written out
    assert text.startswith("score[it, cat] = q_it · k_cat = ")
    assert text.endswith(f"= {fmt(total)}")
    assert window.statusBar().currentMessage() == text
    # Leaving the matrix puts the always-visible hint back.
    qtbot.mouseMove(viewport(window.heatmap), QPoint(3, 3))  # (0, 0) would mean "the centre" to QTest
    qtbot.waitUntil(lambda: window.heatmap.hover_text().startswith("Hover a cell"), timeout=1000)


def test_hovering_k_and_v_in_the_projections_stage(window, qtbot):
    window.go_to_stage("projections")
    qtbot.wait(20)
    tr = window.trace
    for view, name in ((window.stage_view.k_view, "k"), (window.stage_view.v_view, "v")):
        hover(qtbot, view, 2, 3)
        assert view.hover_text() == explain_cell(tr, 0, 0, name, 2, 3, weights=window.result.inputs.weights)
        assert view.hover_text().startswith(f"{name}[sat, 4]")


def test_clicking_a_weights_row_opens_that_tokens_view(window, qtbot):
    window.go_to_stage("weights")
    qtbot.wait(20)
    assert not window.token_dock.isVisible() or window.token_dock.visibleRegion().isEmpty()
    qtbot.mouseClick(viewport(window.heatmap), Qt.MouseButton.LeftButton, pos=viewport_pos(window.heatmap, 7, 4))
    qtbot.waitUntil(lambda: window.studio.selected_row == 7, timeout=1000)
    assert window.token_dock.isVisible() and not window.token_dock.visibleRegion().isEmpty()
    panel = window.token_panel
    w = np.asarray(window.trace.head().weights)[7]
    assert panel.table_text(1, 0) == "cat"
    assert panel.table_text(1, 5) == fmt(w[1])
    assert window.token_strip._highlight == 7
    assert window.stage_view.side._highlight == 7


def test_rows_of_other_stages_do_not_open_the_token_view(window, qtbot):
    window.go_to_stage("embeddings")
    qtbot.wait(20)
    qtbot.mouseClick(viewport(window.heatmap), Qt.MouseButton.LeftButton, pos=viewport_pos(window.heatmap, 3, 1))
    qtbot.wait(20)
    assert window.studio.selected_row == -1


def test_weights_side_shows_row_sums_and_entropy(window, qtbot):
    window.go_to_stage("weights")
    a = np.asarray(window.trace.head().weights)
    side = window.stage_view.side
    assert side.isVisible()
    np.testing.assert_allclose(side._sums, a.sum(axis=1), atol=1e-12)
    h = -np.sum(a * np.log2(a), axis=1)  # all weights > 0 under softmax
    np.testing.assert_allclose(side._entropy, h, atol=1e-12)
    lines = side.lines()
    # A row whose ten weights, rounded to 0.01 as the cells show them, add to something other
    # than 1.00 says so (≈): with seed 0 "because" adds to 0.99 and "it" to 1.00.
    marked = 0
    for i in (6, 7):
        adds = math.fsum(float(f"{x:.2f}") for x in a[i])  # the calculator, on the rounded cells
        mark = "" if f"{adds:.2f}" == "1.00" else f" ≈ (its rounded cells add to {adds:.2f})"
        marked += bool(mark)
        top = window.trace.tokens[int(np.argmax(a[i]))]  # its winner, named after its H (no tie in these rows)
        word = window.trace.tokens[i]
        assert lines[i] == f"{word}: Σ = 1.000{mark}, H = {h[i]:.2f} bits, most weight: {top}"
    assert marked == 1
