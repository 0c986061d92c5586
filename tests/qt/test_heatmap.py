"""HeatmapView: shows the given numbers, labels and honest colours; mouse maps to cells."""

import math

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from attnstudio.core.numbers import format_cell
from attnstudio.qt import colormaps
from attnstudio.qt.heatmap import LABEL_ZOOM_MAX

TOKENS = ["The", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired"]


def settle(qtbot, w):
    qtbot.wait(10)  # let the layout place the plot before reading geometry


def cell_pixel(w, row, col, fx=0.5, fy=0.5) -> QColor:
    """The colour grabbed at a point inside a cell (fx, fy: fraction of the cell)."""
    img = w.grab().toImage()
    vb = w._vb
    from PySide6.QtCore import QPointF

    scene = vb.mapViewToScene(QPointF(col + fx, row + fy))
    pos = w._glw.mapTo(w, w._glw.mapFromScene(scene))
    return img.pixelColor(pos)


def viewport_pos(w, row, col) -> QPoint:
    return w._glw.mapFromScene(w.cell_scene_center(row, col))


def test_shows_the_values_and_labels(view, qtbot):
    rng = np.random.default_rng(0)
    m = rng.normal(size=(10, 10))
    view.set_matrix(m, TOKENS, TOKENS, title="scores")
    np.testing.assert_array_equal(view.values(), m)
    assert view.labels() == (TOKENS, TOKENS)
    assert view.values() is not m  # the view keeps its own copy


def test_signed_limits_are_symmetric_and_unit_limits_fixed(view):
    m = np.array([[-1.0, 0.5], [3.0, -np.inf]])
    view.set_matrix(m, ["a", "b"], ["a", "b"], scale="signed")
    assert view.color_limits() == (-3.0, 3.0)
    assert tuple(view._bar.levels()) == (-3.0, 3.0)
    view.set_matrix(np.array([[0.2, 0.8], [0.5, 0.5]]), ["a", "b"], ["a", "b"], scale="unit")
    assert view.color_limits() == (0.0, 1.0)
    assert tuple(view._bar.levels()) == (0.0, 1.0)


def test_colours_follow_the_map(view, qtbot):
    """A +max cell is the top of the diverging map, −max the bottom, 0 its (near-white) middle."""
    m = np.array([[-2.0, 0.0, 2.0]])
    view.set_matrix(m, ["q"], ["a", "b", "c"])
    settle(qtbot, view)
    lut = colormaps.lut("signed")
    for col, idx in ((0, 0), (1, 128), (2, 255)):
        c = cell_pixel(view, 0, col, 0.1, 0.1)
        assert np.abs(np.array([c.red(), c.green(), c.blue()]) - lut[idx, :3].astype(int)).max() <= 2


def _distance_to_map(c: QColor, scale: str) -> int:
    rgb = np.array([c.red(), c.green(), c.blue()])
    return int(np.abs(colormaps.lut(scale)[:, :3].astype(int) - rgb).sum(axis=1).min())


def test_masked_and_overflowed_cells_are_drawn_distinctly(view, qtbot):
    m = np.array([[0.5, -np.inf], [np.nan, np.inf]])
    view.set_matrix(m, ["a", "b"], ["a", "b"])
    settle(qtbot, view)
    for scale in ("signed", "unit"):
        for r, c in ((0, 1), (1, 0), (1, 1)):
            for fx, fy in ((0.15, 0.15), (0.3, 0.2), (0.8, 0.85)):
                px = cell_pixel(view, r, c, fx, fy)
                assert _distance_to_map(px, scale) > 60, (r, c, px.name())
    masked = cell_pixel(view, 0, 1, 0.15, 0.15)
    nan = cell_pixel(view, 1, 0, 0.15, 0.15)
    assert masked != nan
    assert format_cell(-np.inf) == "−∞" and format_cell(np.nan) == "NaN" and format_cell(np.inf) == "∞"
    assert format_cell(-0.256) == "−0.26"


def test_numbers_shown_while_cells_are_big_enough(view, qtbot):
    view.set_matrix(np.full((8, 8), 0.5), TOKENS[:8], TOKENS[:8], scale="unit")
    settle(qtbot, view)
    assert view.cell_text_visible()
    # The number is really painted: a uniform cell holds pixels far from its fill colour.
    img = view.grab().toImage()
    fill = cell_pixel(view, 3, 3, 0.05, 0.05)
    centre = view._glw.mapTo(view, viewport_pos(view, 3, 3))
    ink = sum(
        1
        for dx in range(-20, 21)
        for dy in range(-8, 9)
        if abs(img.pixelColor(centre.x() + dx, centre.y() + dy).lightness() - fill.lightness()) > 80
    )
    assert ink > 20
    view.set_matrix(np.full((512, 512), 0.5), [str(i) for i in range(512)], [str(i) for i in range(512)], scale="unit")
    settle(qtbot, view)
    assert not view.cell_text_visible()


def test_text_contrast_follows_the_cell_colour():
    rgba = np.array([[[255, 255, 255, 255], [0, 0, 0, 255], [253, 231, 37, 255], [68, 1, 84, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(colormaps.dark_text_on(rgba), [[True, False, True, False]])


def test_hover_and_click_report_the_cell_of_a_non_square_matrix(view, qtbot):
    m = np.arange(40.0).reshape(10, 4)
    view.set_matrix(m, TOKENS, ["0", "1", "2", "3"])
    settle(qtbot, view)
    viewport = view._glw.viewport()
    for r, c in ((0, 0), (7, 2), (9, 3)):
        with qtbot.waitSignal(view.cellHovered, timeout=1000) as sig:
            qtbot.mouseMove(viewport, viewport_pos(view, r, c))
        assert sig.args == [r, c]
    with qtbot.waitSignal(view.cellClicked, timeout=1000) as sig:
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=viewport_pos(view, 4, 1))
    assert sig.args == [4, 1]
    # Leaving the matrix (onto the row labels) reports (-1, -1).
    labels_x = view._glw.mapFromScene(view._vb.sceneBoundingRect().topLeft()).x() - 10
    left_of_matrix = QPoint(labels_x, viewport_pos(view, 4, 0).y())
    with qtbot.waitSignal(view.cellHovered, timeout=1000) as sig:
        qtbot.mouseMove(viewport, left_of_matrix)
    assert sig.args == [-1, -1]


def test_repeated_updates_keep_the_same_items(view, qtbot):
    rng = np.random.default_rng(3)
    view.set_matrix(rng.normal(size=(6, 6)), TOKENS[:6], TOKENS[:6])
    settle(qtbot, view)
    items = [id(x) for x in view.graphics_items()]
    scene_items = set(map(id, view._glw.scene().items()))
    for _ in range(20):
        view.set_matrix(rng.normal(size=(6, 6)), TOKENS[:6], TOKENS[:6])
        view.set_highlights(rows=[1], cells=[(2, 3)])
    view.set_matrix(rng.normal(size=(9, 3)), TOKENS[:9], ["0", "1", "2"], scale="signed")
    settle(qtbot, view)
    assert [id(x) for x in view.graphics_items()] == items
    assert set(map(id, view._glw.scene().items())) == scene_items


def test_hover_text_font_scale_theme_and_highlights(view, qtbot):
    view.set_matrix(np.eye(3), ["a", "b", "c"], ["a", "b", "c"], scale="unit", note="reduced for display: 4096 → 512")
    view.set_hover_text("score[a, b] = 0.00")
    assert view.hover_text() == "score[a, b] = 0.00"
    assert view._hover.isVisible()
    assert view._note.text().startswith("reduced for display")
    small = view._hover.font().pixelSize()
    axis = view._left._font.pixelSize()
    top = view._top._font.pixelSize()
    view.set_font_scale(2.0)
    # Column labels grow with the zoom up to LABEL_ZOOM_MAX, the lines around the matrix by √
    # of that; row labels keep their size (their width would come out of the cells).
    assert view._hover.font().pixelSize() == round(small * math.sqrt(LABEL_ZOOM_MAX))
    assert view._top._font.pixelSize() == round(top * LABEL_ZOOM_MAX)
    assert view._left._font.pixelSize() == axis
    view.set_theme("light")
    settle(qtbot, view)
    corner = view.grab().toImage().pixelColor(view.width() - 3, view.height() // 2)
    assert corner.lightness() > 200
    with pytest.raises(ValueError, match="theme"):
        view.set_theme("neon")
    view.set_highlights(rows=[0], cells=[(2, 2), (9, 9)])  # out-of-range ones are ignored
    assert len(view._marks._rects) == 2
    with pytest.raises(ValueError, match="font scale"):
        view.set_font_scale(0)


def test_thumbnail_pictures_colour_cells_as_the_large_view_and_write_nothing(qtbot):
    from PySide6.QtWidgets import QLabel

    from attnstudio.qt import colormaps
    from attnstudio.qt.matrix_picture import MatrixPicture

    w = MatrixPicture()
    qtbot.addWidget(w)
    w.resize(160, 120)
    w.show()
    m = np.array([[0.5, -2.0], [1.0, -np.inf]])
    w.set_matrix(m, "signed")
    assert w.color_limits() == (-2.0, 2.0)
    np.testing.assert_array_equal(w.rgba, colormaps.to_rgba(m, "signed", (-2.0, 2.0), "dark"))
    assert tuple(w.rgba[1, 1, :3]) == colormaps.MASKED_FILL
    picture = w.grab().toImage()
    # Stretched to the widget: the top-left quarter has the first cell's colour.
    assert picture.pixelColor(20, 15).getRgb()[:3] == tuple(int(c) for c in w.rgba[0, 0, :3])
    w.set_theme("light")
    np.testing.assert_array_equal(w.rgba, colormaps.to_rgba(m, "signed", (-2.0, 2.0), "light"))
    assert not w.findChildren(QLabel)  # colours only: no numbers, labels or colour bar
    with pytest.raises(ValueError, match="2-D"):
        w.set_matrix(np.zeros((2, 2, 2)))


def test_bad_matrices_are_refused_clearly(view):
    with pytest.raises(ValueError, match="2-D"):
        view.set_matrix(np.zeros((2, 2, 2)), ["a"], ["b"])
    with pytest.raises(ValueError, match="scale"):
        view.set_matrix(np.zeros((2, 2)), ["a", "b"], ["a", "b"], scale="log")
    # Empty and extreme matrices draw without a crash or a warning.
    view.set_matrix(np.zeros((0, 3)), [], [])
    assert view.values().shape == (0, 0) and not view.cell_text_visible()
    view.set_matrix(np.array([[1.7e308, -1.7e308, 0.0]]), ["a"], ["x", "y", "z"])
    assert view.color_limits() == (-1.7e308, 1.7e308)
    rgba = view._image.image
    np.testing.assert_array_equal(rgba[0, :, :3], colormaps.lut("signed")[[255, 0, 128], :3])
    view.grab()
    # Too few labels never crash: missing ones are numbered.
    view.set_matrix(np.zeros((3, 2)), ["a"], [])
    assert view.labels() == (["a", "1", "2"], ["0", "1"])
