"""Every head's attention weights together, so differing patterns can be compared at once.

They sit in a grid beside the concat·W_O heatmap (one column for up to three heads, more
after that): the window is wider than it is tall, so height goes to the large heatmap.

Thumbnails are created when the number of heads changes and updated in place otherwise;
clicking one puts that head on view.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from attnstudio.qt.stage_strip import Thumb
from attnstudio.qt.stage_text import weight_limits
from attnstudio.studio.snapshot import DEFAULT_WEIGHTS_SCALE

MAX_HEADS_SHOWN = 16


class HeadOverview(QWidget):
    """A row of compact weights heatmaps, one per head of the layer on view."""

    head_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self.thumbs: list[Thumb] = []
        self._caption = QLabel("every head's weights\n(click one to view it)", self)
        self._caption.setObjectName("caption")
        self._more = QLabel(self)
        self._more.setObjectName("caption")
        self._more.hide()
        self._theme = "dark"
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

    def set_heads(self, matrices: Sequence[np.ndarray], current: int,
                  weights_scale: str = DEFAULT_WEIGHTS_SCALE) -> None:
        """``matrices``: the host weights of each head (already reduced for display), coloured
        by ``weights_scale`` (stage_text.weight_limits). The heads are compared, so "max" is
        one scale for all of them: 0 … the largest weight of any head shown."""
        shown = list(matrices)[:MAX_HEADS_SHOWN]
        if len(shown) != len(self.thumbs):
            self._rebuild(len(shown))
        shared = None
        if weights_scale == "max" and shown:
            shared = weight_limits(np.concatenate([np.ravel(m) for m in shown]), "max")
        for i, (t, m) in enumerate(zip(self.thumbs, shown)):
            t.set_matrix(m, "unit", weights_scale, limits=shared)
            t.set_current(i == current)
        rest = len(matrices) - len(shown)
        self._more.setText(f"+{rest} more heads" if rest > 0 else "")
        self._more.setVisible(rest > 0)

    def set_theme(self, theme: str) -> None:
        self._theme = theme
        for t in self.thumbs:
            if t.heatmap is not None:
                t.heatmap.set_theme(theme)

    def _rebuild(self, n: int) -> None:
        # Changing the number of heads is rare (a settings change): whole thumbnails are
        # replaced, never the graphics items inside a live heatmap.
        for t in self.thumbs:
            self._layout.removeWidget(t)
            t.deleteLater()
        self._layout.removeWidget(self._more)
        self.thumbs = []
        cols = 1 if n <= 3 else (2 if n <= 8 else 4)
        self._layout.addWidget(self._caption, 0, 0, 1, cols)
        for i in range(n):
            t = Thumb(f"head {i + 1}", self)
            t.setMinimumSize(60, 60)
            if t.heatmap is not None:
                t.heatmap.set_theme(self._theme)
            t.clicked.connect(lambda i=i: self.head_clicked.emit(i))
            self.thumbs.append(t)
            self._layout.addWidget(t, 1 + i // cols, i % cols)
        self._layout.addWidget(self._more, 1 + (n + cols - 1) // cols, 0, 1, cols)
        self.setFixedWidth(150 * cols)
