"""What the stage area shows: three exclusive buttons beside the sentence (Stage, Lines, All
heads). Buttons rather than a tab bar: the only tab bars of the window are the side docks'."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QSizePolicy, QToolButton, QWidget


class ViewModes(QWidget):
    """One of ``names`` chosen: ``index()``, ``set_index(i)``, ``mode_changed(i)``."""

    mode_changed = Signal(int)

    def __init__(self, names: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.buttons: list[QToolButton] = []
        for i, name in enumerate(names):
            b = QToolButton(self)
            b.setText(name)
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the stepper's keys stay with the window
            b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
            b.setStyleSheet("QToolButton { padding: 2px 6px; }")  # the sentence keeps the width
            self._group.addButton(b, i)
            layout.addWidget(b)
            self.buttons.append(b)
        self.buttons[0].setChecked(True)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self._group.idToggled.connect(lambda i, on: self.mode_changed.emit(i) if on else None)

    def index(self) -> int:
        return self._group.checkedId()

    def set_index(self, index: int) -> None:
        self.buttons[index].setChecked(True)
