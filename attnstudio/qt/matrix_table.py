"""An editable table of one matrix, with scrubbing: drag or wheel a number to change it.

The table never changes its own numbers: an edit is a request (``edit_requested`` with the
typed text, ``scrubbed`` with a value) that the state accepts or refuses; accepted values
come back through ``set_matrix``. So a refused value simply stays what it was.

Scrubbing: Ctrl+drag (or Alt+drag) up/down on a cell changes it by 0.01 per pixel (0.1 with
Shift); the mouse wheel over the selected cell changes it by 0.01 per notch (0.1 with
Shift). Qt compresses mouse moves and the state coalesces changes per frame, so a fast drag
costs at most one recompute per frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QTableView,
    QWidget,
)

from attnstudio.core.numbers import format_entry

SCRUB_STEP = 0.01  # per pixel or wheel notch
SCRUB_STEP_FINE_TO_COARSE = 10.0  # Shift multiplies the step
# Keys the table uses itself; the window's stepping shortcuts must not steal them here.
_TABLE_KEYS = {Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home,
               Qt.Key.Key_End, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}


class MatrixModel(QAbstractTableModel):
    """A read-through view of a NumPy matrix; edits are forwarded, never applied here."""

    edit_requested = Signal(int, int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._m = np.zeros((0, 0))
        self._rows: list[str] = []
        self._cols: list[str] = []
        self.editable = True

    def set_matrix(self, m: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str]) -> None:
        m = np.asarray(m, dtype=np.float64)
        if m.shape == self._m.shape:
            self._m, self._rows, self._cols = m, list(row_labels), list(col_labels)
            if m.size:
                self.dataChanged.emit(self.index(0, 0), self.index(m.shape[0] - 1, m.shape[1] - 1))
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, max(0, m.shape[0] - 1))
            return
        self.beginResetModel()
        self._m, self._rows, self._cols = m, list(row_labels), list(col_labels)
        self.endResetModel()

    def matrix(self) -> np.ndarray:
        return self._m

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008  (Qt's signature)
        return 0 if parent.isValid() else self._m.shape[0]

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._m.shape[1]

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        v = self._m[index.row(), index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_entry(v)
        if role == Qt.ItemDataRole.EditRole:
            return repr(float(v))
        if role == Qt.ItemDataRole.ToolTipRole:
            return repr(float(v))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        labels = self._cols if orientation == Qt.Orientation.Horizontal else self._rows
        return labels[section] if 0 <= section < len(labels) else str(section + 1)

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return f | Qt.ItemFlag.ItemIsEditable if self.editable else f

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        self.edit_requested.emit(index.row(), index.column(), str(value))
        return False  # the state decides; an accepted value comes back through set_matrix


class MatrixTable(QTableView):
    """The table widget: typing edits, Ctrl/Alt+drag and the wheel scrub."""

    edit_requested = Signal(int, int, str)
    scrubbed = Signal(int, int, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_ = MatrixModel(self)
        self.setModel(self.model_)
        self.model_.edit_requested.connect(self.edit_requested)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # Room for "−0.000": a narrower column would elide the numbers it exists to show.
        self.horizontalHeader().setMinimumSectionSize(self.fontMetrics().horizontalAdvance("−0.000") + 8)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self._scrub: tuple[int, int, float, float] | None = None  # row, col, start value, start y
        self.viewport().installEventFilter(self)
        self.installEventFilter(self)

    def set_matrix(self, m: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str],
                   editable: bool = True) -> None:
        self.model_.editable = editable
        self.model_.set_matrix(m, row_labels, col_labels)
        self.horizontalHeader().setMinimumSectionSize(self.fontMetrics().horizontalAdvance("−0.000") + 8)

    def matrix(self) -> np.ndarray:
        return self.model_.matrix()

    def commit_open_editor(self) -> bool:
        """Hand over what is typed in a cell's open editor, as Enter would (before the window
        saves or closes: a half-typed number must not be lost). True when there was one."""
        if self.state() != QAbstractItemView.State.EditingState:
            return False
        editor = self.indexWidget(self.currentIndex()) or QApplication.focusWidget()
        if editor is None or not self.isAncestorOf(editor):
            return False
        self.commitData(editor)
        self.closeEditor(editor, QAbstractItemDelegate.EndEditHint.NoHint)
        return True

    def scrub_to(self, row: int, col: int, value: float) -> None:
        """What a drag does, callable directly (tests, lessons)."""
        self.scrubbed.emit(row, col, round(float(value), 6))

    # ---- scrubbing ---------------------------------------------------------------------
    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        t = ev.type()
        if obj is self and t == QEvent.Type.ShortcutOverride and ev.key() in _TABLE_KEYS:
            ev.accept()  # arrows move between cells here, they do not step the stages
            return True
        if obj is not self.viewport() or not self.model_.editable:
            return super().eventFilter(obj, ev)
        if t == QEvent.Type.MouseButtonPress and ev.button() == Qt.MouseButton.LeftButton and (
            ev.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        ):
            idx = self.indexAt(ev.position().toPoint())
            if idx.isValid():
                self.setCurrentIndex(idx)
                self._scrub = (idx.row(), idx.column(), float(self.matrix()[idx.row(), idx.column()]),
                               ev.position().y())
                self.viewport().setCursor(Qt.CursorShape.SizeVerCursor)
                return True
        elif t == QEvent.Type.MouseMove and self._scrub is not None:
            r, c, v0, y0 = self._scrub
            self.scrub_to(r, c, round(v0 + (y0 - ev.position().y()) * _step(ev), 2))
            return True
        elif t == QEvent.Type.MouseButtonRelease and self._scrub is not None:
            self._scrub = None
            self.viewport().unsetCursor()
            return True
        elif t == QEvent.Type.Wheel:
            idx = self.indexAt(ev.position().toPoint())
            if idx.isValid() and idx == self.currentIndex() and self.selectionModel().isSelected(idx):
                delta = ev.angleDelta()
                notches = (delta.y() or delta.x()) / 120.0
                v = float(self.matrix()[idx.row(), idx.column()])
                self.scrub_to(idx.row(), idx.column(), round(v + notches * _step(ev), 2))
                return True
        return super().eventFilter(obj, ev)


def _step(ev) -> float:
    """The scrub step of an event: coarser with Shift held."""
    coarse = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
    return SCRUB_STEP * (SCRUB_STEP_FINE_TO_COARSE if coarse else 1.0)
