"""The Q, K, V stage at 1280×720 with the side panels open: one scale, numbers in every matrix."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QLabel
from studio_helpers import settle


def test_qkv_share_rows_and_one_colour_range_and_print_their_numbers(window, qtbot):
    window.go_to_stage("projections")
    tr = settle(qtbot, window)
    head = tr.head(0, 0)
    q, k, v = window.stage_view.views()
    big = max(np.abs(m).max() for m in (head.q, head.k, head.v))
    for view in (q, k, v):
        assert view.color_limits() == (-big, big)
    assert [view.shows_chrome() for view in (q, k, v)] == [(True, False), (False, False), (False, True)]
    qtbot.waitUntil(lambda: all(view.cell_text_visible() for view in (q, k, v)), timeout=2000)
    # the three share their rows: same height, so row i of each is level with the others
    assert q.height() == k.height() == v.height()


def test_the_arithmetic_of_k_and_v_goes_to_the_shared_line(window, qtbot):
    window.go_to_stage("projections")
    settle(qtbot, window)
    sv = window.stage_view
    sv.show_hover(sv.k_view, "k[sat, 4] = 1")
    assert sv.shared_hover.isVisible() and sv.shared_hover.text() == "k[sat, 4] = 1"
    assert sv.k_view.hover_text() == "k[sat, 4] = 1"


def test_leaving_the_stage_gives_the_large_heatmap_its_own_colour_bar_and_line_back(window, qtbot):
    window.go_to_stage("projections")
    settle(qtbot, window)
    window.go_to_stage("scores")
    tr = settle(qtbot, window)
    assert window.heatmap.shows_chrome() == (True, True)
    s = np.asarray(tr.head().scores)
    assert window.heatmap.color_limits() == (-np.abs(s).max(), np.abs(s).max())
    assert not window.stage_view.shared_hover.isVisible()
    qtbot.waitUntil(window.heatmap.cell_text_visible, timeout=2000)


def test_the_three_matrices_get_cells_of_equal_width(window, qtbot):
    window.go_to_stage("projections")
    settle(qtbot, window)
    views = window.stage_view.views()
    qtbot.waitUntil(lambda: max(v.cells_width() for v in views) - min(v.cells_width() for v in views) <= 3,
                    timeout=2000)


def test_slides_show_no_hover_lines(window, qtbot):
    """Export turns the lines off: "hover a cell" means nothing on a slide."""
    sv = window.stage_view
    sv.set_hover_lines(False)
    for stage in ("projections", "scores"):
        window.go_to_stage(stage)
        settle(qtbot, window)
        assert not sv.shared_hover.isVisible()
        assert not any(lab.isVisible() and lab.text() == v.hover_text()
                       for v in sv.views() for lab in v.findChildren(QLabel))
