"""Row sums and row entropy beside the weights: is each row a distribution, and how sharp?

Σ_j a_ij should be 1 for every row; H_i = −Σ_j a_ij log₂ a_ij (bits) runs from 0 (all weight
on one key: too sharp) to log₂ N (uniform: too diffuse). Both come from the trace
(HeadTrace.row_sums / row_entropy); this widget only draws them, one line per row while
rows fit, and a summary when they do not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from attnstudio.core.numbers import format_cell, format_column
from attnstudio.qt import theme as _theme

MIN_ROW_PX = 16.0


def _finite_range(v: np.ndarray) -> tuple[float, float, float]:
    """(min, max, mean) of the finite entries; NaN for each when there is none (an overflowed
    naive softmax), without NumPy's all-NaN warnings."""
    finite = v[np.isfinite(v)]
    if not finite.size:
        return math.nan, math.nan, math.nan
    return float(finite.min()), float(finite.max()), float(finite.mean())


class WeightsSide(QWidget):
    """Σ row and H (bits) per query row, with a bar of H / log₂ N."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._labels: list[str] = []
        self._sums = np.zeros(0)
        self._entropy = np.zeros(0)
        self._max_bits = 1.0
        self._highlight = -1
        self._scale = 1.0
        self._colors = _theme.colors("dark")
        self._geometry: tuple[float, float] | None = None  # centre of row 0, row pitch (px)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

    def set_rows(self, labels: Sequence[str], sums: np.ndarray, entropy: np.ndarray, n_keys: int) -> None:
        """One entry per query row; ``n_keys`` sets the scale of H (log₂ n_keys bits at most)."""
        self._labels = list(labels)
        self._sums = np.asarray(sums, dtype=np.float64)
        self._entropy = np.asarray(entropy, dtype=np.float64)
        self._max_bits = math.log2(n_keys) if n_keys > 1 else 1.0
        self.update()

    def set_row_geometry(self, geometry: tuple[float, float] | None) -> None:
        """Align rows with a heatmap: (y of row 0's centre, pixels per row); None: own layout."""
        if geometry != self._geometry:
            self._geometry = geometry
            self.update()

    def set_highlight(self, row: int) -> None:
        self._highlight = row
        self.update()

    def set_theme(self, name: str) -> None:
        self._colors = _theme.colors(name)
        self.update()

    def set_font_scale(self, factor: float) -> None:
        self._scale = factor
        self.updateGeometry()
        self.update()

    def lines(self) -> list[str]:
        """What the widget shows, as text (tests read it; it is also the summary)."""
        out = [f"{lab}: Σ = {format_column(s, 3)}, H = {format_cell(h)} bits"
               for lab, s, h in zip(self._labels, self._sums, self._entropy)]
        return out

    def summary(self) -> str:
        if not self._sums.size:
            return ""
        s, h = self._sums, self._entropy
        (s_lo, s_hi, _), (h_lo, h_hi, h_mean) = _finite_range(s), _finite_range(h)
        bad = int(np.count_nonzero(~np.isfinite(s)))
        text = (f"{s.size:,} rows · Σ from {format_column(s_lo, 3)} to {format_column(s_hi, 3)}\n"
                f"H from {format_cell(h_lo)} to {format_cell(h_hi)} bits (mean {format_cell(h_mean)}; "
                f"uniform = {format_cell(self._max_bits)})")
        if bad:
            text += f"\n{bad:,} row{' is' if bad == 1 else 's are'} not finite (overflow)"
        return text

    def sizeHint(self) -> QSize:
        return QSize(round(200 * self._scale), 300)

    def _font(self, px: float, bold: bool = False) -> QFont:
        f = QFont(self.font())
        f.setPixelSize(max(8, round(px)))
        f.setBold(bold)
        return f

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        c = self._colors
        w, h = self.width(), self.height()
        head_f = self._font(15 * self._scale, bold=True)
        head_h = QFontMetricsF(head_f).height() + 6
        n = len(self._sums)
        # Rows level with the heatmap's when it says where they are, else our own pitch.
        row_h = min((h - head_h) / max(n, 1), 34 * self._scale)
        first = head_h + row_h / 2
        if self._geometry is not None and n:
            first = self._geometry[0]
            row_h = self._geometry[1] if n > 1 else row_h
        top = max(0.0, first - row_h / 2 - head_h)
        p.setFont(head_f)
        p.setPen(QColor(c["foreground"]))
        p.drawText(QRectF(4, top, w - 8, head_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                   "Σ row    H (bits)")
        if not n:
            return
        if row_h < MIN_ROW_PX * self._scale:
            p.setFont(self._font(14 * self._scale))
            p.drawText(QRectF(4, top + head_h, w - 8, h - head_h), Qt.TextFlag.TextWordWrap, self.summary())
            return
        f = self._font(min(18 * self._scale, row_h * 0.62))
        p.setFont(f)
        fm = QFontMetricsF(f)
        col_sum = 4.0
        col_h = col_sum + fm.horizontalAdvance("0.000") + 14
        bar_x = col_h + fm.horizontalAdvance("00.00") + 8
        for i in range(n):
            y = first - row_h / 2 + i * row_h
            if i == self._highlight:
                p.fillRect(QRectF(0, y, w, row_h), QColor(c["panel"]))
            s, e = float(self._sums[i]), float(self._entropy[i])
            ok = math.isfinite(s) and abs(s - 1.0) < 1e-6
            p.setPen(QColor(c["foreground"] if ok else c["error"]))
            p.drawText(QRectF(col_sum, y, col_h - col_sum, row_h), Qt.AlignmentFlag.AlignVCenter, format_column(s, 3))
            p.setPen(QColor(c["foreground"]))
            p.drawText(QRectF(col_h, y, bar_x - col_h, row_h), Qt.AlignmentFlag.AlignVCenter, format_cell(e))
            frac = min(max(e / self._max_bits, 0.0), 1.0) if math.isfinite(e) else 0.0
            bar_w = max(0.0, (w - bar_x - 6) * frac)
            p.fillRect(QRectF(bar_x, y + row_h * 0.25, bar_w, row_h * 0.5), QColor(c["accent"]))
