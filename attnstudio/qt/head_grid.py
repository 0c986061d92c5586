"""Every head of every layer at once: a grid of thumbnails of their attention weights, one
row per layer; a click puts that layer and head on view.

The thumbnails are MatrixPictures (one image each, painted in well under a millisecond), so
a 6 × 12 model's 72 heads — or BERT-base's 144 — never stall the window. Each is coloured
over 0 … its own largest weight (under the "max" colour scale, the default), so every head's
pattern shows; the large weights stage says what the numbers are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from attnstudio.qt import colormaps
from attnstudio.qt.matrix_picture import MatrixPicture
from attnstudio.qt.stage_text import weight_limits


class HeadPicture(MatrixPicture):
    """One head's weights; clickable; outlined when it is the head on view."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.current = False
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(24, 24)

    def mousePressEvent(self, ev) -> None:
        self.clicked.emit()

    def paintEvent(self, ev: object) -> None:
        super().paintEvent(ev)
        if self.current:
            p = QPainter(self)
            p.setPen(QPen(QColor(colormaps.theme(self._theme).highlight), 4))
            p.drawRect(self.rect().adjusted(2, 2, -2, -2))
            p.end()


class HeadGrid(QWidget):
    """Layers down, heads across; ``pictures[layer][head]``."""

    head_clicked = Signal(int, int)  # layer, head

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self)
        self.title.setObjectName("stageTitle")
        self.caption = QLabel("each head's weights, coloured 0 … its largest weight (rows: queries, columns: "
                              "keys) · click one to open it", self)
        self.caption.setObjectName("muted")
        self._cells = QWidget(self)
        self._grid = QGridLayout(self._cells)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.caption)
        layout.addWidget(self._cells, 1)
        self.pictures: list[list[HeadPicture]] = []
        self._theme = "dark"

    def set_heads(self, what: str, matrices: Sequence[Sequence[np.ndarray]], current: tuple[int, int],
                  weights_scale: str = "max") -> None:
        """``matrices[layer][head]``: the host weights of each head (as the display cache holds them)."""
        self.title.setText(f"All heads · {what}")
        shape = (len(matrices), len(matrices[0]) if matrices else 0)
        if shape != (len(self.pictures), len(self.pictures[0]) if self.pictures else 0):
            self._rebuild(*shape)
        for li, row in enumerate(matrices):
            for hi, m in enumerate(row):
                pic = self.pictures[li][hi]
                pic.set_matrix(m, "unit", weight_limits(m, weights_scale))
                pic.current = (li, hi) == current
                pic.update()

    def set_theme(self, theme: str) -> None:
        self._theme = theme
        for row in self.pictures:
            for pic in row:
                pic.set_theme(theme)

    def _rebuild(self, layers: int, heads: int) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        self.pictures = []
        for i in range(self._grid.rowCount()):  # a model with more layers left its stretches
            self._grid.setRowStretch(i, 0)
        for i in range(self._grid.columnCount()):
            self._grid.setColumnStretch(i, 0)
        for hi in range(heads):
            label = QLabel(f"head {hi + 1}" if heads <= 8 else str(hi + 1), self._cells)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self._grid.addWidget(label, 0, hi + 1)
        for li in range(layers):
            label = QLabel(f"layer {li + 1}", self._cells)
            self._grid.addWidget(label, li + 1, 0)
            row = []
            for hi in range(heads):
                pic = HeadPicture(self._cells)
                pic.set_theme(self._theme)
                pic.setToolTip(f"layer {li + 1} · head {hi + 1}")
                pic.clicked.connect(lambda li=li, hi=hi: self.head_clicked.emit(li, hi))
                self._grid.addWidget(pic, li + 1, hi + 1)
                row.append(pic)
            self.pictures.append(row)
            self._grid.setRowStretch(li + 1, 1)
        for hi in range(heads):
            self._grid.setColumnStretch(hi + 1, 1)
