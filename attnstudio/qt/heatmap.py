"""A labelled heatmap of one matrix: colours, the numbers in the cells, token axes, a colour bar.

Every graphics item is created once in ``__init__`` and updated in place afterwards:
adding and removing items re-parents QGraphicsObject subclasses, which is what aborts
PySide6 6.12 (DESIGN §9). The numbers are drawn by one item in one paint pass, only while
cells are big enough to read (one TextItem per cell cost 2.8 s at 64×64, DESIGN §9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QStaticText
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from attnstudio.qt import colormaps

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

MIN_CELL_PX = 22.0  # below this cell height numbers are not drawn
HOVER_FONT_PX = 18.0  # the arithmetic line under a heatmap
MIN_FONT_PX = 11.0  # numbers smaller than this are unreadable: hide them instead
BASE_FONT_PX = 22.0  # cell numbers at font scale 1 when the cell is large enough
AXIS_FONT_PX = 17.0
LABEL_CHARS = 14  # longer token labels are elided


def format_cell(v: float) -> str:
    """A cell's text: two decimals, a real minus sign, −∞ / ∞ / NaN spelled out."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "−∞" if v < 0 else "∞"
    v += 0.0  # −0.0 reads as 0.00
    text = f"{v:.2f}" if abs(v) < 1e4 else f"{v:.1e}"
    return text.replace("-", "−")


def _elide(label: str, chars: int = LABEL_CHARS) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "…"


def _px_font(px: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(max(1, round(px)))
    f.setBold(bold)
    return f


class _CellLayer(pg.GraphicsObject):
    """Hatching of special cells and every cell's number, painted in one pass.

    Painting happens in device pixels (the transform is reset) so that hatching and text keep
    their size whatever the zoom; the cell geometry comes from the painter's transform.
    """

    def __init__(self) -> None:
        super().__init__()
        self._values = np.zeros((0, 0))
        self._dark = np.zeros((0, 0), dtype=bool)
        self._masked_runs: list[QRectF] = []
        self._warn_runs: list[QRectF] = []
        self._numbers = True
        self._font_scale = 1.0
        self._cache: dict[tuple[str, int], QStaticText] = {}
        self._masked_brush = QBrush(QColor(*colormaps.MASKED_HATCH), Qt.BrushStyle.BDiagPattern)
        self._warn_brush = QBrush(QColor(*colormaps.WARN_HATCH), Qt.BrushStyle.DiagCrossPattern)

    def boundingRect(self) -> QRectF:
        rows, cols = self._values.shape
        return QRectF(0, 0, cols, rows)

    def set_cells(self, values: np.ndarray, rgba: np.ndarray) -> None:
        if values.shape != self._values.shape:
            self.prepareGeometryChange()
        self._values = values
        self._dark = colormaps.dark_text_on(rgba)
        self._masked_runs = _runs(np.isneginf(values))
        self._warn_runs = _runs(np.isnan(values) | np.isposinf(values))
        self.update()

    def set_numbers(self, on: bool) -> None:
        self._numbers = on
        self.update()

    def set_font_scale(self, factor: float) -> None:
        self._font_scale = factor
        self._cache.clear()
        self.update()

    def font_px(self, cell_w: float, cell_h: float) -> float:
        """The pixel size of the numbers in a cell_w × cell_h cell, 0 when they do not fit."""
        if not self._numbers or cell_h < MIN_CELL_PX or self._values.size == 0:
            return 0.0
        px = min(BASE_FONT_PX * self._font_scale, cell_h * 0.6)
        widest = max(len(format_cell(float(v))) for v in self._sample())
        # A digit is about 0.6 em wide in the default sans fonts; measure to be sure.
        fm = QFontMetricsF(_px_font(px))
        text_w = fm.horizontalAdvance("8" * widest)
        if text_w > cell_w - 6:
            px *= (cell_w - 6) / text_w
        return px if px >= MIN_FONT_PX else 0.0

    def _sample(self) -> np.ndarray:
        v = self._values
        finite = v[np.isfinite(v)]
        extremes = [finite.min(), finite.max()] if finite.size else []
        return np.array([*extremes, -np.inf if np.isneginf(v).any() else 0.0])

    def paint(self, p: QPainter, *args: object) -> None:
        if self._values.size == 0:
            return
        t = p.transform()
        p.save()
        p.resetTransform()
        p.setPen(Qt.PenStyle.NoPen)
        for brush, runs in ((self._masked_brush, self._masked_runs), (self._warn_brush, self._warn_runs)):
            if runs:
                p.setBrush(brush)
                p.drawRects([t.mapRect(r) for r in runs])
        origin = t.map(QPointF(0, 0))
        step = t.map(QPointF(1, 1)) - origin
        cell_w, cell_h = abs(step.x()), abs(step.y())
        px = self.font_px(cell_w, cell_h)
        if px > 0:
            self._paint_numbers(p, origin, step, round(px))
        p.restore()

    def _paint_numbers(self, p: QPainter, origin: QPointF, step: QPointF, px: int) -> None:
        p.setFont(_px_font(px))
        black, white = QColor(0, 0, 0), QColor(255, 255, 255)
        rows, cols = self._values.shape
        for r in range(rows):
            y = origin.y() + (r + 0.5) * step.y()
            for c in range(cols):
                text = format_cell(float(self._values[r, c]))
                st = self._static(text, px)
                size = st.size()
                x = origin.x() + (c + 0.5) * step.x()
                corner = QPointF(x - size.width() / 2, y - size.height() / 2)
                if not math.isfinite(self._values[r, c]):
                    # A plain patch under the label keeps "−∞" / "NaN" legible over the hatching.
                    fill = colormaps.MASKED_FILL if self._values[r, c] == -math.inf else colormaps.WARN_FILL
                    p.fillRect(QRectF(corner, size).adjusted(-4, -1, 4, 1), QColor(*fill))
                p.setPen(black if self._dark[r, c] else white)
                p.drawStaticText(corner, st)

    def _static(self, text: str, px: int) -> QStaticText:
        key = (text, px)
        st = self._cache.get(key)
        if st is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            st = QStaticText(text)
            st.setTextFormat(Qt.TextFormat.PlainText)
            st.prepare(font=_px_font(px))
            self._cache[key] = st
        return st


class _Highlights(pg.GraphicsObject):
    """Outlines around whole rows and single cells, in a pen readable on any cell colour."""

    def __init__(self) -> None:
        super().__init__()
        self._shape = (0, 0)
        self._rects: list[QRectF] = []
        self._colors = ("#ffd400", "#000000")

    def boundingRect(self) -> QRectF:
        rows, cols = self._shape
        return QRectF(-0.5, -0.5, cols + 1, rows + 1)

    def set_colors(self, main: str, edge: str) -> None:
        self._colors = (main, edge)
        self.update()

    def set_outlines(self, shape: tuple[int, int], rows: Sequence[int], cells: Sequence[tuple[int, int]]) -> None:
        if shape != self._shape:
            self.prepareGeometryChange()
        self._shape = shape
        n_rows, n_cols = shape
        rects = [QRectF(0, r, n_cols, 1) for r in rows if 0 <= r < n_rows]
        rects += [QRectF(c, r, 1, 1) for r, c in cells if 0 <= r < n_rows and 0 <= c < n_cols]
        self._rects = rects
        self.update()

    def paint(self, p: QPainter, *args: object) -> None:
        if not self._rects:
            return
        t = p.transform()
        p.save()
        p.resetTransform()
        p.setBrush(Qt.BrushStyle.NoBrush)
        device = [t.mapRect(r).adjusted(1.5, 1.5, -1.5, -1.5) for r in self._rects]
        for color, width in ((self._colors[1], 7.0), (self._colors[0], 3.5)):
            p.setPen(QPen(QColor(color), width))
            p.drawRects(device)
        p.restore()


class _TokenAxis(pg.AxisItem):
    """An axis that writes one token label per row or column, horizontal when the labels
    fit and at 45° when they do not (top axis), eliding long tokens."""

    def __init__(self, orientation: str) -> None:
        # AxisItem.__init__ resizes the item, which calls our overrides: set state first.
        self._labels: list[str] = []
        self._font = _px_font(AXIS_FONT_PX)
        self._color = QColor("#eeeeee")
        self._was_rotated: bool | None = None
        self._ready = False
        super().__init__(orientation)
        self._ready = True
        self.setTicks([[], []])

    def set_labels(self, labels: Sequence[str]) -> None:
        self._labels = [_elide(str(s)) for s in labels]
        self._relayout()

    def set_font_px(self, px: float) -> None:
        self._font = _px_font(px)
        self._relayout()

    def set_color(self, color: str) -> None:
        self._color = QColor(color)
        self.setPen(pg.mkPen(color))
        self.setTextPen(pg.mkPen(color))
        self.picture = None
        self.update()

    def _label_width(self) -> float:
        fm = QFontMetricsF(self._font)
        return max((fm.horizontalAdvance(s) for s in self._labels), default=0.0)

    def _relayout(self) -> None:
        fm = QFontMetricsF(self._font)
        if self.orientation == "left":
            self.setWidth(int(self._label_width() + 14))
        else:
            w = self._label_width()
            self.setHeight(int(w * math.sqrt(0.5) + fm.height() + 10) if self._rotated() else int(fm.height() + 12))
        self.picture = None
        self.update()

    def _cell_px(self) -> float:
        view = self.linkedView()
        n = max(1, len(self._labels))
        if view is None:
            return 0.0
        size = view.boundingRect().width() if self.orientation == "top" else view.boundingRect().height()
        return size / n

    def _rotated(self) -> bool:
        return self._label_width() + 6 > self._cell_px()

    def resizeEvent(self, ev: object = None) -> None:
        super().resizeEvent(ev)
        if self._ready and self.orientation == "top":
            want_rot = self._rotated()
            if want_rot != self._was_rotated:
                self._was_rotated = want_rot
                self._relayout()

    def linkedViewChanged(self, view: object, newRange: object = None) -> None:
        super().linkedViewChanged(view, newRange)
        if self.orientation == "top":
            self.resizeEvent()

    def drawPicture(self, p: QPainter, axisSpec: object, tickSpecs: object, textSpecs: object) -> None:
        view = self.linkedView()
        if view is None or not self._labels:
            return
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        p.setFont(self._font)
        p.setPen(self._color)
        fm = QFontMetricsF(self._font)
        bounds = self.boundingRect()
        if self.orientation == "left":
            pitch = self._cell_px()
            every = max(1, math.ceil(fm.height() / max(pitch, 1e-9)))
            for i in range(0, len(self._labels), every):
                y = self.mapFromScene(view.mapViewToScene(QPointF(0, i + 0.5))).y()
                rect = QRectF(0, y - fm.height() / 2, bounds.width() - 8, fm.height())
                p.drawText(rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), self._labels[i])
            return
        rotated = self._rotated()
        pitch = self._cell_px()
        need = fm.height() * (math.sqrt(2) if rotated else 0) or (self._label_width() + 6)
        every = max(1, math.ceil(need / max(pitch, 1e-9)))
        base = bounds.bottom() - 6
        for i in range(0, len(self._labels), every):
            x = self.mapFromScene(view.mapViewToScene(QPointF(i + 0.5, 0))).x()
            text = self._labels[i]
            if rotated:
                p.save()
                p.translate(x, base)
                p.rotate(-45)
                p.drawText(QPointF(0, fm.ascent() / 2 - fm.descent()), text)
                p.restore()
            else:
                w = fm.horizontalAdvance(text)
                p.drawText(QPointF(x - w / 2, base - fm.descent()), text)

    def overflow_px(self) -> float:
        """How far rotated labels reach past the plot's right edge (0 when horizontal)."""
        if self.orientation != "top" or not self._labels or not self._rotated():
            return 0.0
        fm = QFontMetricsF(self._font)
        return max(0.0, self._label_width() * math.sqrt(0.5) + fm.height() - self._cell_px() / 2)

    def boundingRect(self) -> QRectF:
        rect = super().boundingRect()
        if self.orientation == "top" and self._labels:
            # Rotated labels of the last columns lean past the plot's right edge.
            rect = rect.adjusted(0, 0, self._label_width() * math.sqrt(0.5) + 20, 0)
        return rect


def _runs(mask: np.ndarray) -> list[QRectF]:
    """The True cells of a boolean matrix as one rectangle per horizontal run (few for masks)."""
    rects: list[QRectF] = []
    if not mask.any():
        return rects
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    for r, c in zip(*np.nonzero(edges == 1)):
        end = np.argmax(edges[r, c:] == -1) + c
        rects.append(QRectF(float(c), float(r), float(end - c), 1.0))
    return rects


class _MouseWatcher(QObject):
    """Reads the plot viewport's own mouse events.

    pyqtgraph's scene drops moves that come sooner than 10 ms after the last one, so the
    final position of a quick movement could be lost and the hover line would be stale;
    the viewport's events are complete and ordered.
    """

    def __init__(self, view: HeatmapView) -> None:
        super().__init__(view)
        self._view = view
        self._pressed = (-1, -1)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        kind = ev.type()
        view = self._view
        if kind == QEvent.Type.MouseMove:
            view._set_hovered(*view._cell_at_viewport(ev.position()))  # type: ignore[attr-defined]
        elif kind == QEvent.Type.Leave:
            view._set_hovered(-1, -1)
        elif kind == QEvent.Type.MouseButtonPress and ev.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            self._pressed = view._cell_at_viewport(ev.position())  # type: ignore[attr-defined]
        elif kind == QEvent.Type.MouseButtonRelease and ev.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            cell = view._cell_at_viewport(ev.position())  # type: ignore[attr-defined]
            if cell == self._pressed and cell[0] >= 0:
                view.cellClicked.emit(*cell)
            self._pressed = (-1, -1)
        return False


class HeatmapView(QWidget):
    """One matrix as a heatmap, with token labels, cell numbers, a colour bar and a hover line."""

    cellHovered = Signal(int, int)  # noqa: N815  (Qt signal naming, part of the API)
    cellClicked = Signal(int, int)  # noqa: N815

    def __init__(self, parent: QWidget | None = None, compact: bool = False) -> None:
        super().__init__(parent)
        self._compact = compact
        self._values = np.zeros((0, 0))
        self._scale = "signed"
        self._limits = (-1.0, 1.0)
        self._hovered = (-1, -1)
        self._font_scale = 1.0
        self._theme = colormaps.theme("dark")
        self._rows_hl: tuple[int, ...] = ()
        self._row_labels: list[str] = []
        self._col_labels: list[str] = []
        self._cells_hl: tuple[tuple[int, int], ...] = ()

        self._title = QLabel(self)
        self._note = QLabel(self)
        self._hover = QLabel(self)
        for label in (self._title, self._note, self._hover):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
        self._hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._hover.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

        self._glw = pg.GraphicsLayoutWidget(self)
        self._glw.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        axes = {"left": _TokenAxis("left"), "top": _TokenAxis("top")}
        self._plot = self._glw.addPlot(row=0, col=0, axisItems=axes)
        self._left, self._top = axes["left"], axes["top"]
        self._plot.hideButtons()
        self._plot.setMenuEnabled(False)
        self._plot.hideAxis("bottom")
        self._plot.showAxis("top")
        self._vb = self._plot.getViewBox()
        self._vb.setMouseEnabled(x=False, y=False)
        self._vb.invertY(True)
        self._vb.setDefaultPadding(0.0)
        self._image = pg.ImageItem(axisOrder="row-major")
        self._cells = _CellLayer()
        self._marks = _Highlights()
        self._plot.addItem(self._image)
        self._plot.addItem(self._cells)
        self._plot.addItem(self._marks)
        self._cells.setZValue(1)
        self._marks.setZValue(2)
        self._bar: pg.ColorBarItem | None = None
        self._bar_widths = (0.0, 0.0)  # the bar's (minimum, maximum) width while it is hidden
        if compact:
            self._plot.hideAxis("left")
            self._plot.hideAxis("top")
            self._cells.set_numbers(False)
            self._note.hide()
            self._hover.hide()
        else:
            self._bar = pg.ColorBarItem(values=self._limits, colorMap=colormaps.DIVERGING, interactive=False,
                                        width=22, pen=None)
            self._glw.addItem(self._bar, row=0, col=1)
            bar_axis = self._bar.getAxis("right")
            plain = bar_axis.tickStrings
            # The same minus sign as the cells ("−0.5", not "-0.5").
            bar_axis.tickStrings = lambda *a: [t.replace("-", "−") for t in plain(*a)]

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self._title)
        layout.addWidget(self._note)
        layout.addWidget(self._glw, 1)
        layout.addWidget(self._hover)
        self._note.hide()

        self._vb.sigResized.connect(self._sync_layout)
        self._mouse = _MouseWatcher(self)
        self._glw.viewport().setMouseTracking(True)
        self._glw.viewport().installEventFilter(self._mouse)
        self._title.hide()
        self.set_theme("dark")
        self.set_font_scale(1.0)

    # --- data -------------------------------------------------------------------------

    def set_matrix(
        self,
        values: np.ndarray,
        row_labels: Sequence[str],
        col_labels: Sequence[str],
        *,
        scale: str = "signed",
        title: str = "",
        note: str = "",
        limits: tuple[float, float] | None = None,
    ) -> None:
        """Show ``values`` (rows = queries, columns = keys); see the module docstring.

        ``limits`` overrides the colour range of a signed matrix, so that matrices shown side
        by side (Q, K, V) share one honest scale; None computes ±max|finite| of ``values``.
        """
        v = np.array(values, dtype=np.float64, copy=True)
        if v.ndim == 1:
            v = v[None, :]
        if v.ndim != 2:
            raise ValueError(f"a heatmap shows a 2-D matrix, not an array of shape {v.shape}")
        if scale not in ("signed", "unit"):
            raise ValueError(f"scale must be 'signed' or 'unit', not {scale!r}")
        if v.size == 0:
            v = np.zeros((0, 0))  # nothing to show: draw nothing rather than fail
        rows, cols = v.shape
        self._values = v
        if scale != self._scale and self._bar is not None:
            self._bar.setColorMap(colormaps.colormap_for(scale))
        self._scale = scale
        self._limits = _limits(v, scale) if limits is None or scale == "unit" else (float(limits[0]), float(limits[1]))
        rgba = colormaps.to_rgba(v, scale, self._limits)
        if v.size == 0:
            rgba = np.zeros((1, 1, 4), dtype=np.uint8)  # one transparent pixel
        self._image.setImage(rgba, autoLevels=False, levels=(0, 255))
        self._image.setRect(QRectF(0, 0, max(cols, 1), max(rows, 1)))
        self._cells.set_cells(v, rgba[:rows, :cols])
        self._row_labels = _fit_labels(row_labels, rows)
        self._col_labels = _fit_labels(col_labels, cols)
        self._left.set_labels(self._row_labels)
        self._top.set_labels(self._col_labels)
        self._marks.set_outlines((rows, cols), self._rows_hl, self._cells_hl)
        if self._bar is not None:
            self._set_bar_levels(*self._limits)
        self._vb.setRange(xRange=(0, max(cols, 1)), yRange=(0, max(rows, 1)), padding=0.0)
        self._title.setText(title)
        self._title.setVisible(bool(title))
        self._note.setText(note)
        self._note.setVisible(bool(note) and not self._compact)
        if self._hovered != (-1, -1) and not (self._hovered[0] < rows and self._hovered[1] < cols):
            self._set_hovered(-1, -1)

    def _set_bar_levels(self, lo: float, hi: float) -> None:
        """Colour bar ends at the limits; beyond 1e100 the axis counts in units of the limit
        (its tick arithmetic overflows near 1.8e308) and says so in its label."""
        assert self._bar is not None
        big = max(abs(lo), abs(hi))
        axis = self._bar.getAxis("right")
        if big >= 1e100:
            self._bar.setLevels(values=(lo / big, hi / big))
            axis.setLabel(f"× {format_cell(big)}")
        else:
            self._bar.setLevels(values=(lo, hi))
            axis.setLabel("")
            axis.showLabel(False)

    def set_chrome(self, *, row_labels: bool = True, colorbar: bool = True) -> None:
        """Show or hide the row labels and the colour bar: matrices side by side that share
        rows and a colour range need them once, and give the room to their cells."""
        if self._compact:
            return
        if row_labels:
            self._plot.showAxis("left")
        else:
            self._plot.hideAxis("left")
        if self._bar is not None and self._bar.isVisible() != colorbar:
            self._bar.setVisible(colorbar)
            # A hidden item keeps its cell in the layout; give the width back as well, and
            # restore the bar's own width limits when it comes back.
            if not colorbar:
                self._bar_widths = (self._bar.minimumWidth(), self._bar.maximumWidth())
                self._bar.setMinimumWidth(0)
                self._bar.setMaximumWidth(0)
            else:
                lo, hi = self._bar_widths
                self._bar.setMinimumWidth(lo)
                self._bar.setMaximumWidth(hi)

    def shows_chrome(self) -> tuple[bool, bool]:
        """(row labels shown, colour bar shown)."""
        return self._left.isVisible(), self._bar is not None and self._bar.isVisible()

    def set_highlights(self, rows: Sequence[int] = (), cells: Sequence[tuple[int, int]] = ()) -> None:
        """Outline whole ``rows`` and single ``cells`` (row, col); out-of-range ones are ignored."""
        self._rows_hl = tuple(int(r) for r in rows)
        self._cells_hl = tuple((int(r), int(c)) for r, c in cells)
        self._marks.set_outlines(self._values.shape, self._rows_hl, self._cells_hl)

    def set_hover_text(self, text: str) -> None:
        """Show ``text`` (e.g. a cell's arithmetic) in the line under the heatmap."""
        self._hover.setText(text)

    def set_hover_line_visible(self, on: bool) -> None:
        """Show or hide the line under the heatmap (its text is kept): matrices side by side
        share one line below them, so that a wrapped text cannot make their rows misalign."""
        self._hover.setVisible(on and not self._compact)

    # --- presentation -------------------------------------------------------------------

    def set_font_scale(self, factor: float) -> None:
        """Grow (or shrink) axis labels and cell numbers by ``factor``; title, note and hover
        text by √factor."""
        factor = float(factor)
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"font scale must be a number > 0, not {factor!r}")
        self._font_scale = factor
        self._cells.set_font_scale(factor)
        self._left.set_font_px(AXIS_FONT_PX * factor)
        self._top.set_font_px(AXIS_FONT_PX * factor)
        if self._bar is not None:
            self._bar.getAxis("right").setStyle(tickFont=_px_font(AXIS_FONT_PX * 0.9 * factor))
        # Numbers and axis labels grow with the zoom; the lines around the plot by √factor,
        # so that at 2× they do not take the height the matrix needs.
        around = math.sqrt(factor)
        title_px = (13 if self._compact else 20) * around
        self._title.setFont(_px_font(title_px, bold=True))
        self._note.setFont(_px_font(14 * around))
        self._hover.setFont(_px_font(HOVER_FONT_PX * around))

    def set_theme(self, theme: str) -> None:
        """'dark' or 'light' (the high-contrast projector theme)."""
        th = colormaps.theme(theme)
        self._theme = th
        self._glw.setBackground(th.background)
        for axis in (self._left, self._top):
            axis.set_color(th.foreground)
        if self._bar is not None:
            ax = self._bar.getAxis("right")
            ax.setPen(pg.mkPen(th.axis))
            ax.setTextPen(pg.mkPen(th.foreground))
        self._marks.set_colors(th.highlight, th.highlight_edge)
        self.setStyleSheet(f"HeatmapView {{ background: {th.background}; }}")
        self.setAutoFillBackground(True)
        pal = self.palette()
        pal.setColor(self.backgroundRole(), QColor(th.background))
        self.setPalette(pal)
        for label in (self._title, self._note):
            label.setStyleSheet(f"color: {th.foreground}; background: transparent;")
        self._hover.setStyleSheet(
            f"color: {th.panel_text}; background: {th.panel}; padding: 4px 8px; border-radius: 4px;"
        )

    # --- queries --------------------------------------------------------------------------

    def values(self) -> np.ndarray:
        """A copy of the matrix shown now."""
        return self._values.copy()

    def labels(self) -> tuple[list[str], list[str]]:
        """(row labels, column labels) as given to set_matrix (before eliding)."""
        return list(self._row_labels), list(self._col_labels)

    def hover_text(self) -> str:
        return self._hover.text()

    def color_limits(self) -> tuple[float, float]:
        """The values at the two ends of the colour scale."""
        return self._limits

    def cell_text_visible(self) -> bool:
        """Whether the numbers are drawn at the current size."""
        rows, cols = self._values.shape
        if rows == 0 or self._compact:
            return False
        rect = self._vb.boundingRect()
        return self._cells.font_px(rect.width() / cols, rect.height() / rows) > 0

    def cell_scene_center(self, row: int, col: int) -> QPointF:
        """Scene position of a cell's centre (tests and lessons point at cells with it)."""
        return self._vb.mapViewToScene(QPointF(col + 0.5, row + 0.5))

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int]:
        """(row, col) under a scene position, (-1, -1) outside the matrix."""
        rows, cols = self._values.shape
        if not self._vb.sceneBoundingRect().contains(scene_pos):
            return (-1, -1)
        pt = self._vb.mapSceneToView(scene_pos)
        r, c = math.floor(pt.y()), math.floor(pt.x())
        return (r, c) if 0 <= r < rows and 0 <= c < cols else (-1, -1)

    def graphics_items(self) -> list[object]:
        """The items inside the plot (tests check that updates do not replace them)."""
        return [self._image, self._cells, self._marks, self._left, self._top, self._bar]

    # --- mouse ------------------------------------------------------------------------------

    def _sync_layout(self, *args: object) -> None:
        """Align the colour bar with the matrix and leave room for rotated column labels."""
        if self._compact:
            return
        bar = self._bar
        if bar is not None:
            # Level the bar's plot area with the matrix: the bar shares the plot's layout row,
            # so its margins are the distances from that row's edges to the matrix's edges.
            ours, row = self._vb.sceneBoundingRect(), bar.sceneBoundingRect()
            top, bottom = max(0.0, ours.top() - row.top()), max(0.0, row.bottom() - ours.bottom())
            left, old_top, right_m, old_bottom = bar.layout.getContentsMargins()
            if abs(old_top - top) > 0.5 or abs(old_bottom - bottom) > 0.5:
                bar.layout.setContentsMargins(left, top, right_m, bottom)
        bar_w = bar.geometry().width() if bar is not None else 0.0
        right = max(4.0, self._top.overflow_px() - bar_w)
        layout = self._glw.ci.layout
        left, t, old_right, b = layout.getContentsMargins()
        if abs(old_right - right) > 0.5:
            layout.setContentsMargins(left, t, right, b)

    def _cell_at_viewport(self, pos: QPointF) -> tuple[int, int]:
        return self.cell_at(self._glw.mapToScene(pos.toPoint()))

    def _set_hovered(self, r: int, c: int) -> None:
        if (r, c) != self._hovered:
            self._hovered = (r, c)
            self.cellHovered.emit(r, c)


def _limits(v: np.ndarray, scale: str) -> tuple[float, float]:
    """Honest colour limits: ±max|finite| for 'signed' (±1 when all are 0), 0..1 for 'unit'."""
    if scale == "unit":
        return (0.0, 1.0)
    finite = np.abs(v[np.isfinite(v)])
    m = float(finite.max()) if finite.size else 0.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


def _fit_labels(labels: Sequence[str], n: int) -> list[str]:
    """Exactly n labels: the given ones, padded with indices or cut, so a mismatch never crashes."""
    out = [str(s) for s in list(labels)[:n]]
    return out + [str(i) for i in range(len(out), n)]
