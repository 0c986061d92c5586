"""The weights' colours on a lecture screen: a scale that shows toy weights' pattern (0 … 1,
0 … largest, per row), a colour bar that keeps both ends readable at every zoom and says which
scale it is, a projector map that reads from the back of a hall, colour-blind-safe maps."""

import itertools

import numpy as np
import pytest
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QColor
from studio_helpers import settle

from attnstudio.core.lessons import load_lesson
from attnstudio.qt import colormaps
from attnstudio.qt.colour_bar import end_text
from attnstudio.qt.head_overview import HeadOverview
from attnstudio.qt.heatmap import HeatmapView
from attnstudio.qt.heatmap_items import AXIS_FONT_PX
from attnstudio.qt.stage_strip import Thumb
from attnstudio.qt.stage_text import weight_limits
from attnstudio.studio import StudioError, StudioModel
from attnstudio.studio.snapshot import WEIGHT_SCALES, Snapshot

# Toy weights as the finding had them: 0.03–0.3, rows of different sharpness, a zero.
TOY = np.array([
    [0.30, 0.25, 0.20, 0.15, 0.10],
    [0.03, 0.04, 0.05, 0.06, 0.82],
    [0.20, 0.20, 0.20, 0.20, 0.20],
    [0.00, 0.10, 0.25, 0.30, 0.35],
])

# Machado et al. (2009) full-severity dichromacy, applied to linear RGB.
CVD = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def _linear(rgb: np.ndarray) -> np.ndarray:
    c = rgb[..., :3].astype(np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    """CIE L*a*b* (D65) of linear RGB colours."""
    xyz = np.clip(linear, 0, 1) @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                                            [0.0193, 0.1192, 0.9505]]).T
    f = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(f > 0.008856, np.cbrt(f), 7.787 * f + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


# --- the scales -------------------------------------------------------------------------------


def test_the_default_stretches_the_weights_to_their_largest_and_row_is_a_choice():
    assert WEIGHT_SCALES == ("unit", "max", "row")
    assert Snapshot().weights_scale == "max" and StudioModel().weights_scale == "max"
    m = StudioModel()
    m.apply(weights_scale="row")
    assert m.weights_scale == "row"
    with pytest.raises(StudioError):
        m.apply(weights_scale="log")
    # A display option: a lesson leaves it as the presenter chose it, unless the lesson
    # compares sharpness across its steps and asks for one fixed scale.
    m.open_lesson(load_lesson("it-cat"))
    assert m.weights_scale == "row"
    m.open_lesson(load_lesson("temperature"))
    assert m.weights_scale == "unit"


def test_stretched_limits_run_from_0_to_the_largest_finite_weight():
    m = np.array([[0.03, 0.3, np.nan], [0.1, np.inf, 0.2]])
    assert weight_limits(m, "max") == (0.0, 0.3)
    assert weight_limits(m) == (0.0, 0.3)  # "max" is the default
    assert weight_limits(m, "max").captions[0] == "0 … 0.30 (largest weight)"
    assert weight_limits(np.array([[0.004, 0.001]]), "max").captions[0] == "0 … 0.004 (largest weight)"
    assert weight_limits(np.zeros((2, 2)), "max") == (0.0, 1.0)  # nothing above 0: 0 … 1
    assert weight_limits(np.full((2, 2), np.nan), "max") == (0.0, 1.0)
    assert weight_limits(m, "unit") == (0.0, 1.0)
    with pytest.raises(ValueError, match="unit, max or row"):
        weight_limits(m, "log")


def test_per_row_limits_are_each_rows_own_largest_weight():
    lim = weight_limits(np.vstack([TOY, np.zeros(5), [np.nan, 0.5, np.nan, 0.1, 0.2]]), "row")
    assert lim == (0.0, 1.0) and lim.ends == ("0", "max")
    np.testing.assert_array_equal(lim.rows[:, 0], 0.0)
    np.testing.assert_array_equal(lim.rows[:, 1], [0.30, 0.82, 0.20, 0.35, 1.0, 0.5])


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_per_row_colours_give_every_rows_largest_weight_the_top_colour(qtbot, theme):
    view = HeatmapView()
    qtbot.addWidget(view)
    view.set_theme(theme)
    view.set_matrix(TOY, list("abcd"), list("vwxyz"), scale="unit", limits=weight_limits(TOY, "row"))
    rgba = view._image.image
    table = colormaps.lut("unit", theme)
    for i, row in enumerate(TOY):
        top = np.flatnonzero(row == row.max())
        np.testing.assert_array_equal(rgba[i, top], np.repeat(table[-1][None], top.size, axis=0))
    np.testing.assert_array_equal(rgba[3, 0], table[0])  # a zero is the bottom colour in its row
    # The cells' numbers stay readable on every fill: black or white, ≥ 4.5:1.
    np.testing.assert_array_equal(view._cells._dark, colormaps.dark_text_on(rgba))
    assert colormaps.text_contrast(rgba).min() >= 4.5
    # The stretched scale: only the matrix's largest weight reaches the top colour.
    view.set_matrix(TOY, list("abcd"), list("vwxyz"), scale="unit", limits=weight_limits(TOY, "max"))
    rgba = view._image.image
    assert view.color_limits() == (0.0, 0.82)
    np.testing.assert_array_equal(rgba[1, 4], table[-1])
    np.testing.assert_array_equal(rgba[0, 0], table[round(0.30 / 0.82 * 255)])


def test_a_theme_change_recolours_the_weights(qtbot):
    view = HeatmapView()
    qtbot.addWidget(view)
    view.set_matrix(TOY, list("abcd"), list("vwxyz"), scale="unit", limits=weight_limits(TOY, "max"))
    np.testing.assert_array_equal(view._image.image[1, 4], colormaps.lut("unit", "dark")[-1])
    view.set_theme("light")
    np.testing.assert_array_equal(view._image.image[1, 4], colormaps.lut("unit", "light")[-1])
    assert view._bar.colorMap() is colormaps.SEQUENTIAL_LIGHT
    view.set_matrix(-TOY, list("abcd"), list("vwxyz"))  # a signed stage: the diverging map on both
    assert view._bar.colorMap() is colormaps.DIVERGING


# --- the maps ---------------------------------------------------------------------------------


def test_the_projector_map_runs_from_the_white_ground_to_a_strong_colour():
    light, viridis = colormaps.lut("unit", "light"), colormaps.lut("unit", "dark")
    assert np.abs(light[:, :3].astype(int) - viridis[:, :3].astype(int)).sum(axis=1).mean() > 150
    lum = colormaps.luminance(light)
    assert lum[0] > 0.9 and lum[-1] < 0.05  # near the white background … a dark, strong green
    assert np.all(np.diff(lum) < 0)  # every step darker: more weight, more ink
    # Each map keeps clear of the masked grey and the warning magenta.
    for table in (light, viridis, colormaps.lut("signed")):
        for fill in (colormaps.MASKED_FILL, colormaps.WARN_FILL):
            assert np.abs(table[:, :3].astype(int) - np.array(fill)).sum(axis=1).min() > 60


@pytest.mark.parametrize(("scale", "theme"), [("unit", "light"), ("unit", "dark"), ("signed", "light")])
def test_printed_numbers_contrast_at_least_4_5_to_1_at_every_level(scale, theme):
    table = colormaps.lut(scale, theme)
    ratio = colormaps.text_contrast(table)
    assert ratio.shape == (colormaps.LUT_SIZE,) and ratio.min() >= 4.5
    # The ratio is WCAG's: (lighter + 0.05) / (darker + 0.05) against black or white text.
    lum = colormaps.luminance(table)
    best = np.maximum((lum + 0.05) / 0.05, 1.05 / (lum + 0.05))
    np.testing.assert_allclose(ratio, best)


@pytest.mark.parametrize("deficiency", sorted(CVD))
def test_the_maps_stay_readable_to_colour_blind_viewers(deficiency):
    matrix = np.array(CVD[deficiency]).T
    # Diverging: a negative and the positive of the same size stay apart (ΔE ≥ 15) …
    seen = _lab(_linear(colormaps.lut("signed")) @ matrix)
    t = np.arange(20, 128)
    assert np.linalg.norm(seen[127 - t] - seen[128 + t], axis=1).min() >= 15
    # … and each weights map still orders its levels by lightness.
    for theme, sign in (("light", -1), ("dark", 1)):
        lightness = _lab(_linear(colormaps.lut("unit", theme)) @ matrix)[:, 0]
        assert sign * (lightness[-1] - lightness[0]) > 60
        assert np.all(sign * np.diff(lightness) > -0.1)


# --- the colour bar -----------------------------------------------------------------------------


def _on_viewport(view: HeatmapView, scene_rect: QRectF) -> QRectF:
    """A scene rectangle in the pixels of the plot's viewport (unrounded)."""
    return view._glw.viewportTransform().mapRect(scene_rect)


def _ink(img, rect: QRect, background: QColor) -> int:
    """Pixels in ``rect`` that differ clearly from the background: drawn text."""
    return sum(1 for x in range(rect.left(), rect.right() + 1) for y in range(rect.top(), rect.bottom() + 1)
               if abs(img.pixelColor(x, y).lightness() - background.lightness()) > 60)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_bar_keeps_both_ends_readable_and_says_its_scale_at_every_zoom(window, qtbot, theme):
    window.studio.apply(stage="weights")
    trace = settle(qtbot, window)
    view = window.heatmap
    weights = np.asarray(trace.head().weights)
    expected = {"unit": "1", "max": end_text(float(weights.max())), "row": "max"}
    for zoom in (1.0, 1.5, 2.0):
        for scale, top_text in expected.items():
            window.studio.apply(weights_scale=scale, theme=theme, zoom=zoom)
            settle(qtbot, window)
            qtbot.wait(30)  # the layout places the bar
            drawn = view._bar_axis.drawn_labels()
            texts = [t for t, _ in drawn]
            where = f"{scale}, {theme}, zoom {zoom}: {texts}"
            assert texts[0] == "0" and texts[-1] == top_text, where
            assert view.color_bar_text() == (texts, view._bar_axis.caption())
            # The longest wording that fits along the bar: all name the scale.
            assert view._bar_axis.caption() in weight_limits(weights, scale).captions, where
            if scale == "row":
                assert texts == ["0", "max"], where  # no single numeric scale: no numbers between
            img = view.plot_viewport().grab().toImage()
            shown = QRectF(view.plot_viewport().rect()).adjusted(-0.5, -0.5, 0.5, 0.5)
            background = QColor(colormaps.theme(theme).background)
            rects = [_on_viewport(view, view._bar_axis.axis.mapRectToScene(r)) for _, r in drawn]
            for (text, _), rect in zip(drawn, rects):
                assert shown.contains(rect), (where, text, rect, shown)
                assert _ink(img, rect.toAlignedRect() & img.rect(), background) > 10, (where, text)
            for a, b in itertools.pairwise(rects):
                assert not a.intersects(b), where
            label = view._bar_axis.axis.label
            assert label.isVisible(), where
            along = _on_viewport(view, label.sceneBoundingRect())  # with the text item's 4 px margins
            assert shown.adjusted(-5, -5, 9, 5).contains(along), (where, along, shown)


@pytest.mark.parametrize("limits", [weight_limits(TOY, "max"), weight_limits(TOY, "unit"), weight_limits(TOY, "row")])
def test_a_short_bar_in_large_text_still_labels_both_ends_inside_the_view(qtbot, limits):
    """The finding: at 2× text on a short bar pyqtgraph kept "0" alone."""
    view = HeatmapView()
    qtbot.addWidget(view)
    view.resize(420, 260)
    view.show()
    qtbot.waitExposed(view)
    view.set_matrix(TOY, list("abcd"), list("vwxyz"), scale="unit", limits=limits)
    view._bar_axis.set_font_px(AXIS_FONT_PX * 0.9 * 2)  # the bar's ticks at 2×
    qtbot.wait(30)
    drawn = view._bar_axis.drawn_labels()
    texts = [t for t, _ in drawn]
    assert texts[0] == "0" and texts[-1] == (limits.ends[1] if limits.ends else end_text(limits[1])), texts
    shown = QRectF(view.plot_viewport().rect()).adjusted(-0.5, -0.5, 0.5, 0.5)
    rects = [_on_viewport(view, view._bar_axis.axis.mapRectToScene(r)) for _, r in drawn]
    assert all(shown.contains(r) for r in rects), (texts, rects, shown)
    assert not any(a.intersects(b) for a, b in itertools.pairwise(rects))
    assert rects[0].height() > 25  # really 2× text


def test_a_signed_bar_labels_its_two_ends_with_real_minus_signs(qtbot):
    view = HeatmapView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    view.set_font_scale(2.0)
    view.set_matrix(np.array([[-3.14159, 1.0], [0.5, 2.0]]), ["a", "b"], ["a", "b"])
    qtbot.wait(30)
    texts, caption = view.color_bar_text()
    assert texts[0] == "−3.14" and texts[-1] == "3.14" and caption == ""
    assert all("-" not in t for t in texts)


# --- thumbnails -----------------------------------------------------------------------------------


def test_thumbnails_colour_the_weights_like_the_large_view(qtbot):
    thumb = Thumb("7 Weights")
    qtbot.addWidget(thumb)
    thumb.set_matrix(TOY, "unit")  # the default scale: stretched to the largest weight
    assert thumb.heatmap.color_limits() == (0.0, 0.82)
    thumb.set_matrix(TOY, "unit", "unit")
    assert thumb.heatmap.color_limits() == (0.0, 1.0)
    thumb.set_matrix(TOY, "unit", "row")
    assert thumb.heatmap.color_limits().rows is not None
    overview = HeadOverview()
    qtbot.addWidget(overview)
    overview.set_heads([TOY, TOY / 2], 0)
    # Heads are compared on one scale: the second head's largest weight is not the top colour.
    assert [t.heatmap.color_limits() for t in overview.thumbs] == [(0.0, 0.82), (0.0, 0.82)]
    table = colormaps.lut("unit", "dark")
    assert not np.array_equal(overview.thumbs[1].heatmap.rgba[1, 4], table[-1])
    overview.set_heads([TOY, TOY / 2], 0, "row")
    np.testing.assert_array_equal(overview.thumbs[1].heatmap.rgba[1, 4], table[-1])


def test_inner_ticks_write_zero_and_large_values_as_the_cells_do():
    from attnstudio.qt.colour_bar import tick_text

    assert tick_text(0.0, "-0.00") == "0" and tick_text(-0.0, "0.0") == "0"
    assert tick_text(1.5e6, "1.5e+06") == "1.5e6" and tick_text(-1.5e6, "-1.5e+06") == "−1.5e6"
    assert tick_text(-0.25, "-0.25") == "−0.25"


def test_inner_labels_mixing_major_and_minor_ticks_keep_their_decimals(window, qtbot):
    """The finding: Q, K and V of "the dog chased the cat" (head 2 of 2) had a bar reading
    "−1.26, −1, −0, 0, 0, 1, 1.26": ±0.5, kept from pyqtgraph's minor ticks, were written
    with the major ticks' 0 decimals."""
    st = window.studio
    st.set_sentence("the dog chased the cat")
    st.set_setting(heads=2)
    st.set_view(head=1)
    st.set_stage("projections")
    settle(qtbot, window)
    qtbot.wait(30)
    texts, _ = window.stage_view.v_view.color_bar_text()
    assert len(texts) >= 5, texts
    assert len(set(texts)) == len(texts) and "−0" not in texts, texts
    values = [float(t.replace("−", "-")) for t in texts]
    assert values == sorted(values), texts
    v = window.trace.head(0, 1).v
    q, k = window.trace.head(0, 1).q, window.trace.head(0, 1).k
    top = max(abs(float(np.min([q, k, v]))), abs(float(np.max([q, k, v]))))
    assert values[-1] == round(top, 2) and values[0] == -round(top, 2)


def test_the_bar_comes_back_from_q_k_v_as_wide_as_its_caption_needs(window, qtbot):
    """The finding (a real window, stepping with →): after Q, K, V, whose large view hides
    its bar, the weights' bar came back at the width it had when hidden (78 px, Q's labels
    and no caption) and cut "0 … 0.62 (largest weight)" down the middle."""
    window.go_to_stage("weights")
    settle(qtbot, window)
    qtbot.wait(30)
    bar = window.heatmap._bar
    direct = bar.geometry().width()
    window.go_to_stage("projections")
    settle(qtbot, window)
    qtbot.wait(30)
    assert not bar.isVisible()
    window.go_to_stage("weights")
    settle(qtbot, window)
    qtbot.wait(30)
    top = float(np.max(window.trace.head().weights))  # the caption names the matrix's largest weight
    assert window.heatmap.color_bar_text()[1] == f"0 … {top:.2f} (largest weight)"
    assert bar.geometry().width() == direct


@pytest.mark.parametrize("zoom", [1.0, 1.5, 2.0])
def test_inner_labels_are_evenly_spaced_round_values(window, qtbot, zoom):
    """The finding: zoomed, the weights' bar read "0.62 0.54 0.50 0.44 0.40 0.34 …": round
    values taken from a finer tick level wherever one fitted. A level is now kept whole or
    not at all, so the inner labels step evenly."""
    window.studio.apply(stage="weights", zoom=zoom)
    settle(qtbot, window)
    qtbot.wait(30)
    texts, _ = window.heatmap.color_bar_text()
    inner = sorted(float(t.replace("−", "-")) for t in texts[1:-1])
    assert len(inner) >= 2, texts
    steps = {round(b - a, 9) for a, b in itertools.pairwise(inner)}
    assert len(steps) == 1, texts


def test_luminance_is_wcag_relative_luminance_of_every_8bit_colour():
    """Looked up per channel, it is the WCAG formula itself, channel value by channel value."""
    rng = np.random.default_rng(3)
    rgba = np.concatenate([np.repeat(np.arange(256, dtype=np.uint8)[:, None], 4, axis=1),
                           rng.integers(0, 256, (500, 4), dtype=np.uint8)])
    want = []
    for r, g, b, _a in rgba.tolist():
        lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        want.append(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])
    np.testing.assert_allclose(colormaps.luminance(rgba), want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(colormaps.luminance(rgba.astype(np.float64)), want, rtol=1e-12, atol=0)
