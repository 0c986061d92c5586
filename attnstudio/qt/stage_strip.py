"""The pipeline at a glance: one small thumbnail per stage, Back/Next and a stage list.

The current stage is outlined; clicking any thumbnail jumps to it. Thumbnails are compact
heatmaps (no numbers) so all nine stages fit in one row on a projector.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from attnstudio.core.trace import STAGE_SHORT_TITLES, STAGES
from attnstudio.qt.matrix_picture import MatrixPicture
from attnstudio.qt.stage_text import weight_limits
from attnstudio.studio.snapshot import DEFAULT_WEIGHTS_SCALE

# Thumbnail captions: short enough for nine in a row at 1280 px.


class _ClickCatcher(QWidget):
    """A transparent cover that turns any click on a thumbnail into one signal."""

    clicked = Signal()

    def mousePressEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()


class Thumb(QFrame):
    """A small titled heatmap (or a line of text) that can be clicked and marked current."""

    clicked = Signal()

    def __init__(self, title: str, parent: QWidget | None = None, *, text_only: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("thumb")
        self.title = QLabel(title, self)
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.title.setObjectName("thumbCaption")
        # A long title must not widen the strip: it may be clipped, the tooltip has it all.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setToolTip(title)
        self.heatmap: MatrixPicture | None = None
        self.text: QLabel | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(1)
        if text_only:
            self.text = QLabel(self)
            self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.text.setWordWrap(True)
            layout.addWidget(self.text, 1)
        else:
            self.heatmap = MatrixPicture(self)
            self.heatmap.setMinimumSize(24, 24)
            policy = self.heatmap.sizePolicy()
            policy.setRetainSizeWhenHidden(True)  # hidden (no tokens), the caption stays put
            self.heatmap.setSizePolicy(policy)
            layout.addWidget(self.heatmap, 1)
        layout.addWidget(self.title)
        self._cover = _ClickCatcher(self)
        self._cover.clicked.connect(self.clicked)
        self._cover.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_current(self, on: bool) -> None:
        if self.property("current") != on:
            self.setProperty("current", on)
            self.style().unpolish(self)
            self.style().polish(self)

    def set_matrix(self, values: np.ndarray, scale: str, weights_scale: str = DEFAULT_WEIGHTS_SCALE,
                   limits: tuple[float, float] | None = None, covered: np.ndarray | None = None) -> None:
        """Show ``values``; weights ('unit' scale) coloured as the large view colours them
        (``weights_scale``, see stage_text.weight_limits) unless ``limits`` are given.
        ``covered``: cells a lesson's question hides, in the plain slate of the large view."""
        if self.heatmap is not None:
            if covered is not None and covered.shape == values.shape:
                values = np.array(values, dtype=np.float64)
                values[covered] = np.nan
            else:
                covered = None
            if limits is None and scale == "unit":
                limits = weight_limits(values, weights_scale)
            self.heatmap.set_matrix(values, scale, limits, covered=covered)

    def set_text(self, text: str) -> None:
        if self.text is not None:
            self.text.setText(text)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._cover.setGeometry(self.rect())
        self._cover.raise_()


class StageStrip(QWidget):
    """Back, the nine stage thumbnails, Next; and a list to jump to any stage."""

    stage_clicked = Signal(str)
    back = Signal()
    next = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.back_btn = QPushButton("◀  Back", self)
        self.next_btn = QPushButton("Next  ▶", self)
        for b in (self.back_btn, self.next_btn):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep the keyboard on the stepper
            b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
            b.setMinimumWidth(90)
        self.back_btn.setToolTip("Previous stage (← or PgUp)")
        self.next_btn.setToolTip("Next stage (→ or PgDn)")
        self.stage_list = QComboBox(self)
        for i, (key, title) in enumerate(STAGES):
            self.stage_list.addItem(f"{i + 1}. {title}", key)
        self.stage_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stage_list.setMaximumWidth(150)
        self.stage_list.setToolTip("Jump to any stage")
        self.thumbs: dict[str, Thumb] = {}
        row = QHBoxLayout()
        row.setSpacing(4)
        for i, (key, title) in enumerate(STAGES):
            t = Thumb(f"{i + 1} {STAGE_SHORT_TITLES[key]}", self, text_only=key == "tokens")
            t.setToolTip(f"{i + 1}. {title}")
            t.clicked.connect(lambda k=key: self.stage_clicked.emit(k))
            self.thumbs[key] = t
            row.addWidget(t, 1)
        left = QVBoxLayout()
        left.addWidget(self.stage_list)
        left.addWidget(self.back_btn, 1)
        right = QVBoxLayout()
        right.addWidget(self.next_btn, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left)
        layout.addLayout(row, 1)
        layout.addStretch(0)  # compact: Back at the left end, Next at the right
        layout.addLayout(right)
        self.back_btn.clicked.connect(self.back)
        self.next_btn.clicked.connect(self.next)
        self.stage_list.activated.connect(lambda i: self.stage_clicked.emit(self.stage_list.itemData(i)))

    def set_current(self, key: str) -> None:
        for k, t in self.thumbs.items():
            t.set_current(k == key)
        i = self.stage_list.findData(key)
        if self.stage_list.currentIndex() != i:
            self.stage_list.setCurrentIndex(i)
        keys = [k for k, _ in STAGES]
        self.back_btn.setEnabled(key != keys[0])
        self.next_btn.setEnabled(key != keys[-1])

    def set_compact(self, on: bool) -> None:
        """One line of Back and Next, without thumbnails or the stage list (a zoomed lecture
        screen gives their height to the matrix; digits and the Present menu still jump)."""
        for t in self.thumbs.values():
            t.setVisible(not on)
        self.stage_list.setVisible(not on)
        self.layout().setStretch(2, 1 if on else 0)

    @property
    def compact(self) -> bool:
        return self.stage_list.isHidden()

    def set_empty(self, empty: bool) -> None:
        """With no tokens, the thumbnails show nothing rather than the last sentence's numbers."""
        for t in self.thumbs.values():
            if t.heatmap is not None:
                t.heatmap.setVisible(not empty)
        if empty:
            self.thumbs["tokens"].set_text("no tokens")

    def set_theme(self, theme: str) -> None:
        for t in self.thumbs.values():
            if t.heatmap is not None:
                t.heatmap.set_theme(theme)
