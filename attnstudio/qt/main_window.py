"""The studio window: a composition of small widgets around one StudioState.

Flow (STYLE.md): an edit goes to ``state``; ``state.changed`` asks the ComputeController
for a Result; the Result's trace and display cache go to the views. Nothing here computes:
hover texts and one token's view come from ``core.explain``.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from attnstudio.core.explain import explain_cell, token_view
from attnstudio.core.trace import STAGE_KEYS, Trace
from attnstudio.qt import theme as _theme
from attnstudio.qt.compute_worker import ComputeController, Result
from attnstudio.qt.controls import Controls
from attnstudio.qt.heatmap import HeatmapView
from attnstudio.qt.matrix_editor import MatrixEditor
from attnstudio.qt.scrolling import scrolling
from attnstudio.qt.sentence_bar import SentenceBar
from attnstudio.qt.stage_strip import StageStrip
from attnstudio.qt.stage_view import EXPLAIN_NAME, MAIN_MATRIX, StageView
from attnstudio.qt.state import StudioState
from attnstudio.qt.token_strip import TokenStrip
from attnstudio.qt.token_view import TokenViewPanel

# Thumbnail of each stage: (cache matrix, colour scale); "tokens" shows a count instead.
THUMB_MATRIX = {k: v for k, v in MAIN_MATRIX.items() if k != "tokens"}


class MainWindow(QMainWindow):
    """Sentence, token strip, the current stage large, every stage small, controls and editors."""

    def __init__(self, state: StudioState | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Attention Studio")
        self.state = state or StudioState(parent=self)
        self.trace: Trace | None = None
        self.result: Result | None = None
        self.theme = "dark"
        self.font_scale = 1.0
        self.selected_row = -1
        self._thumbs_for = (-1, -1)  # (layer, head) the thumbnails show
        self.compute = ComputeController(parent=self)

        self.sentence = SentenceBar(self.state.sentence, self)
        self.token_strip = TokenStrip(self, text_px=18, lines=1)
        self.stage_view = StageView(self)
        self.heatmap: HeatmapView = self.stage_view.heatmap
        self.stage_strip = StageStrip(self)
        self.stage_strip.setFixedHeight(104)
        central = QWidget(self)
        central.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the stepper's keys land here
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setSpacing(4)
        layout.addWidget(self.sentence)
        layout.addWidget(self.token_strip)
        layout.addWidget(self.stage_view, 1)
        layout.addWidget(self.stage_strip)
        self.setCentralWidget(central)
        self._central = central

        self.controls = Controls(self.state, self)
        self.editor = MatrixEditor(self.state, self)
        self.token_panel = TokenViewPanel(self)
        # The panels scroll rather than impose their width (the editor's buttons: 270 px).
        self.controls_dock = self._dock("Settings", scrolling(self.controls, self), "controls")
        self.editor_dock = self._dock("Matrices", scrolling(self.editor, self), "matrices")
        self.token_dock = self._dock("One token's view", self.token_panel, "token_view")
        self.setTabPosition(Qt.DockWidgetArea.RightDockWidgetArea, QTabWidget.TabPosition.North)
        self.tabifyDockWidget(self.controls_dock, self.editor_dock)
        self.tabifyDockWidget(self.editor_dock, self.token_dock)
        self.controls_dock.raise_()
        self.resizeDocks([self.controls_dock], [336], Qt.Orientation.Horizontal)

        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setMaximumHeight(14)
        self.busy_label = QLabel(self)
        self.backend_label = QLabel(self)
        self.timing_label = QLabel(self)
        self.timing_label.setObjectName("muted")
        self.panels_button = QToolButton(self)
        bar = self.statusBar()
        bar.addPermanentWidget(self.panels_button)
        bar.addPermanentWidget(self.busy_label)
        bar.addPermanentWidget(self.busy)
        bar.addPermanentWidget(self.timing_label)
        bar.addPermanentWidget(self.backend_label)
        self._set_busy(False)

        self._make_actions()
        self.panels_button.setDefaultAction(self.panels_action)
        self.panels_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._connect()
        self.set_theme("dark")
        self._request()
        self._on_view_changed()

    # ---- building ------------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        # The tabs name the docks: a title bar would only repeat the name and cost a line.
        dock.setTitleBarWidget(QWidget(dock))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _make_actions(self) -> None:
        def action(text: str, keys: list, slot) -> QAction:
            a = QAction(text, self)
            a.setShortcuts([QKeySequence(k) for k in keys])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.next_action = action("Next stage", [Qt.Key.Key_Right, Qt.Key.Key_PageDown], self.next_stage)
        self.prev_action = action("Previous stage", [Qt.Key.Key_Left, Qt.Key.Key_PageUp], self.prev_stage)
        self.first_action = action("First stage", [Qt.Key.Key_Home], lambda: self.go_to_stage(STAGE_KEYS[0]))
        self.last_action = action("Last stage", [Qt.Key.Key_End], lambda: self.go_to_stage(STAGE_KEYS[-1]))
        self.zoom_in_action = action("Larger text", [QKeySequence.StandardKey.ZoomIn, "Ctrl+="],
                                     lambda: self.set_font_scale(self.font_scale * 1.15))
        self.panels_action = action("Side panels (F9)", [Qt.Key.Key_F9], self._toggle_panels)
        self.panels_action.setCheckable(True)
        self.panels_action.setChecked(True)
        self.zoom_out_action = action("Smaller text", [QKeySequence.StandardKey.ZoomOut],
                                      lambda: self.set_font_scale(self.font_scale / 1.15))

    def _connect(self) -> None:
        st = self.state
        self.sentence.sentence_changed.connect(st.set_sentence)
        self.sentence.done_editing.connect(self._central.setFocus)
        st.changed.connect(self._on_state_changed)
        st.view_changed.connect(self._on_view_changed)
        st.note.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.compute.result.connect(self._on_result)
        self.compute.busy_changed.connect(self._set_busy)
        self.stage_strip.stage_clicked.connect(self.go_to_stage)
        self.stage_strip.back.connect(self.prev_stage)
        self.stage_strip.next.connect(self.next_stage)
        self.stage_view.cell_hovered.connect(self._on_hover)
        self.stage_view.row_clicked.connect(self.show_token_view)
        self.stage_view.token_clicked.connect(self.show_token_view)
        self.stage_view.head_clicked.connect(lambda h: st.set_view(head=h))
        self.token_strip.token_clicked.connect(self.show_token_view)
        self.controls.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.controls.theme_changed.connect(self.set_theme)
        self.editor.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))

    # ---- stepping --------------------------------------------------------------------------
    @property
    def current_stage(self) -> str:
        return self.state.stage

    def go_to_stage(self, key: str) -> None:
        self.state.set_stage(key)

    def next_stage(self) -> None:
        i = STAGE_KEYS.index(self.state.stage)
        self.go_to_stage(STAGE_KEYS[min(i + 1, len(STAGE_KEYS) - 1)])

    def prev_stage(self) -> None:
        i = STAGE_KEYS.index(self.state.stage)
        self.go_to_stage(STAGE_KEYS[max(i - 1, 0)])

    # ---- state → compute → views -------------------------------------------------------
    def _on_state_changed(self) -> None:
        self.sentence.set_text(self.state.sentence)
        self.editor.refresh()
        self._request()

    def _request(self) -> None:
        self.compute.request(self.state.snapshot(), (self.state.layer, self.state.head))

    def _on_result(self, res: Result) -> None:
        if res.empty:
            self.token_strip.set_message("no tokens — type a sentence")
            self.stage_view.show_empty()
            self.stage_strip.set_empty(True)
            return
        if res.trace is None:
            self.stage_view.show_empty(f"Cannot compute this: {res.error}\n\nYour last good numbers are kept.")
            self.statusBar().showMessage(res.error or "", 15_000)
            return
        self.result, self.trace = res, res.trace
        self.stage_strip.set_empty(False)
        self.token_strip.set_tokens(res.trace.tokens)
        self.backend_label.setText(res.trace.backend.label)
        self.timing_label.setText(f"computed in {res.elapsed_ms:.1f} ms")
        if self.selected_row >= res.trace.n:
            self.selected_row = -1
        self._update_thumbs()
        self._show_stage()
        self.editor.set_display(res.display)

    def _on_view_changed(self) -> None:
        self.stage_strip.set_current(self.state.stage)
        if self.result is not None and self.result.trace is not None and self.stage_view.stack.currentIndex() == 0:
            if self._thumbs_for != (self.state.layer, self.state.head):
                self._update_thumbs()  # they show the head on view
            self._show_stage()
            self.editor.refresh()

    def _show_stage(self) -> None:
        res, st = self.result, self.state
        if res is None or res.trace is None:
            return
        layer, head = self.view_index()
        self.stage_view.show_stage(res, st.stage, layer, head, st.direct_keys())
        self.stage_strip.set_current(st.stage)
        self._apply_highlights()

    def _update_thumbs(self) -> None:
        res, st = self.result, self.state
        if res is None or res.display is None or res.trace is None:
            return
        layer, head = self.view_index()
        self._thumbs_for = (st.layer, st.head)
        for key, thumb in self.stage_strip.thumbs.items():
            if key == "tokens":
                thumb.set_text(f"{res.trace.n:,} tokens")
                continue
            name, scale = THUMB_MATRIX[key]
            thumb.set_matrix(res.display.get(layer, head, name)[0], scale)

    def view_index(self) -> tuple[int, int]:
        """(layer, head) on view, within the shown trace (which may predate a size change)."""
        st, tr = self.state, self.trace
        if tr is None:
            return st.layer, st.head
        return min(st.layer, tr.settings.layers - 1), min(st.head, tr.settings.heads - 1)

    # ---- hover and one token's view --------------------------------------------------------
    def _on_hover(self, name: str, row: int, col: int) -> None:
        view = {"k": self.stage_view.k_view, "v": self.stage_view.v_view}.get(name, self.heatmap)
        if row < 0 or self.result is None or self.trace is None:
            self.stage_view.set_hovering(view, False)
            return
        self.stage_view.set_hovering(view, True)
        text = self.hover_text(name, row, col)
        self.stage_view.show_hover(view, text)
        self.statusBar().showMessage(text)

    def hover_text(self, name: str, row: int, col: int) -> str:
        """The arithmetic of a cell on view (from core.explain), or what a reduced cell covers."""
        res = self.result
        assert res is not None and res.trace is not None and res.display is not None
        layer, head = self.view_index()
        m, f = res.display.get(layer, head, name)
        if f > 1:
            r0, r1 = row * f, min((row + 1) * f, res.trace.n) - 1
            return (f"reduced for display: this cell is the mean of rows {r0}–{r1}"
                    f" = {m[row, col]:.3g}; numbers are shown for N ≤ {res.display.max_side}")
        try:
            return explain_cell(res.trace, layer, head, EXPLAIN_NAME[name], row, col, weights=res.inputs.weights)
        except Exception as exc:  # a hover must never take the window down
            return f"(no explanation for this cell: {exc})"

    def show_token_view(self, row: int) -> None:
        """Open "one token's view" for query ``row`` of the head on view."""
        if self.trace is None or not 0 <= row < self.trace.n:
            return
        self.selected_row = row
        try:
            self.token_panel.set_view(token_view(self.trace, *self.view_index(), row))
        except Exception as exc:  # show why instead of failing the click
            self.statusBar().showMessage(f"one token's view failed: {exc}", 10_000)
            return
        self.token_dock.show()
        self.token_dock.raise_()
        # Its table has eight columns: give it some room, but the stage keeps most of the
        # width (its numbers must stay readable); the table scrolls for the rest.
        want = max(self.controls_dock.width(), min(520, int(self.width() * 0.32)))
        self.resizeDocks([self.token_dock], [want], Qt.Orientation.Horizontal)
        self._apply_highlights()

    def _apply_highlights(self) -> None:
        r = self.selected_row
        stage = self.state.stage
        f = self.stage_view.factor
        rows = (r // f,) if r >= 0 and stage in ("scores", "scaled", "masked", "weights", "output") else ()
        self.heatmap.set_highlights(rows=rows)
        self.stage_view.side.set_highlight(rows[0] if rows else -1)
        self.token_strip.set_highlight(r)

    # ---- presentation ----------------------------------------------------------------------
    def _toggle_panels(self) -> None:
        """Hide the side panels to give the stage the whole width (F9), or bring them back."""
        on = self.panels_action.isChecked()
        if not on:
            # Every dock, including those added from outside (the lesson player's narration):
            # any one left showing would keep the side area, and the stage its narrow width.
            self._hidden_docks = [d for d in self.findChildren(QDockWidget) if d.isVisible()]
            # The tab in front (e.g. the lesson's narration) comes back in front.
            self._front_docks = [d for d in self._hidden_docks if not d.visibleRegion().isEmpty()]
            for dock in self._hidden_docks:
                dock.hide()
            return
        for dock in getattr(self, "_hidden_docks", None) or (self.controls_dock, self.editor_dock, self.token_dock):
            dock.show()
        for dock in getattr(self, "_front_docks", None) or (self.controls_dock,):
            dock.raise_()
        self._hidden_docks = []
        self._front_docks = []

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        n = len(self.state.tokens()) if busy else 0
        self.busy_label.setText(f"computing {n:,} tokens…" if busy else "")
        self.busy_label.setVisible(busy)

    def set_theme(self, name: str) -> None:
        """'dark' or 'light' (high contrast, for projectors)."""
        self.theme = name
        self.controls.show_theme(name)
        self.setStyleSheet(_theme.stylesheet(name, math.sqrt(self.font_scale)))
        self.stage_view.set_theme(name)
        self.stage_strip.set_theme(name)
        self.token_strip.set_theme(name)

    def set_font_scale(self, f: float) -> None:
        """Grow every text in the window (presentation zoom): the matrices' numbers and labels
        by ``f``, the window's chrome (sentence, titles, buttons, tabs, token chips) by √f.

        The numbers are what the back of the hall must read; if the chrome grew as much it
        would take the height the heatmap needs (at 2× on 1280×720 it left the matrix one row
        tall and pushed the window past the screen).
        """
        self.font_scale = max(0.5, min(float(f), 4.0))
        chrome = math.sqrt(self.font_scale)
        self.setStyleSheet(_theme.stylesheet(self.theme, chrome))
        self.stage_view.set_font_scale(self.font_scale)
        self.token_strip.set_font_scale(chrome)
        self.token_panel.set_font_scale(self.font_scale)

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if not self.sentence.field.hasFocus():
            self._central.setFocus()

