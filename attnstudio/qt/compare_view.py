"""The comparison on screen: A (the pinned state) | B (the live one) | B − A, for the stage on
view (docs/architecture.md, "Compare").

It draws a ``studio.compare.Comparison`` the window hands it, computed from two Results:
it never subtracts. A and B share one colour scale (the weights' scale, or ±max|value| of
both for a signed stage) so that the same colour means the same number in both; the
difference has its own diverging scale centred on 0 and its own colour bar. Where there is
no difference to show, its pane says why in words.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from attnstudio.core.display import reduce_labels
from attnstudio.core.settings import Settings
from attnstudio.core.trace import HEAD_STAGES, STAGE_KEYS, STAGES, TOKEN_BY_TOKEN
from attnstudio.qt.colormaps import default_limits
from attnstudio.qt.heatmap import HeatmapView, balance_cells
from attnstudio.qt.stage_text import masked_cells, weight_limits
from attnstudio.studio.compare import Comparison

TITLES = dict(STAGES)
# The difference's cells are this much wider than A's and B's: its numbers carry a sign
# ("−.02" against ".12"), and at 1280 px with ten tokens equal cells left it no room for them.
# The rows stay level (all three panes have the same height).
DIFF_WIDER = 1.3


class Side:
    """What one side (A or B) shows besides its matrix: its token labels, settings and where
    the mask hid keys (−∞ on the masked stage as shown, or None)."""

    def __init__(self, labels: list[str], settings: Settings, minus_inf: np.ndarray | None) -> None:
        self.labels, self.settings, self.minus_inf = labels, settings, minus_inf


class CompareView(QWidget):
    """Title, what B changed, then three heatmaps: A, B and B − A (or why there is none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self)
        self.title.setObjectName("stageTitle")
        self.where = QLabel(self)
        self.where.setObjectName("muted")
        self.what = QLabel(self)
        self.what.setObjectName("stageFormula")
        # The three heatmaps are built on first use (_build): most sessions never pin a state,
        # and three pyqtgraph plots were a fifth of the window's cold start.
        self._views: list[HeatmapView] = []
        self._theme = "dark"
        self._font_scale = 1.0
        self.reason = QLabel(self)
        self.reason.setObjectName("emptyMessage")
        self.reason.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reason.setWordWrap(True)
        self.diff_stack = QStackedWidget(self)
        self.diff_stack.addWidget(self.reason)

        head_row = QHBoxLayout()
        head_row.addWidget(self.title)
        head_row.addStretch(1)
        head_row.addWidget(self.what)  # one line with the title: the cells need the height
        head_row.addSpacing(16)
        head_row.addWidget(self.where)
        panes = QHBoxLayout()
        panes.setSpacing(6)
        panes.addWidget(self.diff_stack, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(head_row)
        layout.addLayout(panes, 1)
        self._panes = panes
        self.comparison: Comparison | None = None

    def _build(self) -> list[HeatmapView]:
        if self._views:
            return self._views
        a, b, diff = self._views = [HeatmapView(self), HeatmapView(self), HeatmapView(self)]
        self._panes.insertWidget(0, a, 1)
        self._panes.insertWidget(1, b, 1)
        self.diff_stack.insertWidget(0, diff)
        self.diff_stack.setCurrentIndex(0)
        # A and B share their rows and one colour scale: the token labels are drawn once (left
        # of A) and A's colour bar is B's; at 1280 px the room that frees lets each cell print
        # its number. B − A has its own bar (its own scale, centred on 0).
        a.set_chrome(row_labels=True, colorbar=False)
        b.set_chrome(row_labels=False, colorbar=True)
        diff.set_chrome(row_labels=False, colorbar=True)
        for view in self._views:
            view.set_hover_line_visible(False)  # the panes' numbers are the point; no hover arithmetic
            view.set_theme(self._theme)
            view.set_font_scale(self._font_scale)
            view.installEventFilter(self)
        return self._views

    @property
    def a_view(self) -> HeatmapView:
        return self._build()[0]

    @property
    def b_view(self) -> HeatmapView:
        return self._build()[1]

    @property
    def diff_view(self) -> HeatmapView:
        return self._build()[2]

    def views(self) -> list[HeatmapView]:
        return list(self._build())

    def show_compare(self, cmp: Comparison, stage: str, name: str, scale: str, layer: int, head: int,
                     a: Side, b: Side, what: str, weights_scale: str = "max") -> None:
        """Draw ``cmp`` (matrix ``name`` of ``stage``, layer and head counted from 0); ``scale``
        is the stage's ("unit" for the weights, else "signed"); ``what``: what B changed."""
        self.comparison = cmp
        self.title.setText(f"Compare · {STAGE_KEYS.index(stage) + 1} · {TITLES[stage]}")
        self.where.setText(f"layer {layer + 1} · head {head + 1}")
        self.what.setText(f"B changed: {what}")
        # B's rows carry their own labels where they are not A's (another sentence).
        self.b_view.set_chrome(row_labels=a.labels != b.labels or cmp.a is None, colorbar=True)
        mats = [m for m in (cmp.a, cmp.b) if m is not None]
        limits = _shared_limits([m for m, _ in mats], scale, weights_scale)
        for view, shown, side, label in ((self.a_view, cmp.a, a, "A (pinned)"), (self.b_view, cmp.b, b, "B (now)")):
            view.setVisible(shown is not None)
            if shown is None:
                continue
            m, f = shown
            rows, cols = _labels(side, name, m, f)
            lim = limits if limits is not None else (weight_limits(m, weights_scale) if scale == "unit" else None)
            view.set_matrix(m, rows, cols, scale=scale, title=f"{label}: {_settings_line(side.settings)}",
                            limits=lim, masked=masked_cells(name, side.minus_inf, m.shape))
        if cmp.diff is None:
            self.reason.setText(f"B − A cannot be shown.\n\n{cmp.reason}")
            self.diff_stack.setCurrentIndex(1)
            return
        assert cmp.b is not None
        rows, cols = _labels(b, name, cmp.diff, cmp.b[1])
        self.diff_view.set_matrix(cmp.diff, rows, cols, scale="signed",
                                  title="B − A (orange: B higher)")
        self.diff_stack.setCurrentIndex(0)
        QTimer.singleShot(0, self._balance)

    def _balance(self) -> None:
        """Stretch the three panes so that A's and B's cells come out equally wide and the
        difference's DIFF_WIDER as wide (each pane keeps its own labels or colour bar)."""
        balance_cells(self._panes, self.views(), (1.0, 1.0, DIFF_WIDER))

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.Resize and obj in self._views:
            QTimer.singleShot(0, self._balance)
        return super().eventFilter(obj, ev)

    def set_theme(self, theme: str) -> None:
        self._theme = theme
        for v in self._views:  # not yet built: they take it when they are
            v.set_theme(theme)

    def set_font_scale(self, f: float) -> None:
        self._font_scale = f
        for v in self._views:
            v.set_font_scale(f)


def _shared_limits(mats: list[np.ndarray], scale: str, weights_scale: str) -> tuple[float, float] | None:
    """One colour range for A and B: the weights' "max" over both, ±max|finite| of both for a
    signed stage; None where each keeps its own ("unit" and "row" weights)."""
    if not mats:
        return None
    flat = np.concatenate([np.ravel(m) for m in mats])
    if scale == "unit":
        return weight_limits(flat, "max") if weights_scale == "max" else None
    return default_limits(flat, "signed")


def _labels(side: Side, name: str, m: np.ndarray, f: int) -> tuple[list[str], list[str]]:
    rows = reduce_labels(side.labels, f)
    if name in TOKEN_BY_TOKEN:
        return rows, rows
    s = side.settings
    width = s.d_k if name in HEAD_STAGES else s.d_model
    fc = max(1, -(-width // max(m.shape[1], 1)))
    return rows, reduce_labels([str(j + 1) for j in range(width)], fc)


def _settings_line(s: Settings) -> str:
    """The settings a comparison usually varies, short enough for a pane's title."""
    parts = [f"T = {s.temperature:g}", s.normalizer]
    if s.mask != "none":
        parts.append(f"{s.mask} mask")
    if not s.scale:
        parts.append("unscaled")
    return ", ".join(parts)
