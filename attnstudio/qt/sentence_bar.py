"""The sentence field: what a person types, handed to the state after a short pause.

Typing is debounced (150 ms): one recompute per pause, not per key, so the heatmaps do not
flicker through half-typed words. Enter hands the text over at once and, like Escape,
gives the keyboard back to the stepper so the arrow keys step again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QWidget

DEBOUNCE_MS = 150
MAX_CHARS = 2_000_000


class _SentenceEdit(QLineEdit):
    done_editing = Signal()

    def keyPressEvent(self, ev) -> None:
        if ev.key() == Qt.Key.Key_Escape:
            self.done_editing.emit()
            return
        super().keyPressEvent(ev)

    def focusInEvent(self, ev) -> None:
        """Typing continues the sentence: the cursor rests at its start only so that the
        field reads from the start. A click places it where clicked; Tab selects all (Qt's own)."""
        super().focusInEvent(ev)
        if ev.reason() not in (Qt.FocusReason.MouseFocusReason, Qt.FocusReason.TabFocusReason,
                               Qt.FocusReason.BacktabFocusReason):
            self.end(False)


class SentenceBar(QWidget):
    """A label and the sentence field; emits ``sentence_changed`` after typing pauses."""

    sentence_changed = Signal(str)
    done_editing = Signal()

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = _SentenceEdit(self)
        self.field.setObjectName("sentence")
        # QLineEdit keeps only 32,767 characters unless told otherwise: a pasted 10,000-token
        # text must arrive whole.
        self.field.setMaxLength(MAX_CHARS)
        self.field.setPlaceholderText("Type a sentence…")
        self.field.setText(text)
        self.field.setCursorPosition(0)  # read from its start when a zoom makes it too long for the field
        self.field.setClearButtonEnabled(True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit)
        # textChanged, not textEdited: the clear button changes the text too.
        self.field.textChanged.connect(self._on_text_changed)
        self.field.returnPressed.connect(self._on_return)
        self.field.done_editing.connect(self.done_editing)
        label = QLabel("Sentence", self)
        label.setObjectName("caption")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(self.field, 1)
        self._last = text

    def text(self) -> str:
        return self.field.text()

    def set_text(self, text: str) -> None:
        """Show ``text`` without emitting (the state already has it). While the person's own
        typing is still pending, it is left alone: the state is about to receive it."""
        if self._timer.isActive():
            return
        if text != self.field.text():
            self._last = text
            self.field.blockSignals(True)
            self.field.setText(text)
            if not self.field.hasFocus():  # a sentence too long for the field reads from its start
                self.field.setCursorPosition(0)
            self.field.blockSignals(False)

    def flush(self) -> None:
        """Hand over a pending edit now."""
        if self._timer.isActive():
            self._timer.stop()
            self._emit()

    def _on_text_changed(self, text: str) -> None:
        if text != self._last:
            self._timer.start()

    def _on_return(self) -> None:
        self.flush()
        self.done_editing.emit()

    def _emit(self) -> None:
        text = self.field.text()
        if text != self._last:
            self._last = text
            self.sentence_changed.emit(text)
