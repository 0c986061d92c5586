"""What a new trace redraws, on which thread, and when: the stage on view first, views that
cannot be seen not at all until they can, pictures that did not change not again, and the
GPU tried off the UI thread after the window's first paint."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QEvent, QObject
from studio_helpers import make_window, settle

from attnstudio.core import backends
from attnstudio.core.explain import token_view
from attnstudio.core.settings import Settings
from attnstudio.core.trace import STAGE_MATRIX
from attnstudio.qt import compute_worker
from attnstudio.qt.app import create_window
from attnstudio.qt.latency import _sentence
from attnstudio.qt.matrix_picture import MatrixPicture
from attnstudio.studio.display_cache import DisplayCache
from attnstudio.studio.model import StudioModel


def _bump_w_q(w, by: float = 0.25) -> None:
    w.studio.set_weight_cell(0, 0, "w_q", 0, 0, float(w.studio.matrix("w_q")[0, 0]) + by)


def _thumbs_show(w) -> None:
    """Every thumbnail shows the current result's matrix of its stage."""
    res = w.result
    for key, thumb in w.stage_strip.thumbs.items():
        if thumb.heatmap is None:
            continue
        want = res.display.get(0, 0, STAGE_MATRIX[key][0])[0]
        np.testing.assert_array_equal(thumb.heatmap.values(), want, err_msg=key)


def test_a_large_trace_is_computed_and_reduced_off_the_ui_thread_stage_first(qtbot, monkeypatch):
    w = make_window(qtbot)
    ui = threading.get_ident()
    computed, reduced = [], []
    compute, reduce = compute_worker.compute_result, DisplayCache._reduce

    def recording_compute(inputs, *args, **kwargs):
        computed.append(threading.get_ident())
        return compute(inputs, *args, **kwargs)

    def recording_reduce(self, a):
        reduced.append(threading.get_ident())
        return reduce(self, a)

    monkeypatch.setattr(compute_worker, "compute_result", recording_compute)
    monkeypatch.setattr(DisplayCache, "_reduce", recording_reduce)
    seen = []  # at each result: was the rest already filled?
    w.compute.result.connect(lambda res: seen.append(w._ready()))
    w.go_to_stage("weights")
    w.studio.set_sentence(_sentence(600))  # 600 > SYNC_MAX_TOKENS; shown as 200 × 200 blocks
    settle(qtbot, w, timeout=60_000)
    _bump_w_q(w)
    tr = settle(qtbot, w, timeout=60_000)
    assert tr.n == 600 and w.stage_view.factor == 3
    assert computed and ui not in computed  # never on the UI thread at this size
    assert reduced and ui not in reduced  # nor any reduction for display
    assert seen and not any(seen)  # the stage was drawn before the thumbnails' matrices were ready
    np.testing.assert_array_equal(w.heatmap.values(), w.result.display.get(0, 0, "weights")[0])
    _thumbs_show(w)


def test_a_picture_that_did_not_change_is_not_painted_again(qtbot, monkeypatch):
    w = make_window(qtbot)
    w.go_to_stage("weights")
    settle(qtbot, w)
    painted = []
    paint = MatrixPicture._paint_colours
    monkeypatch.setattr(MatrixPicture, "_paint_colours", lambda self: (painted.append(self), paint(self)))
    _bump_w_q(w)
    settle(qtbot, w)
    thumbs = {key: t.heatmap for key, t in w.stage_strip.thumbs.items()}
    # W_Q changes Q and all after it; X (the embeddings) and K, V stay as they were.
    assert thumbs["embeddings"] not in painted
    assert thumbs["scores"] in painted and thumbs["weights"] in painted
    _thumbs_show(w)


def test_hidden_thumbnails_and_token_view_catch_up_when_shown(qtbot, monkeypatch):
    w = make_window(qtbot)
    w.go_to_stage("weights")
    settle(qtbot, w)
    w.show_token_view(2)  # selects row 2: its token's view comes to the front
    settle(qtbot, w)
    assert w.dock_in_front(w.token_dock)
    views = []
    set_view = type(w.token_panel).set_view
    monkeypatch.setattr(type(w.token_panel), "set_view", lambda self, v: (views.append(v), set_view(self, v)))
    painted = []
    paint = MatrixPicture._paint_colours
    monkeypatch.setattr(MatrixPicture, "_paint_colours", lambda self: (painted.append(self), paint(self)))

    w.show_dock(w.controls_dock)  # the token view goes behind the Settings tab
    qtbot.waitUntil(lambda: not w.dock_in_front(w.token_dock))
    w.studio.apply(zoom=1.5)  # zoomed for the hall: the thumbnails are hidden
    _bump_w_q(w)
    tr = settle(qtbot, w)
    assert views == [] and painted == []  # neither was redrawn while it could not be seen

    w.show_dock(w.token_dock)
    qtbot.waitUntil(lambda: len(views) == 1)
    want = token_view(tr, 0, 0, 2)
    np.testing.assert_array_equal(w.token_panel.view.weights, want.weights)
    np.testing.assert_array_equal(w.token_panel.view.q, want.q)
    w.studio.apply(zoom=1.0)
    qtbot.waitUntil(lambda: bool(painted))
    _thumbs_show(w)


class _Paints(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_the_gpu_is_tried_on_a_worker_after_the_first_paint(qtbot, monkeypatch):
    ui = threading.get_ident()
    paints = _Paints()
    tried = []  # (thread, paints before it)

    def no_cupy():
        tried.append((threading.get_ident(), paints.count))
        raise ImportError("No module named 'cupy'")

    backends.cupy_status.cache_clear()  # asked once per process: make this window ask
    monkeypatch.setattr(backends, "_import_cupy", no_cupy)
    try:
        w = create_window(model=StudioModel(settings=Settings(backend="cupy")))
        w.document.interactive = False
        qtbot.addWidget(w)
        w.installEventFilter(paints)
        assert w.compute.busy and w.trace is None  # held: nothing tried while the window is built
        w.resize(1280, 720)
        w.show()
        qtbot.waitUntil(lambda: w.trace is not None and w.idle, timeout=20_000)
    finally:
        backends.cupy_status.cache_clear()
    assert len(tried) == 1
    thread, painted_before = tried[0]
    assert thread != ui and painted_before >= 1
    assert w.trace.backend.name == "numpy" and "CuPy not installed" in w.backend_label.text()


def test_heatmaps_built_on_first_use_take_the_theme_and_zoom_of_then(qtbot):
    w = make_window(qtbot)
    settle(qtbot, w)
    w.studio.apply(theme="light", zoom=1.25)
    w.go_to_stage("projections")  # K's and V's heatmaps are made now
    tr = settle(qtbot, w)
    w.toggle_pin()  # and the comparison's three
    w.studio.set_weight_cell(0, 0, "w_q", 0, 0, 0.5)
    settle(qtbot, w)
    qtbot.waitUntil(lambda: w.comparing)
    for view in (w.heatmap, w.stage_view.k_view, w.stage_view.v_view, *w.compare_view.views()):
        assert view._theme.name == "light" and view._font_scale == 1.25
    np.testing.assert_array_equal(w.stage_view.k_view.values(), np.asarray(tr.head().k))
    np.testing.assert_array_equal(w.stage_view.v_view.values(), np.asarray(tr.head().v))


def test_k_and_v_heatmaps_are_built_in_idle_time_then_follow_the_theme(qtbot, monkeypatch):
    from attnstudio.qt import stage_view

    monkeypatch.setattr(stage_view, "PREBUILD_AFTER_MS", 50)  # instead of after a cold start's paint
    w = make_window(qtbot)
    settle(qtbot, w)
    assert w.stage_view.stage != "projections"
    qtbot.waitUntil(lambda: len(w.stage_view._kv_views) == 2, timeout=10_000)  # without a visit
    assert not any(v.isVisible() for v in w.stage_view._kv_views)
    w.studio.apply(theme="light")
    w.go_to_stage("projections")
    tr = settle(qtbot, w)
    assert [v._theme.name for v in w.stage_view.views()] == ["light"] * 3
    np.testing.assert_array_equal(w.stage_view.k_view.values(), np.asarray(tr.head().k))
    np.testing.assert_array_equal(w.stage_view.v_view.values(), np.asarray(tr.head().v))
