"""A matrix as a small picture of coloured cells: the thumbnails' heatmap.

A thumbnail shows colours only (no numbers, labels or colour bar), so it is an image painted
by one QPainter call rather than a pyqtgraph plot: a plot costs 25–80 ms to build and paint,
and the heads stage at 64 heads builds 16 of them at once (a 1.2 s stall); this costs well
under a millisecond. The colours are the large heatmap's (``colormaps.to_rgba``: same
colour maps, limits, masked and non-finite fills).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QWidget

from attnstudio.qt import colormaps


class MatrixPicture(QWidget):
    """``values`` coloured as the large heatmap colours them, stretched to the widget."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values = np.zeros((0, 0))
        self._scale = "signed"
        self._limits: tuple[float, float] = (-1.0, 1.0)
        self._theme = "dark"
        self.rgba = np.zeros((0, 0, 4), dtype=np.uint8)  # rows × cols × RGBA, as painted
        self._covered: np.ndarray | None = None
        self._image: QImage | None = None

    def set_matrix(self, values: np.ndarray, scale: str = "signed",
                   limits: tuple[float, float] | None = None, covered: np.ndarray | None = None) -> None:
        """Show ``values`` under ``limits`` (None: ±max|finite| for 'signed', 0 … 1 for 'unit';
        a ``colormaps.ScaleLimits`` may give one range per row). ``covered``: True where a
        lesson's question waits for its answer; those cells take the large view's plain slate."""
        v = colormaps.matrix_values(values, scale, "a matrix picture")
        cov = None if covered is None else np.asarray(covered, dtype=bool)
        lim = colormaps.default_limits(v, scale) if limits is None else limits
        if (scale == self._scale and _same(v, self._values) and _same(cov, self._covered)
                and colormaps.same_limits(lim, self._limits)):
            return  # the same picture (an edit leaves X's and often other stages' alone): no repaint
        self._values, self._scale = v, scale
        self._covered = cov
        self._limits = lim
        self._paint_colours()

    def set_theme(self, theme: str) -> None:
        if theme != self._theme:
            self._theme = theme
            self._paint_colours()

    def values(self) -> np.ndarray:
        return self._values.copy()

    def color_limits(self) -> tuple[float, float]:
        """The values at the two ends of the colour scale, as given (a ScaleLimits stays one)."""
        return self._limits

    def _paint_colours(self) -> None:
        v = self._values
        if v.size == 0:
            self.rgba, self._image = np.zeros((0, 0, 4), dtype=np.uint8), None
        else:
            rgba = colormaps.to_rgba(v, self._scale, self._limits, self._theme)
            if self._covered is not None and self._covered.shape == v.shape:
                rgba[self._covered] = (*colormaps.COVERED_FILL, 255)
            self.rgba = np.ascontiguousarray(rgba)
            rows, cols = v.shape
            # The QImage reads self.rgba's memory, which lives as long as the image is used.
            self._image = QImage(self.rgba.data, cols, rows, 4 * cols, QImage.Format.Format_RGBA8888)
        self.update()

    def paintEvent(self, ev: object) -> None:
        if self._image is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # sharp cell edges
        p.drawImage(self.rect(), self._image)
        p.end()

    def sizeHint(self) -> QSize:
        return QSize(48, 48)


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Equal arrays, NaN for NaN (or both None)."""
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f" and b.dtype.kind == "f"))
