"""The scaling lab's two log–log plots (time and memory against N), readable from the back of
a hall: big tick labels at round values with their units (1 ms, 1 s, 1 min; 1 MB, 1 GB), one
curve per backend, a dashed extension to the extrapolated lengths and an N² reference line.

A plot draws what it is given; the numbers (fits, extrapolations, the formula's bytes) come
from ``core.scaling``. Items are made once and then given new data, never removed and added
again (docs/architecture.md, "The scaling lab").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from attnstudio.core.scaling import format_tick

# Okabe–Ito colours (colour-blind safe), in the order backends come; symbols differ too.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
SYMBOLS = ("o", "s", "t", "d", "star", "h")
TICK_PX, LABEL_PX, TITLE_PX, LEGEND_PT = 18, 19, 22, 13
LIMIT_COLOUR = "#D55E00"  # the memory there is: vermilion, apart from every curve's colour
# Where the axes put their labels: round values a person reads at a glance; where they would
# crowd, the coarse ones (a unit each: 1 ms, 1 s, 1 min, 1 h; 1 kB, 1 MB, 1 GB).
MARKS = {
    "N": [10.0**k for k in range(0, 8)],
    "ms": [1e-3, 1e-2, 0.1, 1, 10, 100, 1e3, 1e4, 6e4, 6e5, 3.6e6, 3.6e7, 8.64e7, 8.64e8, 3.15576e10],
    "bytes": [10.0**k for k in range(3, 16)],
}
COARSE = {
    "N": [1.0, 1e3, 1e6],
    "ms": [1e-3, 1, 1e3, 6e4, 3.6e6, 8.64e7, 3.15576e10],
    "bytes": [1e3, 1e6, 1e9, 1e12, 1e15],
}
LABEL_ROOM_PX = {"left": 34, "bottom": 64}  # the least room a tick label needs along its axis


class RoundAxis(pg.AxisItem):
    """A log axis labelled only at ``MARKS[unit]`` (in the data's units), with core's words."""

    def __init__(self, orientation: str, unit: str) -> None:
        self._unit = unit  # AxisItem.__init__ may ask for ticks: set state first
        super().__init__(orientation)
        font = QFont()
        font.setPixelSize(TICK_PX)
        self.setStyle(tickFont=font, tickTextOffset=6)
        self.enableAutoSIPrefix(False)  # the ticks carry their units; "(x1e+12)" would not help

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        if not self.logMode:
            return super().tickValues(minVal, maxVal, size)
        lo, hi = sorted((minVal, maxVal))
        room = LABEL_ROOM_PX.get(self.orientation, 64)
        for marks in (MARKS[self._unit], COARSE[self._unit]):
            shown = [math.log10(v) for v in marks if lo <= math.log10(v) <= hi]
            if len(shown) * room <= size:
                return [(1.0, shown)]
        step = math.ceil(len(shown) * room / max(size, 1))
        return [(1.0, shown[::step])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        return [format_tick(10.0**v, self._unit) for v in values]


class LogLogPlot(pg.PlotWidget):
    """One log–log plot: measured curves per backend, their dashed extensions, an N² line and
    optional horizontal limit (the memory available)."""

    def __init__(self, title: str, y_label: str, y_unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"bottom": RoundAxis("bottom", "N"), "left": RoundAxis("left", y_unit)})
        item = self.getPlotItem()
        item.setLogMode(True, True)
        item.showGrid(x=True, y=True, alpha=0.25)
        item.setTitle(title, size=f"{TITLE_PX}px")
        style = {"font-size": f"{LABEL_PX}px"}
        item.setLabel("bottom", "N (tokens)", **style)
        item.setLabel("left", y_label, **style)
        item.setMenuEnabled(False)
        item.hideButtons()
        self.setMouseEnabled(x=False, y=False)  # the plot is for reading; nothing drifts out of view
        # Bottom right: the curves rise to the top right and the memory line crosses the top left.
        self.legend = item.addLegend(offset=(-10, -10), labelTextSize=f"{LEGEND_PT}pt")
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.extensions: dict[str, pg.PlotDataItem] = {}
        self.reference = item.plot([], [], pen=pg.mkPen("#888888", width=2, style=Qt.PenStyle.DotLine),
                                   name="∝ N² (slope 2)")
        self.limit = pg.InfiniteLine(angle=0, movable=False,
                                     pen=pg.mkPen(LIMIT_COLOUR, width=2, style=Qt.PenStyle.DashLine),
                                     label="", labelOpts={"position": 0.3, "anchors": [(0.5, 1.1), (0.5, 1.1)]})
        self.limit.label.setFont(_font(LEGEND_PT + 3, bold=True))
        self.limit.label.setColor(LIMIT_COLOUR)
        self.limit.setVisible(False)
        item.addItem(self.limit)

    def _curve(self, name: str) -> pg.PlotDataItem:
        if name not in self.curves:
            k = len(self.curves) % len(COLOURS)
            colour = COLOURS[k]
            self.curves[name] = self.getPlotItem().plot(
                [], [], pen=pg.mkPen(colour, width=3), symbol=SYMBOLS[k], symbolSize=11,
                symbolBrush=colour, symbolPen=pg.mkPen(colour), name=name)
            self.extensions[name] = self.getPlotItem().plot(
                [], [], pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine), symbol=SYMBOLS[k],
                symbolSize=13, symbolBrush=None, symbolPen=pg.mkPen(colour, width=2))
        return self.curves[name]

    def set_series(self, name: str, xs: Sequence[float], ys: Sequence[float]) -> None:
        """The measured points of one backend (``name`` is its legend entry)."""
        self._curve(name).setData(list(xs), list(ys))

    def set_extension(self, name: str, xs: Sequence[float], ys: Sequence[float]) -> None:
        """A dashed line in ``name``'s colour through points that were not measured (a fit's
        or a formula's values), hollow markers on them."""
        self._curve(name)
        self.extensions[name].setData(list(xs), list(ys))

    def set_reference(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        self.reference.setData(list(xs), list(ys))

    def set_limit(self, value: float | None, text: str = "") -> None:
        """A horizontal line at ``value`` (data units) labelled ``text``; None hides it."""
        self.limit.setVisible(value is not None and value > 0)
        if value is not None and value > 0:
            self.limit.setPos(math.log10(value))
            self.limit.label.setFormat(text)

    def clear_data(self) -> None:
        """Empty every curve (a new run), keeping the items and their colours."""
        for item in (*self.curves.values(), *self.extensions.values(), self.reference):
            item.setData([], [])

    def set_theme(self, background: str, foreground: str) -> None:
        self.setBackground(background)
        item = self.getPlotItem()
        for name in ("bottom", "left"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(foreground))
            axis.setTextPen(pg.mkPen(foreground))
        item.titleLabel.setText(item.titleLabel.text, color=foreground, size=f"{TITLE_PX}px")
        self.legend.setLabelTextColor(foreground)
        for _sample, label in self.legend.items:  # the entries made before: setLabelTextColor skips them
            label.setText(label.text, color=foreground)


def _font(pt: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSize(pt)
    font.setBold(bold)
    return font
