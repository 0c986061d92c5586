"""The line view: tokens in two columns, a line from each query (left) to each key (right),
as opaque and as wide as its attention weight, for one head or the mean of a layer's heads
(as BertViz's "head view"). Hovering a query token shows only its lines; a click keeps it.

It draws the weights it is given (core/head_lines.py: ``line_weights``), painted with one
QPainter pass: no web view, no plot per line. docs/architecture.md, "Real models".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from attnstudio.qt import colormaps

MAX_TOKENS = 64  # beyond this the lines are a grey fog and the labels overlap
MIN_WEIGHT = 0.01  # of the largest weight shown: fainter lines are not drawn
LINE_COLOURS = {"dark": "#4fc3ff", "light": "#0050c8"}
FONT_PX = 18
MAX_ROW_PX = 34


class LineCanvas(QWidget):
    """The two token columns and the lines between them."""

    focus_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.labels: list[str] = []
        self.weights = np.zeros((0, 0))
        self.hovered = -1
        self.pinned = -1
        self._theme = "dark"
        self._font = QFont(self.font())
        self._font.setPixelSize(FONT_PX)
        self._font.setBold(True)
        self.setMinimumSize(300, 200)

    # ---- what is drawn (the tests read these) -----------------------------------------------
    @property
    def focus(self) -> int:
        """The query row whose lines alone are drawn (-1: every row's)."""
        return self.hovered if self.hovered >= 0 else self.pinned

    def row_lines(self, row: int) -> np.ndarray:
        """The weights of query ``row``'s lines, key by key: what their opacity and width show."""
        return self.weights[row].copy()

    def strongest(self) -> float:
        """The weight drawn fully opaque and widest: the largest of the lines drawn (the focused
        row's alone, so that one query's lines are never all faint)."""
        if self.weights.size == 0:
            return 0.0
        drawn = self.weights[self.focus] if self.focus >= 0 else self.weights
        return float(drawn.max(initial=0.0))

    def line_style(self, weight: float, top: float | None = None) -> tuple[int, float]:
        """(alpha 0–255, width px) of a line of ``weight``: both ∝ weight / ``strongest()``
        (``top``: that value, when the caller has it already)."""
        top = self.strongest() if top is None else top
        share = weight / top if top > 0 else 0.0
        return round(255 * share), 0.5 + 6.0 * share

    def set_lines(self, labels: Sequence[str], weights: np.ndarray) -> None:
        self.labels = list(labels)
        self.weights = np.where(np.isfinite(weights), weights, 0.0)
        if self.pinned >= len(self.labels):
            self.pinned = -1
        self.hovered = -1
        self.update()

    def set_theme(self, theme: str) -> None:
        self._theme = theme
        self.update()

    def set_pinned(self, row: int) -> None:
        self.pinned = row if 0 <= row < len(self.labels) else -1
        self.focus_changed.emit(self.focus)
        self.update()

    # ---- geometry ------------------------------------------------------------------------------
    def _rows(self) -> tuple[float, float]:
        """(top, row height) of the token columns."""
        n = max(1, len(self.labels))
        h = min(MAX_ROW_PX, (self.height() - 16) / n)
        top = (self.height() - h * n) / 2
        return top, h

    def _columns(self) -> tuple[float, float]:
        """x of the left column's right edge and of the right column's left edge."""
        fm = QFontMetrics(self._font)
        label = max((fm.horizontalAdvance(t) for t in self.labels), default=0) + 12
        width = min(self.width() * 0.8, 2 * label + 520)
        left = (self.width() - width) / 2 + label
        return left, left + width - 2 * label

    def row_at(self, x: float, y: float) -> int:
        """The query row under (x, y) in the left column, or -1."""
        top, h = self._rows()
        left, _right = self._columns()
        i = int((y - top) // h) if h > 0 else -1
        return i if x <= left + 8 and 0 <= i < len(self.labels) else -1

    # ---- painting and the mouse ------------------------------------------------------------------
    def paintEvent(self, ev: object) -> None:
        th = colormaps.theme(self._theme)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(th.background))
        n = len(self.labels)
        if n == 0:
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        top, h = self._rows()
        left, right = self._columns()
        line = QColor(LINE_COLOURS.get(self._theme, "#4fc3ff"))
        focus = self.focus
        rows = [focus] if focus >= 0 else range(n)
        strongest = self.strongest()  # once a paint, not once a line (64 × 64 reductions)
        for i in rows:
            y0 = top + (i + 0.5) * h
            for j in range(n):
                alpha, width = self.line_style(float(self.weights[i, j]), strongest)
                if alpha < 255 * MIN_WEIGHT:
                    continue
                c = QColor(line)
                c.setAlpha(alpha)
                p.setPen(QPen(c, width))
                p.drawLine(QPointF(left + 6, y0), QPointF(right - 6, top + (j + 0.5) * h))
        font = QFont(self._font)
        font.setPixelSize(max(9, min(FONT_PX, round(h * 0.72))))
        p.setFont(font)
        for i, label in enumerate(self.labels):
            y = top + i * h
            for x0, align in ((0.0, Qt.AlignmentFlag.AlignRight), (right, Qt.AlignmentFlag.AlignLeft)):
                is_focus = x0 == 0.0 and i == focus
                p.setPen(QColor(th.highlight if is_focus else th.foreground))
                box = QRectF(x0, y, left - 2, h) if x0 == 0.0 else QRectF(right + 2, y, self.width() - right, h)
                p.drawText(box, int(align | Qt.AlignmentFlag.AlignVCenter), label)
        p.end()

    def mouseMoveEvent(self, ev) -> None:
        row = self.row_at(ev.position().x(), ev.position().y())
        if row != self.hovered:
            self.hovered = row
            self.focus_changed.emit(self.focus)
            self.update()

    def leaveEvent(self, ev) -> None:
        if self.hovered != -1:
            self.hovered = -1
            self.focus_changed.emit(self.focus)
            self.update()

    def mousePressEvent(self, ev) -> None:
        row = self.row_at(ev.position().x(), ev.position().y())
        self.set_pinned(-1 if row == self.pinned else row)


class LineView(QWidget):
    """The canvas with its caption and the choice of one head or the mean of the layer's heads."""

    mode_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self)
        self.title.setObjectName("stageTitle")
        self.averaged = QCheckBox("mean of heads", self)
        self.averaged.setToolTip("Draw (1/h)·Σ A_h, the mean of every head's weights in this layer")
        self.averaged.toggled.connect(lambda _on: self.mode_changed.emit())
        self.caption = QLabel(self)
        self.caption.setObjectName("muted")
        self.canvas = LineCanvas(self)
        self.canvas.focus_changed.connect(lambda _row: self._say())
        under = QHBoxLayout()  # the choice under the title: a long title must not hide it
        under.addWidget(self.averaged)
        under.addSpacing(12)
        under.addWidget(self.caption, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(under)
        layout.addWidget(self.canvas, 1)
        self._what = ""

    def set_lines(self, what: str, labels: Sequence[str], weights: np.ndarray) -> None:
        """``what``: which weights ("all-MiniLM-L6-v2 · layer 4 · head 2"); ``weights`` N × N."""
        self._what = what
        if len(labels) > MAX_TOKENS:
            self.title.setText(f"Lines · {what}")
            self.caption.setText(f"The line view draws up to {MAX_TOKENS} tokens; this sentence has "
                                 f"{len(labels):,}. The weights stage shows them all.")
            self.canvas.set_lines([], np.zeros((0, 0)))
            return
        self.title.setText(f"Lines · {what}")
        self.canvas.set_lines(labels, weights)
        self._say()

    def _say(self) -> None:
        c = self.canvas
        top = c.strongest()
        if c.focus >= 0 and c.labels:
            row = c.weights[c.focus]
            best = int(np.argmax(row))
            what = (f"{c.labels[c.focus]} → most to {c.labels[best]} ({row[best]:.3f})"
                    + (" · click again: every line" if c.focus == c.pinned else " · click to keep"))
        else:
            what = "hover a query (left): only its lines"
        self.caption.setText(f"queries → keys · line ∝ weight (boldest {top:.3f}) · {what}")

    def set_theme(self, theme: str) -> None:
        self.canvas.set_theme(theme)
