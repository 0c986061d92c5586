""""One token's view": the arithmetic of one query row as a table, one row per key."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from attnstudio.core.explain import TokenView, fmt, fmt_operand

COLUMNS = ("key", "k_j", "q·k_j", "scaled", "exp", "weight a_j", "v_j", "a_j·v_j")
VECTOR_COLS = (1, 6, 7)
WEIGHT_COL = COLUMNS.index("weight a_j")
BAR_ROLE = Qt.ItemDataRole.UserRole + 1
MAX_SHOWN = 6  # vector entries shown before eliding the middle


def format_vector(v: Sequence[float] | np.ndarray, max_shown: int = MAX_SHOWN) -> str:
    """"[0.50, −0.20, 0.10]" (two decimals), eliding the middle of long vectors:
    "[0.50, 0.20, 0.10, …, 0.30] (64)"."""
    vals = [f"{x:.2f}".replace("-", "−") if np.isfinite(x) else fmt(x) for x in np.asarray(v, dtype=float).ravel()]
    if len(vals) <= max_shown:
        return "[" + ", ".join(vals) + "]"
    half = max_shown // 2
    return "[" + ", ".join([*vals[:half], "…", *vals[-half:]]) + f"] ({len(vals)})"


class _WeightBarDelegate(QStyledItemDelegate):
    """Draws a horizontal bar of length weight (0..1) behind the weight's number."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        frac = index.data(BAR_ROLE)
        if isinstance(frac, float) and np.isfinite(frac):
            rect: QRect = option.rect.adjusted(2, 3, -2, -3)
            painter.save()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(230, 130, 20, 150))
            painter.drawRect(rect.x(), rect.y(), round(rect.width() * min(max(frac, 0.0), 1.0)), rect.height())
            painter.restore()
        super().paint(painter, option, index)


class TokenViewPanel(QWidget):
    """Shows a TokenView: title, the query vector, the table of keys, and z = Σ a_j v_j."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = QLabel("one token's view", self)
        self._query = QLabel(self)
        self._rule = QLabel(self)
        self._output = QLabel(self)
        for label in (self._title, self._query, self._rule, self._output):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._table = QTableWidget(0, len(COLUMNS), self)
        self._table.setHorizontalHeaderLabels(list(COLUMNS))
        self._table.verticalHeader().setVisible(False)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # The weight bar is the point of the table: give it room rather than the width of "0.14".
        header.setSectionResizeMode(WEIGHT_COL, QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(False)
        self._table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self._table.setWordWrap(False)
        self._table.setItemDelegateForColumn(WEIGHT_COL, _WeightBarDelegate(self._table))
        layout = QVBoxLayout(self)
        for w in (self._title, self._query, self._rule):
            layout.addWidget(w)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._output)
        self._view: TokenView | None = None
        self.set_font_scale(1.0)

    def set_view(self, view: TokenView) -> None:
        """Show ``view`` (replaces what was shown)."""
        self._view = view
        self._title.setText(f"one token's view: {view.query}")
        self._query.setText(f"q_{view.query} = {format_vector(view.q)}")
        self._rule.setText(_rule_text(view))
        n = len(view.keys)
        self._table.setRowCount(n)
        for j in range(n):
            masked = bool(view.masked[j])
            exp = "—" if view.exp is None else fmt(view.exp[j])
            cells = (
                view.keys[j],
                format_vector(view.k[j]),
                fmt(view.dots[j]),
                fmt(view.scaled[j]),
                exp,
                fmt(view.weights[j]),
                format_vector(view.v[j]),
                format_vector(view.contributions[j]),
            )
            for c, text in enumerate(cells):
                shown = text
                if masked and c == 3:
                    shown = f"{text} → −∞"
                elif masked and c == 4:
                    shown = f"{text} (masked)"
                self._set(j, c, shown, masked)
            self._table.item(j, WEIGHT_COL).setData(BAR_ROLE, float(view.weights[j]))
        self._output.setText(f"z_{view.query} = Σ_j a_j·v_j = {format_vector(view.output)}")

    def _set(self, row: int, col: int, text: str, masked: bool) -> None:
        item = self._table.item(row, col)
        if item is None:
            item = QTableWidgetItem()
            self._table.setItem(row, col, item)
        item.setText(text)
        side = Qt.AlignmentFlag.AlignLeft if col == 0 or col in VECTOR_COLS else Qt.AlignmentFlag.AlignRight
        item.setTextAlignment(Qt.AlignmentFlag.AlignVCenter | side)
        item.setForeground(QColor(128, 128, 128) if masked else self.palette().text().color())

    def set_font_scale(self, factor: float) -> None:
        """Grow every text by ``factor`` (presentation zoom)."""
        base = QFont()
        base.setPixelSize(max(1, round(16 * factor)))
        self._table.setFont(base)
        self._table.horizontalHeader().setFont(base)
        self._table.verticalHeader().setDefaultSectionSize(round(28 * factor))
        self._table.horizontalHeader().resizeSection(WEIGHT_COL, round(170 * factor))
        for label, px, bold in ((self._title, 20, True), (self._query, 17, False), (self._rule, 15, False),
                                (self._output, 18, True)):
            f = QFont()
            f.setPixelSize(max(1, round(px * factor)))
            f.setBold(bold)
            label.setFont(f)

    def table_text(self, row: int, col: int) -> str:
        """The text of one table cell (tests read what the panel shows)."""
        item = self._table.item(row, col)
        return item.text() if item is not None else ""


def _rule_text(view: TokenView) -> str:
    T = "" if view.temperature == 1 else f"/{fmt_operand(view.temperature)}"
    if view.normalizer in ("softmax", "naive-softmax"):
        if view.shift:
            shift = fmt(view.shift)
            return (f"{view.normalizer}, T = {fmt_operand(view.temperature)}: a_j = exp((s_j − {shift}){T}) / Σ exp(…)"
                    " — shifted by the row max so exp never overflows (same ratio)")
        return f"{view.normalizer}, T = {fmt_operand(view.temperature)}: a_j = exp(s_j{T}) / Σ_k exp(s_k{T})"
    tau = "" if view.tau is None else f", τ = {fmt(view.tau)}"
    if view.normalizer == "sparsemax":
        return f"sparsemax, T = {fmt_operand(view.temperature)}: a_j = max(s_j{T} − τ, 0){tau}"
    return f"entmax-1.5, T = {fmt_operand(view.temperature)}: a_j = max(s_j/(2T) − τ, 0)²{tau}"
