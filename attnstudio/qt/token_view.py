""""One token's view": the arithmetic of one query row as a table, one row per key.

The table reads a model that formats cells when they are drawn, so a 2,048-token view costs
the rows on screen, not 16,000 prepared items.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from attnstudio.core.explain import TokenView
from attnstudio.core.numbers import (
    SIG,
    VECTOR_SHOWN,
    format_cell,
    format_operand,
    format_sig,
    format_vector,
    format_weight_result,
    parse_shown,
    reads_as,
)

PICK_A_ROW = ("Click a row of the scores or weights, or a token, to see that token's arithmetic: "
              "its query, every dot product, the weights and the weighted sum of the values.")
COLUMNS = ("key", "k_j", "q·k_j", "scaled", "exp", "a_j", "v_j", "a_j·v_j")
VECTOR_COLS = (1, 6, 7)
WEIGHT_COL = COLUMNS.index("a_j")
BAR_ROLE = Qt.ItemDataRole.UserRole + 1
# A masked key: no weight at all, marked as the weights heatmap marks it (its row is greyed,
# its scaled score reads −∞ and its exp 0); short, so the table fits a quarter of 1280 px.
MASKED_WEIGHT = "—"
TABLE_PX = 13  # the table's text at zoom 1: five columns of three-digit numbers in ~320 px


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


Index = QModelIndex | QPersistentModelIndex


class _TokenViewModel(QAbstractTableModel):
    """One row per key of a TokenView; texts are formatted on request."""

    def __init__(self) -> None:
        super().__init__()
        self._view: TokenView | None = None
        self._exp_sig = SIG
        self._muted = QColor(128, 128, 128)

    def set_view(self, view: TokenView | None) -> None:
        self.beginResetModel()
        self._view = view
        self._exp_sig = SIG if view is None else exp_digits(view)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008  (Qt's signature)
        return 0 if self._view is None or parent.isValid() else len(self._view.keys)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        view = self._view
        if view is None or not index.isValid():
            return None
        j, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(j, c)
        if role == BAR_ROLE and c == WEIGHT_COL:
            return float(view.weights[j])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            side = Qt.AlignmentFlag.AlignLeft if c == 0 or c in VECTOR_COLS else Qt.AlignmentFlag.AlignRight
            return int(Qt.AlignmentFlag.AlignVCenter | side)
        if role == Qt.ItemDataRole.ForegroundRole and view.masked[j]:
            return self._muted
        if role == Qt.ItemDataRole.FontRole and j == view.winner and c in (0, WEIGHT_COL):
            font = QFont()
            font.setBold(True)  # the winner: the key with the largest weight (core.explain.row_winner)
            return font
        return None

    def text(self, j: int, c: int) -> str:
        """Cell (j, c) as shown. The chain q·k_j → scaled → exp → weight has three significant
        digits (the exponentials as many as their Σ in the rule line needs, see exp_digits), so
        that a calculator redoes each step from the numbers shown."""
        view = self._view
        assert view is not None
        masked = bool(view.masked[j])
        if c == 0:
            return view.keys[j]
        if c == 1:
            return format_vector(view.k[j])
        if c == 2:
            return format_sig(view.dots[j])
        if c == 3:
            return "−∞" if masked else format_sig(view.scaled[j])
        if c == 4:
            if view.exp is None:
                return "—"
            return "0" if masked else format_sig(view.exp[j], self._exp_sig)  # exp(−∞) = 0
        if c == 5:
            return MASKED_WEIGHT if masked else format_weight_result(view.weights[j])
        if c == 6:
            return format_vector(view.v[j])
        return format_vector(view.contributions[j])


class TokenViewPanel(QWidget):
    """Shows a TokenView: title, the query vector, the table of keys, and z = Σ a_j v_j."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = QLabel("one token's view", self)
        self._query = QLabel(self)
        self._rule = QLabel(self)
        self._output = QLabel(self)
        # The vectors of one key (the selected row, else the one with the most weight): as
        # columns they needed 900 px; the panel has a quarter of the window.
        self._vectors = QLabel(self)
        for label in (self._title, self._query, self._rule, self._output, self._vectors):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._model = _TokenViewModel()
        self._table = QTableView(self)
        self._table.setModel(self._model)
        self._table.verticalHeader().setVisible(False)
        self._table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # Size columns from the first rows only: measuring thousands of rows would stall a click.
        header.setResizeContentsPrecision(64)
        # The weight bar is the point of the table: give it room rather than the width of "0.14".
        header.setSectionResizeMode(WEIGHT_COL, QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(False)
        self._table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self._table.setWordWrap(False)
        self._table.setItemDelegateForColumn(WEIGHT_COL, _WeightBarDelegate(self._table))
        for c in VECTOR_COLS:
            self._table.setColumnHidden(c, True)
        self._table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._show_vectors(cur.row()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        for w in (self._title, self._query, self._rule):
            layout.addWidget(w)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._vectors)
        layout.addWidget(self._output)
        self._view: TokenView | None = None
        self.clear()
        self.set_font_scale(1.0)

    def set_view(self, view: TokenView) -> None:
        """Show ``view`` (replaces what was shown)."""
        self._view = view
        self._title.setText(f"one token's view: {view.query}{winner_text(view)}")
        self._query.setText(f"q_{view.query} = {format_vector(view.q)}")
        self._rule.setText(_rule_text(view))
        self._model.set_view(view)
        self._output.setText(_output_text(view))
        self._show_vectors(-1)

    def _show_vectors(self, row: int) -> None:
        """k_j, v_j and a_j·v_j of key ``row`` (-1: the key with the most weight)."""
        view = self._view
        if view is None or not len(view.keys):
            self._vectors.setText("")
            return
        if not 0 <= row < len(view.keys):
            finite = np.where(np.isfinite(view.weights), view.weights, -np.inf)
            row = int(np.argmax(finite))
        key = view.keys[row]
        self._vectors.setText(f"key {key} (click a row for another):\n"
                              f"k_{key} = {format_vector(view.k[row])}\n"
                              f"v_{key} = {format_vector(view.v[row])}\n"
                              f"a·v_{key} = {format_vector(view.contributions[row])}")

    def vectors_text(self) -> str:
        """What the line of one key's vectors says (tests read it)."""
        return self._vectors.text()

    def clear(self, message: str = PICK_A_ROW) -> None:
        """No row is selected: say how to pick one (the last token's numbers must not linger
        beside a matrix that no longer outlines it); or ``message``, why none is shown."""
        self._view = None
        self._title.setText("one token's view")
        self._query.setText(message)
        self._rule.setText("")
        self._model.set_view(None)
        self._output.setText("")
        self._vectors.setText("")

    @property
    def view(self) -> TokenView | None:
        """The TokenView shown, None when no row is selected."""
        return self._view

    def set_font_scale(self, factor: float) -> None:
        """Grow the texts around the table by ``factor`` (presentation zoom); the table grows
        only below 1 (it must fit the side band, which a zoom does not widen)."""
        base = QFont()
        px = max(1, round(TABLE_PX * min(factor, 1.0)))  # the table must fit the band: it never grows
        base.setPixelSize(px)
        self._table.setFont(base)
        self._table.horizontalHeader().setFont(base)
        # The window's style sheet sets every widget's size: the table says its own, and keeps
        # its cells' padding small (five columns must fit the side band).
        self._table.setStyleSheet(f"QTableView {{ font-size: {px}px; padding: 0px; }} "
                                  f"QTableView::item {{ padding: 0px 2px; }} "
                                  f"QHeaderView::section {{ font-size: {px}px; padding: 1px 2px; }}")
        self._table.verticalHeader().setDefaultSectionSize(round(24 * min(factor, 1.0)))
        self._table.horizontalHeader().resizeSection(WEIGHT_COL, round(64 * min(factor, 1.0)))
        for label, px, bold in ((self._title, 20, True), (self._query, 16, False), (self._rule, 14, False),
                                (self._vectors, 14, False), (self._output, 16, True)):
            f = QFont()
            f.setPixelSize(max(1, round(px * factor)))
            f.setBold(bold)
            label.setFont(f)

    def table_text(self, row: int, col: int) -> str:
        """The text of one table cell (tests read what the panel shows)."""
        value = self._model.data(self._model.index(row, col))
        return value if isinstance(value, str) else ""


MAX_ADDED_ROWS = 512  # a longer column is not added up by hand: no note on its rounding


def exp_digits(view: TokenView) -> int:
    """Significant digits of the exp column: three, or more where the shown exponentials of
    the unmasked keys would not add up to the shown Σ in the rule line."""
    if view.exp is None or len(view.keys) > MAX_ADDED_ROWS:
        return SIG
    kept = view.exp[~view.masked]
    total = float(np.sum(view.exp))
    for sig in range(SIG, SIG + 3):
        if reads_as(math.fsum(parse_shown(format_sig(e, sig)) for e in kept), format_sig(total, sig)):
            return sig
    return SIG


def _output_text(view: TokenView) -> str:
    """The z line. When the a_j·v_j column's rounded entries do not add up to z as shown (each
    is rounded to 0.01, and eleven such roundings can move a sum by 0.05), it says what they add
    to: a student adding up the column is then not left with a contradiction."""
    text = f"z_{view.query} = Σ_j a_j·v_j = {format_vector(view.output)}"
    if len(view.keys) > MAX_ADDED_ROWS or not view.contributions.size:
        return text
    d = view.output.size
    half = VECTOR_SHOWN // 2
    shown = range(d) if d <= VECTOR_SHOWN else [*range(half), *range(d - half, d)]
    adds = np.array([math.fsum(parse_shown(format_cell(x)) for x in view.contributions[:, c]) for c in range(d)])
    if all(reads_as(adds[c], format_cell(view.output[c])) for c in shown):
        return text
    return f"{text}\n(the rounded rows above add to {format_vector(adds)})"


def winner_text(view: TokenView) -> str:
    """" · most weight: tired 0.49" (the row's winner, core.explain.row_winner), '' for none."""
    if view.winner is None:
        return ""
    return f" · most weight: {view.keys[view.winner]} {format_weight_result(view.weights[view.winner])}"


def _rule_text(view: TokenView) -> str:
    t = format_operand(view.temperature)
    T = "" if view.temperature == 1 else f"/{t}"
    if view.normalizer in ("softmax", "naive-softmax"):
        total = "" if view.exp is None else f"; Σ_k = {format_sig(float(np.sum(view.exp)), exp_digits(view))}"
        if view.shift:
            shift = format_sig(view.shift)
            return (f"{view.normalizer}, T = {t}: a_j = exp((s_j − {shift}){T}) / Σ_k exp((s_k − {shift}){T}){total}"
                    " — shifted by the row max so exp never overflows (same ratio)")
        return f"{view.normalizer}, T = {t}: a_j = exp(s_j{T}) / Σ_k exp(s_k{T}){total}"
    tau = "" if view.tau is None else f", τ = {format_sig(view.tau)}"
    if view.normalizer == "sparsemax":
        return f"sparsemax, T = {t}: a_j = max(s_j{T} − τ, 0){tau}"
    return f"entmax-1.5, T = {t}: a_j = max(s_j/(2T) − τ, 0)²{tau}"
