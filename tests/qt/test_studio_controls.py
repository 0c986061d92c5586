"""The settings panel: every control reaches the computation; the status bar names the backend."""

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from scipy.special import softmax
from studio_helpers import settle

from attnstudio.core import Settings, Weights, backends
from attnstudio.qt.controls import T_MAX, T_MIN, slider_to_temperature, temperature_to_slider


def test_temperature_slider_is_log_scaled_and_live(window, qtbot):
    c = window.controls
    assert slider_to_temperature(c.temperature.minimum()) == T_MIN
    assert slider_to_temperature(c.temperature.maximum()) == T_MAX
    assert slider_to_temperature(temperature_to_slider(1.0)) == 1.0
    window.go_to_stage("weights")
    scaled = np.asarray(window.trace.head().scaled)
    sharp_entropy = None
    for t in (0.25, 1.0, 4.0):
        c.set_temperature(t)  # what dragging the slider to t does
        assert c.temperature_label.text() == f"{t:g}"
        settle(qtbot, window)
        assert window.studio.settings.temperature == t
        np.testing.assert_allclose(window.heatmap.values(), softmax(scaled / t, axis=1), atol=1e-12)
        h = window.stage_view.side._entropy.mean()
        assert sharp_entropy is None or h > sharp_entropy  # hotter = more diffuse
        sharp_entropy = h


def test_scaling_mask_normalizer_and_positions_reach_the_stages(window, qtbot):
    c = window.controls
    c.scale.setChecked(False)
    c.mask.setCurrentText("causal")
    c.normalizer.setCurrentText("sparsemax")
    c.positional.setChecked(True)
    tr = settle(qtbot, window)
    s = tr.settings
    assert (s.scale, s.mask, s.normalizer, s.positional) == (False, "causal", "sparsemax", True)
    n, d = tr.n, s.d_model
    pos, i = np.arange(n)[:, None], np.arange(d)[None, :]
    angle = pos / 10000 ** (2 * (i // 2) / d)
    p = np.where(i % 2 == 0, np.sin(angle), np.cos(angle))
    window.go_to_stage("embeddings")
    np.testing.assert_allclose(window.heatmap.values(), np.asarray(tr.embeddings) + p, atol=1e-12)
    window.go_to_stage("scaled")
    np.testing.assert_allclose(window.heatmap.values(), np.asarray(tr.head().scores), atol=1e-12)  # not scaled
    window.go_to_stage("masked")
    assert np.isneginf(window.heatmap.values()[np.triu_indices(n, 1)]).all()
    window.go_to_stage("weights")
    a = window.heatmap.values()
    assert (a[np.triu_indices(n, 1)] == 0).all() and (a == 0).sum() > n * (n - 1) // 2  # sparsemax zeros
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-12)


def test_changing_sizes_reseeds_and_says_so(window, qtbot):
    window.studio.set_weight_cell(0, 0, "w_q", 0, 0, 0.5)
    settle(qtbot, window)
    c = window.controls
    c.d_model.setValue(8)
    tr = settle(qtbot, window)
    assert tr.settings.d_model == 8
    msg = window.statusBar().currentMessage()
    assert "d_model 4 → 8" in msg and "re-seeded" in msg and "cannot carry over" in msg
    seeded = Weights.seeded(Settings(d_model=8)).layers[0].heads[0].w_q
    np.testing.assert_array_equal(window.studio.matrix("w_q"), seeded)
    # Heads are offered only where they divide d_model.
    assert [c.heads.itemData(i) for i in range(c.heads.count())] == [1, 2, 4, 8]
    c.heads.setCurrentIndex(c.heads.findData(2))
    tr = settle(qtbot, window)
    assert tr.settings.heads == 2 and window.controls.head.count() == 2
    c.d_model.setValue(4)
    c.heads.setCurrentIndex(c.heads.findData(1))
    settle(qtbot, window)
    assert window.studio.matrix("w_q")[0, 0] == 0.5  # back to the old sizes: the old edit is back
    assert "back" in window.statusBar().currentMessage()


def test_head_and_layer_selectors_and_head_overview(window, qtbot):
    window.studio.set_setting(d_model=8, heads=4, layers=2)
    tr = settle(qtbot, window)
    window.controls.layer.setCurrentIndex(1)
    window.controls.head.setCurrentIndex(3)
    assert (window.studio.layer, window.studio.head) == (1, 3)
    window.go_to_stage("weights")
    np.testing.assert_allclose(window.heatmap.values(), tr.head(1, 3).weights, atol=1e-12)
    window.go_to_stage("heads")
    ov = window.stage_view.overview
    assert ov.isVisible() and len(ov.thumbs) == 4
    for h, thumb in enumerate(ov.thumbs):
        np.testing.assert_allclose(thumb.heatmap.values(), tr.head(1, h).weights, atol=1e-12)
    assert [t.property("current") for t in ov.thumbs] == [False, False, False, True]
    ov.head_clicked.emit(0)
    assert window.studio.head == 0
    np.testing.assert_allclose(window.heatmap.values(), tr.layers[1].output, atol=1e-12)


def test_backend_indicator_names_numpy_when_cupy_is_absent(window, qtbot, monkeypatch):
    def no_cupy():
        raise ImportError("No module named 'cupy'")

    monkeypatch.setattr(backends, "_import_cupy", no_cupy)
    backends.cupy_status.cache_clear()
    try:
        window.controls.backend.setCurrentText("cupy")
        settle(qtbot, window)
        major_minor = ".".join(np.__version__.split(".")[:2])
        assert window.backend_label.text() == f"CPU · NumPy {major_minor} (CuPy not installed)"
        assert window.trace.backend.name == "numpy"
        assert any("CuPy not installed" in w for w in window.trace.warnings)
        assert window.stage_view.warning.isVisible()
    finally:
        backends.cupy_status.cache_clear()


def test_theme_switch_and_font_scale(window, qtbot):
    window.controls.theme.setCurrentIndex(1)
    assert window.studio.theme == "light"
    assert "#ffffff" in window.styleSheet()
    def hover_line_px():
        (line,) = [lab for lab in window.heatmap.findChildren(QLabel) if lab.text() == window.heatmap.hover_text()]
        return line.font().pixelSize()

    px = hover_line_px()
    columns = window.heatmap._top._font.pixelSize()
    window.studio.apply(zoom=1.5)
    assert window.studio.zoom == 1.5
    # the column labels and numbers grow by the zoom; the window's chrome by √zoom, so that
    # at 2× on 1280×720 the matrix keeps its height
    assert window.heatmap._top._font.pixelSize() == round(1.5 * columns)
    assert hover_line_px() == pytest.approx(math.sqrt(1.5) * px, abs=1)
    assert "font-size: 18px" in window.styleSheet()  # 15 px × √1.5
    assert math.isclose(window.stage_view.tokens._scale, math.sqrt(1.5))
    window.studio.apply(zoom=2.0)  # past 1.5 only the numbers grow: the rest would take their room
    assert window.heatmap._top._font.pixelSize() == round(1.5 * columns)
    assert "font-size: 18px" in window.styleSheet()


def test_f9_gives_the_stage_the_whole_width_and_back(window, qtbot):
    handle = window.windowHandle()
    width = window.stage_view.width()
    qtbot.keyClick(handle, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: not window.controls_dock.isVisible(), timeout=1000)
    qtbot.waitUntil(lambda: window.stage_view.width() > width + 200, timeout=1000)
    qtbot.keyClick(handle, Qt.Key.Key_F9)
    qtbot.waitUntil(window.controls_dock.isVisible, timeout=1000)


def test_weights_colours_stretch_to_the_largest_weight_and_back(window, qtbot):
    window.go_to_stage("weights")
    trace = settle(qtbot, window)
    top = float(np.max(np.asarray(trace.head().weights)))
    assert 0 < top < 1
    # The default: stretched to the largest weight, the bar saying so.
    assert window.studio.weights_scale == "max" and window.controls.weights_scale.currentIndex() == 1
    assert window.heatmap.color_limits() == (0.0, pytest.approx(top, abs=0))
    assert window.heatmap.color_bar_text()[1].startswith("0 … ")
    window.go_to_stage("scores")  # a signed stage keeps its ±max scale
    lo, hi = window.heatmap.color_limits()
    assert lo == -hi and hi == pytest.approx(float(np.max(np.abs(trace.head().scores))), abs=0)
    window.go_to_stage("weights")
    window.controls.weights_scale.setCurrentIndex(0)  # "0 … 1"
    assert window.studio.weights_scale == "unit" and window.heatmap.color_limits() == (0.0, 1.0)
    window.controls.weights_scale.setCurrentIndex(2)  # "per row: 0 … row max"
    assert window.studio.weights_scale == "row"
    rows = window.heatmap.color_limits().rows
    np.testing.assert_array_equal(rows[:, 1], np.max(np.asarray(trace.head().weights), axis=1))
    assert window.heatmap.color_bar_text()[1].startswith("per row")
    window.studio.apply(weights_scale="max")
    assert window.controls.weights_scale.currentIndex() == 1
    assert window.heatmap.color_limits() == (0.0, pytest.approx(top, abs=0))
