"""The graphics items drawn inside a heatmap's plot: the cell numbers (one item, one paint
pass), the highlight outlines, and the token axes. Numbers are written by core.numbers.

Each is created once per HeatmapView and updated in place: PySide6 6.12.0 aborts the
interpreter when pyqtgraph re-parents a Python subclass of QGraphicsObject.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QStaticText

from attnstudio.core.numbers import ELIDED, cell_forms
from attnstudio.qt import colormaps

MIN_CELL_PX = 19.0  # below this cell height numbers are not drawn (0.6 × 19 px: the 11 px minimum)
HOVER_FONT_PX = 18.0  # the arithmetic line under a heatmap
MIN_FONT_PX = 11.0  # numbers smaller than this are unreadable: shorter forms instead (CellLayer)
MIN_FONT_PX_INT = math.ceil(MIN_FONT_PX)
CELL_PAD_PX = 6.0  # room kept free between a cell's number and its edges
BASE_FONT_PX = 22.0  # cell numbers at font scale 1 when the cell is large enough
AXIS_FONT_PX = 17.0
LABEL_CHARS = 14  # longer token labels are elided
COVERED_MARK = "?"  # a covered cell: its number waits for the answer to a lesson's question


def _elide(label: str, chars: int = LABEL_CHARS) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "…"


def px_font(px: float, bold: bool = False) -> QFont:
    f = QFont()
    f.setPixelSize(max(1, round(px)))
    f.setBold(bold)
    return f


class CellLayer(pg.GraphicsObject):
    """Hatching of special cells and every cell's number, painted in one pass.

    Painting happens in device pixels (the transform is reset) so that hatching and text keep
    their size whatever the zoom; the cell geometry comes from the painter's transform.

    Numbers never silently vanish because one is wide: the font shrinks to fit the widest
    number down to MIN_FONT_PX, and a number still too wide for its cell takes a shorter honest
    rounding (numbers.cell_forms: "−1.46e5" → "−1.5e5" → "−1e5"), or "…" when none fits. Only
    when most cells could show nothing are the numbers left out (tiny cells of a large matrix).
    Attention weights (``set_weights``) are written by numbers.format_weight, and their masked
    cells are filled and hatched as the masked stage's −∞ cells are.
    """

    def __init__(self) -> None:
        super().__init__()
        self._values = np.zeros((0, 0))
        self._rgba = np.zeros((0, 0, 4), dtype=np.uint8)
        self._dark_cells: np.ndarray | None = np.zeros((0, 0), dtype=bool)
        self._weights_mask: np.ndarray | None = None  # as given to set_weights
        self._weights = False  # the cells shown are attention weights
        self._hidden = np.zeros((0, 0), dtype=bool)  # weights whose key the mask hid
        # Cells a lesson's question is about, not shown until it is answered (set_covered).
        self._covered_next: np.ndarray | None = None
        self._covered = np.zeros((0, 0), dtype=bool)
        self._masked_runs: list[QRectF] = []
        self._hidden_runs: list[QRectF] = []
        self._warn_runs: list[QRectF] = []
        self._numbers = True
        self._font_scale = 1.0
        self._forms: list[list[tuple[str, ...]]] | None = None  # per cell, formatted when first needed
        self._texts: tuple[tuple[int, float], list[list[str]]] | None = None  # (px, room) → what each cell shows
        self._widths: dict[tuple[str, int], float] = {}
        self._cache: dict[tuple[str, int], QStaticText] = {}
        self._masked_brush = QBrush(QColor(*colormaps.MASKED_HATCH), Qt.BrushStyle.BDiagPattern)
        self._warn_brush = QBrush(QColor(*colormaps.WARN_HATCH), Qt.BrushStyle.DiagCrossPattern)

    def boundingRect(self) -> QRectF:
        rows, cols = self._values.shape
        return QRectF(0, 0, cols, rows)

    def set_weights(self, masked: np.ndarray | None) -> None:
        """Whether the next cells are attention weights: None for any other matrix; for weights,
        True where the mask hid the key (all False without a mask). Takes effect at set_cells."""
        self._weights_mask = None if masked is None else np.asarray(masked, dtype=bool)

    def set_covered(self, covered: np.ndarray | None) -> None:
        """True where the next cells are covered (a question waits for its answer): they show
        "?" on a plain fill, no number, no mark. Takes effect at set_cells."""
        self._covered_next = None if covered is None else np.asarray(covered, dtype=bool)

    def set_cells(self, values: np.ndarray, rgba: np.ndarray) -> None:
        if values.shape != self._values.shape:
            self.prepareGeometryChange()
        self._values = values
        mask = self._weights_mask
        self._weights = mask is not None
        cov = self._covered_next
        self._covered = cov if cov is not None and cov.shape == values.shape else np.zeros(values.shape, bool)
        fits = mask is not None and mask.shape == values.shape
        self._hidden = (mask & ~np.isneginf(values)) if fits and mask is not None else np.zeros(values.shape, bool)
        self._hidden &= ~self._covered
        self._rgba = rgba
        self._dark_cells: np.ndarray | None = None  # worked out when numbers are first painted
        self._masked_runs = _runs(np.isneginf(values) | self._hidden)
        self._hidden_runs = _runs(self._hidden)
        self._warn_runs = _runs((np.isnan(values) | np.isposinf(values)) & ~self._covered)
        self._forms = None
        self._texts = None
        self.update()

    @property
    def _dark(self) -> np.ndarray:
        """True where a cell's number is black (else white), for its colour: only cells large
        enough for numbers need it, so a 256 × 256 reduced matrix never pays for it."""
        if self._dark_cells is None:
            dark = colormaps.dark_text_on(self._rgba)
            if self._hidden.any():
                grey = np.array([[[*colormaps.MASKED_FILL, 255]]], dtype=np.uint8)
                dark = np.where(self._hidden, colormaps.dark_text_on(grey)[0, 0], dark)
            self._dark_cells = dark
        return self._dark_cells

    def set_numbers(self, on: bool) -> None:
        self._numbers = on
        self.update()

    def set_font_scale(self, factor: float) -> None:
        self._font_scale = factor
        self._cache.clear()
        self._texts = None
        self.update()

    # --- which text, at which size ------------------------------------------------------

    def font_px(self, cell_w: float, cell_h: float) -> float:
        """The pixel size of the numbers in a cell_w × cell_h cell, 0 when they are not drawn."""
        if not self._numbers or cell_h < MIN_CELL_PX or self._values.size == 0:
            return 0.0
        room = cell_w - CELL_PAD_PX
        px = max(1, math.floor(min(BASE_FONT_PX * self._font_scale, cell_h * 0.6)))
        if px < MIN_FONT_PX:
            return 0.0
        widest = max(self._width(forms[0], px) for row in self._cell_forms() for forms in row)
        while widest > room and px > MIN_FONT_PX:
            px = max(MIN_FONT_PX_INT, min(px - 1, math.floor(px * room / widest)))
            widest = max(self._width(forms[0], px) for row in self._cell_forms() for forms in row)
        texts = self.texts(px, room)
        shown = sum(t not in ("", ELIDED) for row in texts for t in row)
        return float(px) if shown * 2 >= self._values.size else 0.0

    def texts(self, px: int, room: float) -> list[list[str]]:
        """What each cell shows at font ``px`` with ``room`` pixels: its fullest form that fits,
        else "…" ("" when not even that fits)."""
        key = (px, room)
        if self._texts is not None and self._texts[0] == key:
            return self._texts[1]
        out = []
        for row in self._cell_forms():
            line = []
            for forms in row:
                text = next((f for f in forms if self._width(f, px) <= room), None)
                if text is None:
                    text = ELIDED if self._width(ELIDED, px) <= room else ""
                line.append(text)
            out.append(line)
        self._texts = (key, out)
        return out

    def shown_texts(self, cell_w: float, cell_h: float) -> list[list[str]]:
        """The text painted in each cell of a cell_w × cell_h layout ("" everywhere when the
        numbers are not drawn): what a student reads."""
        px = self.font_px(cell_w, cell_h)
        if px <= 0:
            return [["" for _ in row] for row in self._values]
        return self.texts(int(px), cell_w - CELL_PAD_PX)

    def _cell_forms(self) -> list[list[tuple[str, ...]]]:
        if self._forms is None:
            hidden, weights, cov = self._hidden, self._weights, self._covered
            self._forms = [[(COVERED_MARK,) if cov[r, c] else cell_forms(v, weights, bool(hidden[r, c]))
                            for c, v in enumerate(row)]
                           for r, row in enumerate(self._values.tolist())]
        return self._forms

    def _width(self, text: str, px: int) -> float:
        key = (text, px)
        w = self._widths.get(key)
        if w is None:
            if len(self._widths) > 8192:
                self._widths.clear()
            w = QFontMetricsF(px_font(px)).horizontalAdvance(text)
            self._widths[key] = w
        return w

    # --- painting ---------------------------------------------------------------------------

    def paint(self, p: QPainter, *args: object) -> None:
        if self._values.size == 0:
            return
        t = p.transform()
        p.save()
        p.resetTransform()
        p.setPen(Qt.PenStyle.NoPen)
        if self._hidden_runs:  # masked weights: the masked stage's grey, not the colour of 0
            p.setBrush(QColor(*colormaps.MASKED_FILL))
            p.drawRects([t.mapRect(r) for r in self._hidden_runs])
        for brush, runs in ((self._masked_brush, self._masked_runs), (self._warn_brush, self._warn_runs)):
            if runs:
                p.setBrush(brush)
                p.drawRects([t.mapRect(r) for r in runs])
        origin = t.map(QPointF(0, 0))
        step = t.map(QPointF(1, 1)) - origin
        cell_w, cell_h = abs(step.x()), abs(step.y())
        px = self.font_px(cell_w, cell_h)
        if px > 0:
            self._paint_numbers(p, origin, step, self.texts(int(px), cell_w - CELL_PAD_PX), int(px))
        p.restore()

    def _paint_numbers(self, p: QPainter, origin: QPointF, step: QPointF, texts: list[list[str]], px: int) -> None:
        p.setFont(px_font(px))
        black, white = QColor(0, 0, 0), QColor(255, 255, 255)
        dark = self._dark
        for r, line in enumerate(texts):
            y = origin.y() + (r + 0.5) * step.y()
            for c, text in enumerate(line):
                if not text:
                    continue
                st = self._static(text, px)
                size = st.size()
                x = origin.x() + (c + 0.5) * step.x()
                corner = QPointF(x - size.width() / 2, y - size.height() / 2)
                value = self._values[r, c]
                if self._covered[r, c]:
                    pass  # the image already gives a covered cell its plain fill
                elif not math.isfinite(value) or self._hidden[r, c]:
                    # A plain patch under the label keeps "−∞" / "—" / "NaN" legible over the hatching.
                    fill = colormaps.WARN_FILL if math.isnan(value) or value == math.inf else colormaps.MASKED_FILL
                    p.fillRect(QRectF(corner, size).adjusted(-4, -1, 4, 1), QColor(*fill))
                p.setPen(black if dark[r, c] else white)
                p.drawStaticText(corner, st)

    def _static(self, text: str, px: int) -> QStaticText:
        key = (text, px)
        st = self._cache.get(key)
        if st is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            st = QStaticText(text)
            st.setTextFormat(Qt.TextFormat.PlainText)
            st.prepare(font=px_font(px))
            self._cache[key] = st
        return st


class Highlights(pg.GraphicsObject):
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


class TokenAxis(pg.AxisItem):
    """An axis that writes one token label per row or column, horizontal when the labels
    fit and at 45° when they do not (top axis), eliding long tokens."""

    def __init__(self, orientation: str) -> None:
        # AxisItem.__init__ resizes the item, which calls our overrides: set state first.
        self._labels: list[str] = []
        self._font = px_font(AXIS_FONT_PX)
        self._width: float | None = None  # the widest label's, measured once per labels and font
        self._color = QColor("#eeeeee")
        self._was_rotated: bool | None = None
        self._ready = False
        super().__init__(orientation)
        self._ready = True
        self.setTicks([[], []])

    def set_labels(self, labels: Sequence[str]) -> None:
        shown = [_elide(str(s)) for s in labels]
        if shown == self._labels:
            return  # the same tokens: measuring and redrawing 256 labels again cost 3 ms an edit
        self._labels = shown
        self._width = None
        self._relayout()

    def set_font_px(self, px: float) -> None:
        self._font = px_font(px)
        self._width = None
        self._relayout()

    def set_color(self, color: str) -> None:
        self._color = QColor(color)
        self.setPen(pg.mkPen(color))
        self.setTextPen(pg.mkPen(color))
        self.picture = None
        self.update()

    def _label_width(self) -> float:
        # Asked on every resize and paint: measuring 1,024 column numbers each time cost 50 ms.
        if self._width is None:
            fm = QFontMetricsF(self._font)
            self._width = max((fm.horizontalAdvance(s) for s in self._labels), default=0.0)
        return self._width

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
