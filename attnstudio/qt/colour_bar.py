"""The colour bar's axis: readable numbers at both ends at any text size, and a caption that
says which scale the colours use.

pyqtgraph left to itself keeps only the tick labels that fit its rules, and on a short bar
at 2× text that was "0" alone: the axis's fixed 45 px width dropped every wider label, a
label reaching half its height past an end was dropped, and the levels between were too
crowded. Here the two ends are always labelled and drawn inside the bar's length, round
values between them only where they leave room, the axis is as wide as its widest label,
and the caption is the longest of its wordings that fits along the bar.

The bar's axis is pyqtgraph's own, adjusted in place (its tick methods replaced on the
instance): the graphics items of a heatmap are created once and never re-parented.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QImage, QPainter

from attnstudio.core.numbers import MINUS, format_result
from attnstudio.qt.heatmap_items import px_font

TEXT_OFFSET = 5  # pyqtgraph's gap between the bar and its tick labels (px)
CAPTION_GAP = 6  # between the widest tick label and the caption
MIN_CAPTION_PX = 11  # a caption never shrinks below this to fit a short bar


def end_text(x: float) -> str:
    """A number at an end of the bar as the cells write it ("0.62", "−3.10", "0.004"), with
    a whole number written whole ("0", "1")."""
    text = format_result(x)
    whole = text.lstrip(MINUS).split(".")
    if len(whole) == 2 and not whole[1].strip("0") and "e" not in text:
        text = text.split(".")[0]
        return "0" if text == MINUS + "0" else text
    return text


def tick_text(value: float, plain: str) -> str:
    """An inner tick's label: pyqtgraph's short form ("0.25") with a real minus sign, but 0
    as "0" (never "−0.00") and large values as the cells write them ("1.5e6", not "1.5e+06")."""
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or "e" in plain:
        return format_result(value)
    return plain.replace("-", MINUS)


class BarAxis:
    """Ticks, tick labels and caption of a vertical ``pg.ColorBarItem``'s right axis."""

    def __init__(self, bar: pg.ColorBarItem) -> None:
        self._bar = bar
        self.axis = axis = bar.getAxis("right")
        self._lo, self._hi = 0.0, 1.0
        self._ends: tuple[str, str] = ("0", "1")
        self._interior = True
        self._captions: tuple[str, ...] = ()
        self._scale_key: tuple | None = None  # the last set_scale's arguments
        self._caption = ""
        self._font_px = 15.0
        self._color = "#eeeeee"
        self._plain_values = axis.tickValues
        self._plain_strings = axis.tickStrings
        plain_specs = axis.generateDrawSpecs
        axis.tickValues = self._tick_values
        axis.tickStrings = self._tick_strings
        axis.generateDrawSpecs = lambda p: self._inside(plain_specs(p))
        axis.enableAutoSIPrefix(False)  # "560 (×0.001)" for 0.56: the cells write 0.56
        axis.geometryChanged.connect(self._fit_caption)

    # --- what the bar says ------------------------------------------------------------------

    def set_scale(self, lo: float, hi: float, *, ends: tuple[str, str] | None = None,
                  captions: Sequence[str] = (), interior: bool = True) -> None:
        """The bar runs from ``lo`` (bottom) to ``hi``; ``ends`` are the labels of its two ends
        (None: the numbers), ``captions`` the wordings of its label, longest first (none:
        no label), ``interior``: whether round values between the ends are labelled too."""
        ends = ends if ends is not None else (end_text(lo), end_text(hi))
        captions = tuple(c for c in captions if c)
        key = (float(lo), float(hi), ends, interior, captions)
        if key == self._scale_key:
            return  # as drawn: an edit that keeps the scale keeps the axis's picture (no relayout, no redraw)
        self._scale_key = key
        self._lo, self._hi = float(lo), float(hi)
        self._ends = ends
        self._interior = interior
        self._captions = captions
        self._refresh()

    def set_font_px(self, px: float) -> None:
        self._font_px = float(px)
        self._scale_key = None
        self.axis.setStyle(tickFont=px_font(px))
        self._refresh()

    def set_color(self, color: str) -> None:
        self._color = color
        self.axis.setTextPen(pg.mkPen(color))
        self._fit_caption()

    # --- queries (tests read what is drawn) ---------------------------------------------------

    def caption(self) -> str:
        """The label shown along the bar ('' for none)."""
        return self._caption if self.axis.label.isVisible() else ""

    def drawn_labels(self) -> list[tuple[str, QRectF]]:
        """The tick labels the axis draws now, each with its rectangle in the axis's
        coordinates (what pyqtgraph would paint, bottom to top)."""
        image = QImage(4, 4, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        try:
            painter.setFont(px_font(self._font_px))
            specs = self.axis.generateDrawSpecs(painter)
        finally:
            painter.end()
        if specs is None:
            return []
        return sorted(((text, QRectF(rect)) for rect, _flags, text in specs[2]), key=lambda t: -t[1].center().y())

    # --- pyqtgraph's hooks --------------------------------------------------------------------

    def _end_values(self) -> tuple[float, float]:
        # A hair inside the range, so that rounding cannot put an end tick just outside it.
        eps = (self._hi - self._lo) * 1e-9
        return self._lo + eps, self._hi - eps

    def _tick_values(self, lo: float, hi: float, size: float) -> list[tuple[float, list[float]]]:
        """The two ends first (always labelled), then round values clear of the end labels
        (drawn inside the bar: each takes a label's height from its end) and of each other."""
        a, b = self._end_values()
        levels: list[tuple[float, list[float]]] = [(abs(b - a) or 1.0, [a, b])]
        if not self._interior or self._hi <= self._lo or size <= 0:
            return levels
        per_px = (self._hi - self._lo) / size
        line = QFontMetricsF(px_font(self._font_px)).height() * per_px
        inner: list[float] = []
        spacing = math.inf
        # Whole levels, coarse to fine, while every value of a level has room: a level that
        # fits only in part would leave uneven labels (0.5, 0.54, 0.6 …; −0.8 beside −0.5).
        for step, values in self._plain_values(self._lo, self._hi, size):
            level = [v for v in values if self._lo + 1.7 * line <= v <= self._hi - 1.7 * line]
            if not level:
                continue  # all of it too near an end: a finer level may still fit between them
            placed = sorted([*inner, *level])
            if any(b - a < 1.3 * line for a, b in itertools.pairwise(placed)):
                break
            inner = placed
            # The finest level kept sets the decimals: 0.5 from the minor ticks beside 1
            # from the major ones must not read "0".
            spacing = step
        if inner:
            levels.append((spacing, inner))
        return levels

    def _tick_strings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        ends = dict(zip(self._end_values(), self._ends))
        plain = self._plain_strings(values, scale, spacing)
        return [ends[v] if v in ends else tick_text(v, s) for v, s in zip(values, plain)]

    def _inside(self, specs: tuple | None) -> tuple | None:
        """Move the end labels inside the bar's length (pyqtgraph centres them on the end, so
        half of each hung past the bar, under the matrix's edge or out of the view) …"""
        if specs is None:
            return None
        axis_spec, tick_specs, text_specs = specs
        bounds = self.axis.mapRectFromParent(self.axis.geometry())
        scene = self.axis.scene()
        if scene is not None and scene.views():
            # … and inside what the view shows, where the bar reaches its edge.
            view = scene.views()[0]
            shown = self.axis.mapRectFromScene(view.mapToScene(view.viewport().rect()).boundingRect())
            if shown.intersects(bounds):
                bounds = bounds & shown
        moved = []
        for rect, flags, text in text_specs:
            r = QRectF(rect)
            if r.height() < bounds.height():
                r.moveTop(min(max(r.top(), bounds.top()), bounds.bottom() - r.height()))
            moved.append((r, flags, text))
        return axis_spec, tick_specs, moved

    # --- layout ---------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Width for the widest label and the caption; labels never dropped for hanging past an end."""
        axis = self.axis
        fm = QFontMetricsF(px_font(self._font_px))
        axis.setStyle(hideOverlappingLabels=math.ceil(fm.height()) + 4)
        texts = [*self._ends, end_text(self._lo + (self._hi - self._lo) / 3)]
        widest = max(fm.boundingRect(QRectF(0, 0, 100, 100), Qt.AlignmentFlag.AlignCenter, t).width()
                     for t in texts)
        width = TEXT_OFFSET + widest + 3
        if self._captions:
            # The caption (rotated) sits at the axis's right edge: its line height plus a gap.
            width += CAPTION_GAP + QFontMetricsF(self._caption_font()).height()
        axis.setWidth(math.ceil(width))
        axis.picture = None
        axis.update()
        self._fit_caption()

    def _caption_font(self) -> QFont:
        return px_font(self._font_px)  # as large as the numbers: it says what they mean

    def _fit_caption(self) -> None:
        """The longest caption that fits along the bar at the numbers' size; on a bar too
        short for any, the shortest in a smaller size (down to MIN_CAPTION_PX) that fits."""
        if not self._captions:
            self._set_caption("", self._font_px)
            return
        length = self.axis.size().height() - 8  # the text item's margins
        fm = QFontMetricsF(self._caption_font())
        fitting = [c for c in self._captions if fm.horizontalAdvance(c) <= length]
        if fitting:
            self._set_caption(fitting[0], self._font_px)
            return
        shortest = self._captions[-1]
        px = self._font_px
        while px > MIN_CAPTION_PX and QFontMetricsF(px_font(px)).horizontalAdvance(shortest) > length:
            px -= 1
        self._set_caption(shortest, max(px, MIN_CAPTION_PX))

    def _set_caption(self, text: str, px: float) -> None:
        axis = self.axis
        self._caption = text
        if not text:
            axis.labelText = ""
            axis.showLabel(False)
            return
        style = {"color": self._color, "font-size": f"{round(px)}px"}
        if axis.labelText != html.escape(text) or axis.labelStyle != style or not axis.label.isVisible():
            axis.setLabel(html.escape(text), **style)
        # The label sits at the axis's right edge, level with the middle of the bar; the
        # width above already holds it (setLabel would add its height again otherwise).
        axis.resizeEvent()
