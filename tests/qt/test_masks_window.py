"""Masks drawn in the window: with the custom mask a click on a cell of the masked stage
masks or unmasks it (one undoable edit); with the padding mask a click on a token chip marks
it as padding. The views show the masked cells as −∞, then as weights of exactly 0."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from studio_helpers import settle, viewport, viewport_pos


def click_cell(qtbot, window, row: int, col: int) -> None:
    qtbot.mouseClick(viewport(window.heatmap), Qt.MouseButton.LeftButton, pos=viewport_pos(window.heatmap, row, col))


def undo(qtbot, window) -> None:
    qtbot.keyClick(window.windowHandle(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def test_clicking_a_cell_of_the_masked_stage_toggles_it_and_undo_restores_it(window, qtbot):
    studio = window.studio
    studio.set_setting(mask="custom")
    window.go_to_stage("masked")
    settle(qtbot, window)
    assert "click a cell to mask or unmask it" in window.stage_view.formula.text()
    assert window.heatmap.hover_text().startswith("Click a cell to mask or unmask it")
    click_cell(qtbot, window, 7, 1)  # it → cat
    qtbot.waitUntil(lambda: studio.mask_cells == ((7, 1),), timeout=1000)
    tr = settle(qtbot, window)
    assert np.asarray(tr.head().masked)[7, 1] == -np.inf
    assert np.asarray(tr.head().weights)[7, 1] == 0.0
    assert studio.selected_row == -1, "on the masked stage a click draws the mask, not a row's view"
    assert window.statusBar().currentMessage() == "(it, cat) masked · Ctrl+Z undoes it"
    click_cell(qtbot, window, 7, 2)
    qtbot.waitUntil(lambda: studio.mask_cells == ((7, 1), (7, 2)), timeout=1000)
    click_cell(qtbot, window, 7, 1)  # again: unmasked
    qtbot.waitUntil(lambda: studio.mask_cells == ((7, 2),), timeout=1000)
    undo(qtbot, window)
    assert studio.mask_cells == ((7, 1), (7, 2))
    undo(qtbot, window)
    assert studio.mask_cells == ((7, 1),)
    undo(qtbot, window)
    assert studio.mask_cells == ()
    assert not np.isneginf(np.asarray(settle(qtbot, window).head().masked)).any()


def test_other_stages_and_masks_keep_the_click_for_one_token_s_view(window, qtbot):
    studio = window.studio
    studio.set_setting(mask="custom")
    window.go_to_stage("weights")
    settle(qtbot, window)
    click_cell(qtbot, window, 3, 1)
    qtbot.waitUntil(lambda: studio.selected_row == 3, timeout=1000)
    assert studio.mask_cells == ()
    studio.set_setting(mask="causal")
    window.go_to_stage("masked")
    settle(qtbot, window)
    click_cell(qtbot, window, 5, 1)
    qtbot.waitUntil(lambda: studio.selected_row == 5, timeout=1000)
    assert studio.mask_cells == ()


def test_the_hover_of_a_masked_cell_says_minus_infinity_then_zero(window, qtbot):
    studio = window.studio
    studio.apply(settings={"mask": "custom"}, mask_cells=[(7, 7)])
    window.go_to_stage("masked")
    settle(qtbot, window)
    vp = viewport(window.heatmap)
    qtbot.mouseMove(vp, QPoint(1, 1))
    with qtbot.waitSignal(window.heatmap.cellHovered, timeout=1000):
        qtbot.mouseMove(vp, viewport_pos(window.heatmap, 7, 7))
    assert window.heatmap.hover_text() == "masked[it, it] = −∞ (custom mask: this cell is masked)"
    window.go_to_stage("weights")
    settle(qtbot, window)
    qtbot.mouseMove(vp, QPoint(1, 1))
    with qtbot.waitSignal(window.heatmap.cellHovered, timeout=1000):
        qtbot.mouseMove(viewport(window.heatmap), viewport_pos(window.heatmap, 7, 7))
    text = window.heatmap.hover_text()
    assert text.startswith("weight[it, it] = exp(−∞) / Σ_j … = 0 ") and "masked" in text
    assert "over its unmasked keys" in window.stage_view.formula.text()
    assert any("masked: no weight" in line for line in window.stage_view.side.key())
    # one token's view of "it": its own key reads −∞, exp 0 and the masked mark
    studio.select_row(7)
    settle(qtbot, window)
    panel = window.token_panel
    assert panel.table_text(7, 0) == "it" and "−∞" in [panel.table_text(7, c) for c in range(8)]


def test_clicking_a_token_chip_with_the_padding_mask_marks_it_and_undo_unmarks_it(window, qtbot):
    studio = window.studio
    studio.set_sentence("the cat sat PAD PAD")
    studio.set_setting(mask="padding")
    window.go_to_stage("weights")
    settle(qtbot, window)
    strip = window.token_strip
    assert "click a token" in window.statusBar().currentMessage()
    for i in (3, 4):
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip._rects[i].center().toPoint())
    qtbot.waitUntil(lambda: studio.padding == (3, 4), timeout=1000)
    tr = settle(qtbot, window)
    assert strip.marked() == {3, 4}
    w = np.asarray(tr.head().weights)
    assert np.all(w[:, 3:] == 0.0)
    assert w[:, :3].sum(axis=1) == pytest.approx(np.ones(5), abs=1e-12)
    assert studio.selected_row == -1, "with the padding mask a chip marks padding, not a row's view"
    undo(qtbot, window)
    settle(qtbot, window)
    assert studio.padding == (3,) and strip.marked() == {3}
    window.go_to_stage("masked")  # a click on a column of the masked stage marks its token too
    settle(qtbot, window)
    assert "click a column to (un)mark one" in window.stage_view.formula.text()
    click_cell(qtbot, window, 0, 1)
    qtbot.waitUntil(lambda: studio.padding == (1, 3), timeout=1000)
    assert np.isneginf(np.asarray(settle(qtbot, window).head().masked)[:, 1]).all()
    undo(qtbot, window)
    settle(qtbot, window)
    studio.set_setting(mask="none")  # another mask: the chip opens that token's view again
    settle(qtbot, window)
    assert strip.marked() == frozenset()
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=strip._rects[1].center().toPoint())
    qtbot.waitUntil(lambda: studio.selected_row == 1, timeout=1000)


def test_the_mask_list_offers_every_mask_with_what_it_hides(window):
    from attnstudio.core.settings import MASKS

    combo = window.controls.mask
    items = [combo.itemText(i) for i in range(combo.count())]
    assert items == list(MASKS) == ["none", "causal", "padding", "custom"]
    for i, name in enumerate(items):
        assert combo.itemData(i, Qt.ItemDataRole.ToolTipRole).startswith(f"{name}: ")


def test_exports_keep_the_drawn_mask(tmp_path, capsys):
    """`export --sentence … --padding / --mask-cells`: −inf in the masked stage's CSV, exact
    zeros in the weights', and the rows of the weights sum to 1 over the other keys."""
    from attnstudio.cli import main

    masked, weights = tmp_path / "m.csv", tmp_path / "w.csv"
    assert main(["export", "--sentence", "a b PAD", "--padding", "2", "--stage", "masked", "--out", str(masked)]) == 0
    rows = [line.split(",") for line in masked.read_text().splitlines()[1:]]
    assert [r[2] for r in rows] == ["-inf"] * 3 and all(r[0] != "-inf" for r in rows)
    assert main(["export", "--sentence", "a b c", "--mask-cells", "0,1", "--stage", "weights",
                 "--out", str(weights)]) == 0
    w = np.loadtxt(weights, delimiter=",", comments="#")
    assert w[0, 1] == 0.0 and np.count_nonzero(w == 0.0) == 1
    assert w.sum(axis=1) == pytest.approx(np.ones(3), abs=1e-12)
    assert "wrote" in capsys.readouterr().out
