"""A label that always takes the height of a fixed number of lines, whatever its text.

The arithmetic line under a matrix changes on every hover; a label that grew with its text
took height from the matrix above it, which then shrank, moved its rows and hid its
numbers. This one reserves ``lines`` lines at its font and shortens a longer text to end in
"…" (the whole text is in its tooltip and, for hovers, in the status bar).
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

ELLIPSIS = " …"


class FixedLinesLabel(QLabel):
    """A word-wrapped plain-text label exactly ``lines`` lines high; see the module docstring."""

    def __init__(self, lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines = max(1, int(lines))
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._fix_height()

    def set_lines(self, lines: int) -> None:
        """Reserve ``lines`` lines from now on."""
        self._lines = max(1, int(lines))
        self._fix_height()
        self._refit()

    def full_text(self) -> str:
        """The text as given (``text()`` may be shortened to fit)."""
        return self._full

    def set_full_text(self, text: str) -> None:
        if text == self._full:
            return  # the same words (each edit puts the stage's hint back): already fitted
        self._full = text
        self.setToolTip(text if self._shortened(text) else "")
        self._refit()

    def changeEvent(self, ev) -> None:  # font or style changes alter the line height
        super().changeEvent(ev)
        if ev.type() in (ev.Type.FontChange, ev.Type.StyleChange):
            self._fix_height()
            self._refit()

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._refit()

    def _fix_height(self) -> None:
        m = self.contentsMargins()
        fm = QFontMetrics(self.font())
        # Style sheet padding lives in the contents margins of a styled label.
        self.setFixedHeight(fm.lineSpacing() * self._lines + m.top() + m.bottom() + 2)

    def _available(self) -> QRect:
        return self.contentsRect()

    def _fits(self, text: str) -> bool:
        rect = self._available()
        if rect.width() <= 0:
            return True
        needed = QFontMetrics(self.font()).boundingRect(QRect(0, 0, rect.width(), 1 << 20),
                                                        Qt.TextFlag.TextWordWrap, text)
        return needed.height() <= QFontMetrics(self.font()).lineSpacing() * self._lines

    def _shortened(self, text: str) -> bool:
        return not self._fits(text)

    def _refit(self) -> None:
        text = self._full
        if self._fits(text):
            self.setText(text)
            return
        lo, hi = 0, len(text)  # the longest prefix that fits with the ellipsis
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._fits(text[:mid].rstrip() + ELLIPSIS):
                lo = mid
            else:
                hi = mid - 1
        self.setText(text[:lo].rstrip() + ELLIPSIS)
