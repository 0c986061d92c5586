"""The matrix editor panel: pick X, W_Q, W_K, W_V, W_O or Q/K/V of the head on view, edit it.

Q, K and V are X·W_Q, X·W_K, X·W_V (read only) until "give directly" detaches one: from
then on its numbers are the user's, and a banner says so plainly. Edits go to the studio model;
a refused value leaves the cell as it was and says why here and in the status bar.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.explain import token_labels
from attnstudio.core.matrices import DIRECT_MATRICES, direct_banner
from attnstudio.qt.matrix_table import MatrixTable
from attnstudio.qt.qt_studio import QtStudio
from attnstudio.studio.display_cache import DisplayCache

# (key, label) in the order of the pipeline.
MATRICES = (
    ("x", "X (embeddings)"),
    ("w_q", "W_Q"),
    ("w_k", "W_K"),
    ("w_v", "W_V"),
    ("q", "Q"),
    ("k", "K"),
    ("v", "V"),
    ("w_o", "W_O"),
)
_HELP = "Double-click or type to edit · Ctrl+drag ↕ or wheel on the selected cell to scrub (Shift: ×10)"


class MatrixEditor(QWidget):
    """Matrix chooser, table, direct-mode switch, banner, message line and the seed buttons."""

    message = Signal(str)  # for the status bar

    def __init__(self, studio_qt: QtStudio, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.studio = studio_qt.model
        self._seeding = studio_qt.seeding
        self._display: DisplayCache | None = None
        self.chooser = QComboBox(self)
        for key, label in MATRICES:
            self.chooser.addItem(label, key)
        self.chooser.setCurrentIndex(1)
        self.where = QLabel(self)
        self.where.setObjectName("muted")
        self.direct = QCheckBox("give directly", self)
        self.banner = QLabel(self)
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.table = MatrixTable(self)
        self.error = QLabel(self)
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()
        help_label = QLabel(_HELP, self)
        help_label.setObjectName("caption")
        help_label.setWordWrap(True)
        self.randomize_btn = QPushButton("Randomize", self)
        self.randomize_btn.setToolTip("New seed: fresh seeded weights and embeddings")
        self.reset_btn = QPushButton("Reset", self)
        self.reset_btn.setToolTip("Seeded values for the current seed: every edit undone")
        self.identity_btn = QPushButton("Identity", self)
        self.identity_btn.setToolTip("Ones on the diagonal, zeros elsewhere")

        top = QHBoxLayout()
        top.addWidget(self.chooser, 1)
        top.addWidget(self.direct)
        buttons = QGridLayout()
        buttons.addWidget(self.randomize_btn, 0, 0)
        buttons.addWidget(self.reset_btn, 0, 1)
        buttons.addWidget(self.identity_btn, 0, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.where)
        layout.addWidget(self.banner)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addWidget(help_label)
        layout.addLayout(buttons)

        self.chooser.currentIndexChanged.connect(lambda _i: self.refresh())
        self.direct.toggled.connect(self._on_direct_toggled)
        self.table.edit_requested.connect(self._on_edit)
        self.table.scrubbed.connect(self._on_edit)
        self.randomize_btn.clicked.connect(self._on_randomize)
        self.reset_btn.clicked.connect(self._on_reset)
        self.identity_btn.clicked.connect(self._on_identity)

    # ---- what is shown -------------------------------------------------------------------
    @property
    def key(self) -> str:
        return self.chooser.currentData()

    def select(self, key: str) -> None:
        self.chooser.setCurrentIndex(self.chooser.findData(key))

    def set_display(self, display: DisplayCache | None) -> None:
        """The latest trace's matrices (X and Q/K/V are shown from it)."""
        self._display = display
        self.refresh()

    def refresh(self) -> None:
        st, key = self.studio, self.key
        li, hi = st.layer, st.head
        s = st.settings
        banners = [direct_banner(n) for n in DIRECT_MATRICES if st.is_direct(li, hi, n)]
        self.banner.setText("\n".join(banners))
        self.banner.setVisible(bool(banners))
        self.direct.setVisible(key in DIRECT_MATRICES)
        self.direct.blockSignals(True)
        self.direct.setChecked(key in DIRECT_MATRICES and st.is_direct(li, hi, key))
        self.direct.blockSignals(False)
        self.identity_btn.setEnabled(key not in DIRECT_MATRICES or st.is_direct(li, hi, key))
        dk_cols = [str(j + 1) for j in range(s.d_k)]
        dm_cols = [str(j + 1) for j in range(s.d_model)]
        if st.real is not None:
            self.identity_btn.setEnabled(False)  # a real model's matrices are edited cell by cell
        if key == "w_q" and st.real is not None:  # a real head's W_Q: edited in the studio, marked as such
            m = st.model_w_q(li, hi)
            edited = (li, hi) in st.model_edits()
            # The mark first: the panel is narrow and the line is cut at its right edge.
            self.where.setText(("EDITED (Reset: the model's own)" if edited else "the model's own")
                               + f" · layer {li + 1}, head {hi + 1} · {m.shape[0]} × {m.shape[1]}")
            self.table.set_matrix(m, [str(i + 1) for i in range(m.shape[0])], [str(j + 1) for j in range(m.shape[1])])
            return
        if key.startswith("w_") and st.real is not None:
            self.where.setText(f"{st.real.info.name}'s W_K, W_V and W_O are read from its folder and not "
                               "edited here (W_Q is); X, Q, K and V show its numbers")
            self.table.set_matrix(np.zeros((0, 0)), [], [])
            return
        if key.startswith("w_"):
            m = st.matrix(key, li, hi)
            cols = dm_cols if key == "w_o" else dk_cols
            where = f"layer {li + 1}" if key == "w_o" else f"layer {li + 1}, head {hi + 1}"
            self.where.setText(f"{m.shape[0]} × {m.shape[1]} · {where}")
            self.table.set_matrix(m, [str(i + 1) for i in range(m.shape[0])], cols)
            return
        d = self._display
        # A change that adds heads or layers and shows a new one (an undo, a lesson closed)
        # announces the view before the new trace exists: wait for it (set_display).
        if d is None or (key != "x" and not (li < d.trace.settings.layers and hi < d.trace.settings.heads)):
            self.where.setText("no tokens yet" if d is None else "computing…")
            self.table.set_matrix(np.zeros((0, 0)), [], [])
            return
        ts = d.trace.settings  # the shown trace's sizes (a real model's while one is open)
        dk_cols = [str(j + 1) for j in range(ts.d_k)]
        dm_cols = [str(j + 1) for j in range(ts.d_model)]
        tokens = d.trace.tokens
        labels = token_labels(tokens)  # as on the heatmaps: "the#4" only where a word repeats
        if key == "x":
            m = d.trace.backend.asnumpy(d.trace.embeddings)
            self.where.setText(f"{m.shape[0]} × {m.shape[1]} · token vectors (P is added when positions are on)")
            self.table.set_matrix(m, labels, dm_cols)
            return
        m = d.trace.backend.asnumpy(d.trace.head(li, hi).stage(key))
        detached = st.is_direct(li, hi, key)
        self.where.setText(f"{m.shape[0]} × {m.shape[1]} · layer {li + 1}, head {hi + 1} · "
                           + ("your numbers" if detached else f"= X·W_{key.upper()} (read only)"))
        self.table.set_matrix(m, labels, dk_cols, editable=detached)

    # ---- edits ---------------------------------------------------------------------------
    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        if text:
            self.message.emit(text)

    def _on_edit(self, row: int, col: int, value) -> None:
        st, key = self.studio, self.key
        try:
            if key == "x":
                st.set_embedding_cell(row, col, value)
            elif key == "w_q" and st.real is not None:
                st.set_model_w_q_cell(st.layer, st.head, row, col, value)
            elif key in DIRECT_MATRICES:
                st.set_direct_cell(st.layer, st.head, key, row, col, value, current=self.table.matrix())
            else:
                st.set_weight_cell(st.layer, st.head, key, row, col, value)
        except AttnStudioError as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        if key.startswith("w_"):
            self.refresh()  # the state holds these: show the accepted value at once

    def _on_direct_toggled(self, on: bool) -> None:
        st, key = self.studio, self.key
        try:
            if on:
                st.set_direct(st.layer, st.head, key, self.table.matrix())
                self.message.emit(direct_banner(key))
            else:
                st.clear_direct(st.layer, st.head, key)
                self.message.emit(f"{key.upper()} = X·W_{key.upper()} again")
        except AttnStudioError as exc:
            self._show_error(str(exc))
        self.refresh()

    def _on_randomize(self) -> None:
        """A new seed, its matrices seeded off the UI thread (the same queue as the Seed box)."""
        seed = self.studio.new_seed()

        def change() -> None:
            self.studio.set_setting(seed=seed)
            self.message.emit(f"Randomized: seed {seed}")

        self._seeding.run("settings:seed", lambda: [self.studio.settings.with_(seed=seed)], change)

    def _on_reset(self) -> None:
        # The current seed's matrices, seeded again first if memory let them go.
        self._seeding.run("reset", lambda: [self.studio.settings], self.studio.reset)

    def _on_identity(self) -> None:
        try:
            self.studio.identity(self.key)
        except AttnStudioError as exc:
            self._show_error(str(exc))
        self.refresh()
