"""A labelled heatmap of one matrix: colours, the numbers in the cells, token axes, a colour bar.

Every graphics item is created once in ``__init__`` and updated in place afterwards:
adding and removing items re-parents QGraphicsObject subclasses, which aborts PySide6
6.12.0. The numbers are drawn by one item in one paint pass, only while cells are big
enough to read (one TextItem per cell cost 2.8 s at 64×64).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from attnstudio.core.numbers import format_cell
from attnstudio.qt import colormaps
from attnstudio.qt.colour_bar import BarAxis
from attnstudio.qt.fixed_lines import FixedLinesLabel
from attnstudio.qt.heatmap_items import (
    AXIS_FONT_PX,
    HOVER_FONT_PX,
    CellLayer,
    Highlights,
    TokenAxis,
    px_font,
)

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


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


HOVER_LINES = 3  # the arithmetic under a matrix: a softmax weight's takes three lines at 1280 px
LABEL_ZOOM_MAX = 1.5  # labels, colour bar and the lines around the plot grow with the zoom up to this
CELL_PX = (60.0, 40.0)  # the largest cell at zoom 1: room for "−0.00" at the numbers' 22 px



def balance_cells(layout: QBoxLayout, views: Sequence[HeatmapView], shares: Sequence[float]) -> None:
    """Stretch the first ``len(views)`` items of ``layout`` so that the views' cells come out
    as wide as ``shares`` say (1, 1, 1: equally), each view keeping its own labels or colour
    bar. Settles after one pass; does nothing until every view is visible."""
    if not all(v.isVisible() for v in views):
        return
    chrome = [v.width() - v.cells_width() for v in views]
    cells = (sum(v.width() for v in views) - sum(chrome)) / sum(shares)
    if cells <= 0:
        return
    want = [max(1, round(c + cells * k)) for c, k in zip(chrome, shares)]
    have = [layout.stretch(i) for i in range(len(views))]
    if any(abs(w - h) > 2 for w, h in zip(want, have)):
        for i, w in enumerate(want):
            layout.setStretch(i, w)


class HeatmapView(QWidget):
    """One matrix as a heatmap, with token labels, cell numbers, a colour bar and a hover line."""

    cellHovered = Signal(int, int)  # noqa: N815  (Qt signal naming, part of the API)
    cellClicked = Signal(int, int)  # noqa: N815

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values = np.zeros((0, 0))
        self._covered: np.ndarray | None = None  # cells a lesson's question keeps hidden
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
        # A fixed height, whatever the hover says: a line that grew took height from the
        # matrix, which shrank and moved its rows under the pointer.
        self._hover = FixedLinesLabel(HOVER_LINES, self)
        for label in (self._title, self._note):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
        self._hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._glw = pg.GraphicsLayoutWidget(self)
        self._glw.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        axes = {"left": TokenAxis("left"), "top": TokenAxis("top")}
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
        self._cells = CellLayer()
        self._marks = Highlights()
        self._plot.addItem(self._image)
        self._plot.addItem(self._cells)
        self._plot.addItem(self._marks)
        self._cells.setZValue(1)
        self._marks.setZValue(2)
        self._bar: pg.ColorBarItem | None = None
        self._bar_axis: BarAxis | None = None
        self._bar_shown: tuple | None = None  # the levels and limits the bar was last given
        self._bar = pg.ColorBarItem(values=self._limits, colorMap=colormaps.DIVERGING, interactive=False,
                                    width=22, pen=None)
        self._glw.addItem(self._bar, row=0, col=1)
        # Both ends labelled at every zoom, the caption saying which scale is in use.
        self._bar_axis = BarAxis(self._bar)

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
        masked: np.ndarray | None = None,
        covered: np.ndarray | None = None,
    ) -> None:
        """Show ``values`` (rows = queries, columns = keys); see the module docstring.

        ``covered``: True where a lesson's question waits for its answer; those cells are not
        kept at all (NaN here), drawn in one plain slate with "?", and give no hover number.

        ``masked``: given for attention weights (None for any other matrix), True where the mask
        hid the key: those cells are hatched as the masked stage's −∞ and print "—", and the
        weights are written so that an exact 0, "<0.01" and a masked key differ
        (core.numbers.format_weight; an all-False array for weights without a mask).

        ``limits`` overrides the colour range: one honest scale for matrices shown side by side
        (Q, K, V), or the weights' scale (``stage_text.weight_limits``: a ``ScaleLimits`` that
        may colour each row over its own range and says what the colour bar writes); None
        gives ±max|finite| of ``values`` (signed) or 0 … 1 (unit).
        """
        v = colormaps.matrix_values(values, scale, "a heatmap")
        if v.size == 0:
            v = np.zeros((0, 0))  # nothing to show: draw nothing rather than fail
        rows, cols = v.shape
        cov = None if covered is None else np.asarray(covered, dtype=bool)
        if cov is not None and cov.shape == v.shape and cov.any():
            v[cov] = np.nan  # the number itself never reaches the view
            if masked is not None and np.shape(masked) == v.shape:
                masked = np.asarray(masked, dtype=bool) & ~cov  # "masked" would give zeros away
        else:
            cov = None
        self._covered = cov
        self._values = v
        if scale != self._scale and self._bar is not None:
            self._bar.setColorMap(colormaps.colormap_for(scale, self._theme.name))
        self._scale = scale
        if limits is None:
            self._limits = colormaps.default_limits(v, scale)
        elif isinstance(limits, colormaps.ScaleLimits):
            self._limits = limits
        else:
            self._limits = (float(limits[0]), float(limits[1]))
        self._cells.set_weights(masked)
        self._cells.set_covered(cov)
        self._paint_colours()
        self._image.setRect(QRectF(0, 0, max(cols, 1), max(rows, 1)))
        self._row_labels = _fit_labels(row_labels, rows)
        self._col_labels = _fit_labels(col_labels, cols)
        self._left.set_labels(self._row_labels)
        self._top.set_labels(self._col_labels)
        self._marks.set_outlines((rows, cols), self._rows_hl, self._cells_hl)
        if self._bar is not None:
            self._set_bar_levels(*self._limits)
        # The same shape (an edit): the view's range stands, and so do the axes' pictures (setting
        # it again made pyqtgraph draw both token axes afresh on every edit).
        ranges = ((0, max(cols, 1)), (0, max(rows, 1)))
        if [tuple(r) for r in self._vb.viewRange()] != [tuple(map(float, r)) for r in ranges]:
            self._vb.setRange(xRange=ranges[0], yRange=ranges[1], padding=0.0)
        self._title.setText(title)
        self._title.setVisible(bool(title))
        self._note.setText(note)
        self._note.setVisible(bool(note))
        if self._hovered != (-1, -1) and not (self._hovered[0] < rows and self._hovered[1] < cols):
            self._set_hovered(-1, -1)
        self._sync_layout()  # the cells' largest size depends on their number

    def _set_bar_levels(self, lo: float, hi: float) -> None:
        """Colour bar ends at the limits, labelled as the limits say (ScaleLimits: "max" for a
        per-row scale, a caption naming the weights' scale); beyond 1e100 the axis counts in
        units of the limit (its tick arithmetic overflows near 1.8e308) and says so in its label."""
        assert self._bar is not None and self._bar_axis is not None
        big = max(abs(lo), abs(hi))
        limits = self._limits
        shown = (lo, hi, getattr(limits, "ends", None), getattr(limits, "captions", ()))
        if shown == self._bar_shown:
            return  # as drawn: unchanged levels keep the bar's picture
        self._bar_shown = shown
        if big >= 1e100:
            self._bar.setLevels(values=(lo / big, hi / big))
            self._bar_axis.set_scale(lo / big, hi / big, captions=(f"× {format_cell(big)}",))
        else:
            self._bar.setLevels(values=(lo, hi))
            ends = getattr(self._limits, "ends", None)
            self._bar_axis.set_scale(lo, hi, ends=ends, captions=getattr(self._limits, "captions", ()),
                                     interior=ends is None)

    def _paint_colours(self) -> None:
        """Colour the cells (image, and black or white numbers) from the values, scale, limits
        and theme."""
        v = self._values
        rows, cols = v.shape
        rgba = colormaps.to_rgba(v, self._scale, self._limits, self._theme.name)
        if v.size == 0:
            rgba = np.zeros((1, 1, 4), dtype=np.uint8)  # one transparent pixel
        elif self._covered is not None:
            rgba[self._covered] = (*colormaps.COVERED_FILL, 255)
        self._image.setImage(rgba, autoLevels=False, levels=(0, 255))
        self._cells.set_cells(v, rgba[:rows, :cols])

    def set_chrome(self, *, row_labels: bool = True, colorbar: bool = True) -> None:
        """Show or hide the row labels and the colour bar: matrices side by side that share
        rows and a colour range need them once, and give the room to their cells."""
        if row_labels != self._left.isVisible():  # showing a shown axis again redrew its labels
            if row_labels:
                self._plot.showAxis("left")
            else:
                self._plot.hideAxis("left")
        if self._bar is not None and self._bar.isVisible() != colorbar:
            self._bar.setVisible(colorbar)
            # A hidden item keeps its cell in the layout: give the width back as well. Shown
            # again, the bar takes the width its axis needs now (-1 unsets the limits): the
            # widths from when it was hidden fitted other labels, and cut the caption off.
            width = 0 if not colorbar else -1
            self._bar.setMinimumWidth(width)
            self._bar.setMaximumWidth(width)

    def cells_width(self) -> float:
        """The width (px) the matrix's cells take; the rest is labels, colour bar, margins."""
        return float(self._vb.width())

    def shows_chrome(self) -> tuple[bool, bool]:
        """(row labels shown, colour bar shown)."""
        return self._left.isVisible(), self._bar is not None and self._bar.isVisible()

    def set_highlights(self, rows: Sequence[int] = (), cells: Sequence[tuple[int, int]] = ()) -> None:
        """Outline whole ``rows`` and single ``cells`` (row, col); out-of-range ones are ignored."""
        self._rows_hl = tuple(int(r) for r in rows)
        self._cells_hl = tuple((int(r), int(c)) for r, c in cells)
        self._marks.set_outlines(self._values.shape, self._rows_hl, self._cells_hl)

    def highlights(self) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
        """(rows, cells) outlined now, as given to set_highlights."""
        return self._rows_hl, self._cells_hl

    def set_hover_text(self, text: str) -> None:
        """Show ``text`` (e.g. a cell's arithmetic) in the lines under the heatmap (shortened
        with "…" where it does not fit their fixed height)."""
        self._hover.set_full_text(text)

    def set_hover_line_visible(self, on: bool) -> None:
        """Show or hide the line under the heatmap (its text is kept): matrices side by side
        share one line below them, so that a wrapped text cannot make their rows misalign."""
        self._hover.setVisible(on)

    # --- presentation -------------------------------------------------------------------

    def set_font_scale(self, factor: float) -> None:
        """Grow (or shrink) the cell numbers by ``factor`` (as far as the cells have room), the
        column labels by ``factor`` up to LABEL_ZOOM_MAX, title, note and hover text by √ of
        that; row labels and the colour bar keep their size.

        Labels stop growing at LABEL_ZOOM_MAX because past it they would take the room of the
        cells: zooming further must never shrink the matrix; the numbers inside it still grow.
        """
        factor = float(factor)
        if not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"font scale must be a number > 0, not {factor!r}")
        self._font_scale = factor
        self._cells.set_font_scale(factor)
        labels = min(factor, LABEL_ZOOM_MAX)
        # Row labels and the colour bar's ticks keep their size: any width they took would
        # come out of the cells, which must not narrow as the zoom grows (the height the
        # column labels take is given back by the thumbnails and token chips a zoom hides).
        self._left.set_font_px(AXIS_FONT_PX)
        self._top.set_font_px(AXIS_FONT_PX * labels)
        if self._bar_axis is not None:
            self._bar_axis.set_font_px(AXIS_FONT_PX * 0.9)
        around = math.sqrt(labels)
        title_px = 20 * around
        self._title.setFont(px_font(title_px, bold=True))
        self._note.setFont(px_font(14 * around))
        self._hover.setFont(px_font(HOVER_FONT_PX * around))
        # Zoomed for a hall, the numbers matter more than the arithmetic under them.
        self._hover.set_lines(HOVER_LINES if factor <= 1.0 else HOVER_LINES - 1)
        self._sync_layout()  # the cells' largest size follows the zoom

    def set_theme(self, theme: str) -> None:
        """'dark' or 'light' (the high-contrast projector theme)."""
        th = colormaps.theme(theme)
        self._theme = th
        self._glw.setBackground(th.background)
        for axis in (self._left, self._top):
            axis.set_color(th.foreground)
        if self._bar is not None and self._bar_axis is not None:
            self._bar_axis.axis.setPen(pg.mkPen(th.axis))
            self._bar_axis.set_color(th.foreground)
            # The weights' map follows the theme (viridis on dark, yellow → green on light).
            self._bar.setColorMap(colormaps.colormap_for(self._scale, th.name))
        self._paint_colours()
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
        """A copy of the matrix shown now (NaN where cells are covered)."""
        return self._values.copy()

    def covered(self) -> np.ndarray | None:
        """True where cells are covered until a question is answered (None: none is)."""
        return None if self._covered is None else self._covered.copy()

    def shown_texts(self) -> list[list[str]]:
        """The text each cell shows at its present size ("" where none is drawn)."""
        return self._cells.shown_texts(*self.cell_px())

    def labels(self) -> tuple[list[str], list[str]]:
        """(row labels, column labels) as given to set_matrix (before eliding)."""
        return list(self._row_labels), list(self._col_labels)

    def hover_text(self) -> str:
        """The whole hover text (the lines may show it shortened)."""
        return self._hover.full_text()

    def color_limits(self) -> tuple[float, float]:
        """The values at the two ends of the colour scale (as given: a ScaleLimits stays one;
        with one range per row, its ``rows``, and the ends are 0 … 1 of each row's range)."""
        return self._limits

    def color_bar_text(self) -> tuple[list[str], str]:
        """What the colour bar says: its tick labels as drawn now (bottom to top) and its
        caption ('' for none); ([], '') without a bar."""
        if self._bar_axis is None:
            return [], ""
        return [t for t, _ in self._bar_axis.drawn_labels()], self._bar_axis.caption()

    def cell_text_visible(self) -> bool:
        """Whether the numbers are drawn at the current size."""
        rows, cols = self._values.shape
        if rows == 0:
            return False
        rect = self._vb.boundingRect()
        return self._cells.font_px(rect.width() / cols, rect.height() / rows) > 0

    def plot_viewport(self) -> QWidget:
        """The widget the matrix is painted on (for tests and latency probes that click,
        hover or watch its paints)."""
        return self._glw.viewport()

    def cell_scene_center(self, row: int, col: int) -> QPointF:
        """Scene position of a cell's centre (tests and lessons point at cells with it)."""
        return self._vb.mapViewToScene(QPointF(col + 0.5, row + 0.5))

    def cell_px(self) -> tuple[float, float]:
        """One cell's width and height on screen, in pixels."""
        a, b = self.cell_scene_center(0, 0), self.cell_scene_center(1, 1)
        a, b = self._glw.mapFromScene(a), self._glw.mapFromScene(b)
        return float(b.x() - a.x()), float(b.y() - a.y())

    def number_px(self) -> float:
        """The pixel size the cells' numbers are drawn at (0 when they are not drawn)."""
        return self._cells.font_px(*self.cell_px()) if self.cell_text_visible() else 0.0

    def cell_viewport_pos(self, row: int, col: int) -> QPoint:
        """A cell's centre in ``plot_viewport()`` coordinates (where a mouse would point)."""
        return self._glw.mapFromScene(self.cell_scene_center(row, col))

    def row_centers_in(self, widget: QWidget) -> tuple[float, float] | None:
        """Where the rows are, in ``widget``'s coordinates: (y of row 0's centre, pixels from one
        row's centre to the next), so that a widget beside the heatmap can line up with its
        rows. None while there is no row."""
        rows = self._values.shape[0]
        if rows == 0:
            return None

        def y(row: int) -> float:
            on_view = self._glw.mapFromScene(self.cell_scene_center(row, 0))
            return float(widget.mapFromGlobal(self._glw.mapToGlobal(on_view)).y())

        first = y(0)
        # Measured across all the rows: each mapped centre is rounded to a whole pixel.
        last = y(max(rows - 1, 1))
        return first, (last - first) / max(rows - 1, 1)

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
        # The last column labels lean past the plot: keep the room they need at zoom 1 (the
        # zoom's larger labels may lean a little further, over the empty corner, rather than
        # narrow the cells).
        grown = max(1.0, min(self._font_scale, LABEL_ZOOM_MAX))
        right = max(4.0, self._top.overflow_px() / grown - bar_w)
        # Cells no larger than CELL_PX × the zoom: at zoom 1 a short sentence leaves room
        # beside and below the matrix, and the zoom spends it on larger cells, never taking
        # the cells' room for the labels (the slack goes right of the bar and below the plot).
        rows, cols = self._values.shape if self._values.size else (1, 1)
        z = self._font_scale
        layout = self._glw.ci.layout
        left, top, old_right, old_bottom = layout.getContentsMargins()
        # The room the cells could have, from sizes the margins do not change: the whole
        # canvas less the axes' labels, the colour bar and the column labels' overhang.
        canvas, plot, vb = self._glw.ci.geometry(), self._plot.geometry(), self._vb.geometry()
        axes_w, axes_h = plot.width() - vb.width(), plot.height() - vb.height()
        spacing = layout.horizontalSpacing() if bar is not None and bar.isVisible() else 0.0
        avail_w = canvas.width() - left - right - axes_w - bar_w - spacing
        avail_h = canvas.height() - top - axes_h
        slack = (max(0.0, avail_w - cols * CELL_PX[0] * z), max(0.0, avail_h - rows * CELL_PX[1] * z))
        if abs(old_right - (right + slack[0])) > 0.5 or abs(old_bottom - slack[1]) > 0.5:
            layout.setContentsMargins(left, top, right + slack[0], slack[1])

    def _cell_at_viewport(self, pos: QPointF) -> tuple[int, int]:
        return self.cell_at(self._glw.mapToScene(pos.toPoint()))

    def _set_hovered(self, r: int, c: int) -> None:
        if (r, c) != self._hovered:
            self._hovered = (r, c)
            self.cellHovered.emit(r, c)


def _fit_labels(labels: Sequence[str], n: int) -> list[str]:
    """Exactly n labels: the given ones, padded with indices or cut, so a mismatch never crashes."""
    out = [str(s) for s in list(labels)[:n]]
    return out + [str(i) for i in range(len(out), n)]
