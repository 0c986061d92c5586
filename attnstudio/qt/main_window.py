"""The studio window: a composition of small widgets around one StudioModel.

Flow (docs/architecture.md): an edit goes to the model (``studio``); its ``inputs`` change
reaches ``studio_qt.changed``, which asks the ComputeController for a Result; the Result's
trace and display cache go to the views. View, selection and display changes redraw from
the last Result without recomputing. Nothing here computes: hover texts and one token's
view come from ``core.explain``.

The window builds its features (the lesson player, presentation mode) and installs them
(``install``): each declares its menus, actions, docks and the files it opens by drop
(``qt/feature.py``), and works through the window's Host services, never through its
widgets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from attnstudio.core.backends import GPU_FAILED, GPU_FAILED_EARLIER
from attnstudio.core.errors import AttnStudioError
from attnstudio.core.explain import explain_cell, explain_reduced_cell, token_labels, token_view
from attnstudio.core.head_lines import line_weights
from attnstudio.core.predict import answer_text
from attnstudio.core.trace import STAGE_MATRIX, Trace
from attnstudio.qt import theme as _theme
from attnstudio.qt.compare_view import CompareView, Side
from attnstudio.qt.compute_worker import ComputeController, hold_gpu_until_painted
from attnstudio.qt.controls import Controls
from attnstudio.qt.document import DocumentFeature, work_of
from attnstudio.qt.export_actions import ExportFeature
from attnstudio.qt.feature import Feature
from attnstudio.qt.head_grid import HeadGrid
from attnstudio.qt.heatmap import HeatmapView
from attnstudio.qt.lesson_author import LessonAuthor
from attnstudio.qt.lesson_player import LessonPlayer
from attnstudio.qt.line_view import MAX_TOKENS as LINE_MAX_TOKENS
from attnstudio.qt.line_view import LineView
from attnstudio.qt.matrix_editor import MatrixEditor
from attnstudio.qt.model_open import ModelFeature
from attnstudio.qt.presentation import Presentation
from attnstudio.qt.qt_studio import QtStudio
from attnstudio.qt.recovery import RecoveryFeature
from attnstudio.qt.scaling_lab import ScalingLabFeature
from attnstudio.qt.scrolling import scrolling
from attnstudio.qt.sentence_bar import SentenceBar
from attnstudio.qt.stage_strip import StageStrip
from attnstudio.qt.stage_view import StageView
from attnstudio.qt.token_strip import TokenStrip
from attnstudio.qt.token_view import TokenViewPanel
from attnstudio.qt.undo import UndoFeature
from attnstudio.qt.view_modes import ViewModes
from attnstudio.studio.compare import Comparison, compare_stage, labels_of, masked_where, what_differs
from attnstudio.studio.model import StudioModel
from attnstudio.studio.result import Result

MESSAGE_MS = 10_000
# What the status bar says when a mask you draw is chosen (the masked stage's line says it too).
MASK_HINTS = {
    "padding": "Padding mask: click a token or a Masked column",
    "custom": "Custom mask: click cells on the Masked stage",
}
# Said in place of a covered weight's arithmetic (a hover) and of one token's view.
COVERED_TEXT = "Hidden until the question is answered: answer it in the narration panel (R reveals)"
FIT_SIZE = (1280, 800)  # the window's size where the screen has room for it
STRIP_PX = 104  # the stage strip with its thumbnails
# The side panels' band: one token's view fits twelve keys' five columns without scrolling.
SIDE_BAND_PX = 356
# Any zoom above 1 is for a hall: the matrix gets the room of the thumbnails, the token chips
# and the Σ row / H column; the chrome grows with the zoom only up to CHROME_ZOOM_MAX.
COMPACT_ZOOM = 1.01
CHROME_ZOOM_MAX = 1.5
# What the stage area shows (the tabs beside the sentence): the stage on view, the line view
# of the weights, or every layer's and head's weights at once.
VIEW_MODES = ("Stage", "Lines", "All heads")


class MainWindow(QMainWindow):
    """Sentence, token strip, the current stage large, every stage small, controls and editors."""

    files_dropped = Signal(list)  # local paths of files dropped on the window that a feature opens

    def __init__(self, studio_qt: QtStudio | None = None, interactive: bool = True, menu_bar: bool = False,
                 parent: QWidget | None = None, model: StudioModel | None = None) -> None:
        """``interactive`` False (exports, the self-test): a lesson that fails reports on the
        status bar and ``lesson_player.last_error``, never in a dialog. ``menu_bar``: menus in
        a menu bar (it costs a line of height) rather than as status-bar buttons."""
        super().__init__(parent)
        self.setWindowTitle("Attention Studio")
        self.studio_qt = studio_qt or QtStudio(model or StudioModel(), self)
        self.studio: StudioModel = self.studio_qt.model
        self.trace: Trace | None = None
        self.result: Result | None = None
        # The Result whose display cache is filled (thumbnails, overview, other heads): the large
        # stage is drawn from a new Result at once, everything else when it is filled.
        self._filled: Result | None = None
        self._mask_shown = self.studio.settings.mask  # a drawn mask's hint is shown when it is chosen
        self.features: list[Feature] = []
        self._drops: dict[str, Callable[[str], object]] = {}
        self._thumbs_for = (-1, -1)  # (layer, head) the thumbnails show
        self._stage_shown = self.studio.stage  # a new stage brings the stage area back to Stage
        self._hidden_docks: list[QDockWidget] = []
        self._front_docks: list[QDockWidget] = []
        self._gpu_failure = ""  # the GPU failure last told (each is told once)
        self.compute = ComputeController(parent=self)
        # The pinned A is computed as B is, by its own controller (its results are ordered by
        # the pin, not by B's changes) and held here as B's Result is.
        self.compute_a = ComputeController(parent=self)
        self.result_a: Result | None = None
        self._pin_asked = -1  # the pin whose A was asked for (-1: none)
        self._panels_for_compare = False  # the side panels were hidden for the comparison

        self.sentence = SentenceBar(self.studio.sentence, self)
        self.token_strip = TokenStrip(self, text_px=18, lines=1)
        self.stage_view = StageView(self)
        # The stage takes the room left, never asks for more: a label or axis shown while a
        # stage is redrawn must not grow the window past its screen (1280×720 became 723).
        self.stage_view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.heatmap: HeatmapView = self.stage_view.heatmap
        self.stage_strip = StageStrip(self)
        self.stage_strip.setFixedHeight(STRIP_PX)
        self.line_view = LineView(self)
        self.head_grid = HeadGrid(self)
        self.view_tabs = ViewModes(VIEW_MODES, self)
        self.view_tabs.setToolTip("Stage: the stepper's stage · Lines: each query's weights as lines to the keys "
                                  "· All heads: every layer's and head's weights")
        self.view_stack = QStackedWidget(self)
        self.view_stack.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        for page in (self.stage_view, self.line_view, self.head_grid):
            self.view_stack.addWidget(page)
        central = QWidget(self)
        central.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the stepper's keys land here
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.sentence, 1)
        top.addWidget(self.view_tabs)
        layout.addLayout(top)
        layout.addWidget(self.token_strip)
        layout.addWidget(self.view_stack, 1)
        # A comparison (a state pinned as A): shown in the stage area's place (_show_compare).
        self.compare_view = CompareView(self)
        self.compare_view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.compare_view.hide()
        layout.addWidget(self.compare_view, 1)
        layout.addWidget(self.stage_strip)
        self.setCentralWidget(central)
        self._central = central

        self.controls = Controls(self.studio_qt, self)
        self.editor = MatrixEditor(self.studio_qt, self)
        self.token_panel = TokenViewPanel(self)
        # The panels scroll rather than impose their width (the editor's buttons: 270 px).
        self.controls_dock = self._dock("Settings", scrolling(self.controls, self), "controls")
        self.editor_dock = self._dock("Matrices", scrolling(self.editor, self), "matrices")
        self.token_dock = self._dock("Token view", self.token_panel, "token_view")
        self.setTabPosition(Qt.DockWidgetArea.RightDockWidgetArea, QTabWidget.TabPosition.North)
        self.side_docks = [self.controls_dock, self.editor_dock, self.token_dock]
        for dock in self.side_docks:
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.tabifyDockWidget(self.controls_dock, self.editor_dock)
        self.tabifyDockWidget(self.editor_dock, self.token_dock)
        self.controls_dock.raise_()
        self.resizeDocks([self.controls_dock], [SIDE_BAND_PX], Qt.Orientation.Horizontal)

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

        self.panels_action = QAction("Side panels (F9)", self)
        self.panels_action.setShortcut(QKeySequence(Qt.Key.Key_F9))
        self.panels_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.panels_action.setCheckable(True)
        self.panels_action.setChecked(True)
        self.panels_action.triggered.connect(self._toggle_panels)
        self.addAction(self.panels_action)
        self.panels_button.setDefaultAction(self.panels_action)
        self.panels_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pin_action = QAction("Pin as A (F8)", self)
        self.pin_action.setToolTip("Pin the state now as A, change anything, and see A | B | B − A (F8 unpins)")
        self.pin_action.setShortcut(QKeySequence(Qt.Key.Key_F8))
        self.pin_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.pin_action.setCheckable(True)
        self.pin_action.triggered.connect(self.toggle_pin)
        self.addAction(self.pin_action)
        self.pin_button = QToolButton(self)
        self.pin_button.setDefaultAction(self.pin_action)
        self.pin_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bar.insertPermanentWidget(0, self.pin_button)
        self._connect()
        if menu_bar:
            self.menuBar()
        self.document = DocumentFeature(self, interactive=interactive)
        self.document.before_command = self.commit_pending  # saving mid-typing keeps the typing
        self.undo = UndoFeature(self)
        self.document.on_reset(self.undo.clear)  # another workspace: the old steps do not apply
        self.recovery = RecoveryFeature(self, work=lambda: work_of(self.studio.snapshot()),
                                        modified=lambda: self.document.modified, document=lambda: self.document.path,
                                        adopt=self.document.adopt, interactive=interactive)
        self.document.on_saved(self.recovery.changed)  # saved: the recovery file goes
        self.lesson_player = LessonPlayer(self, interactive=interactive)
        self.presentation = Presentation(self)
        self.install(self.document)  # File menu, the title, .attn files by drop
        self.install(self.undo)  # Edit menu: undo and redo of every change to the work
        self.install(self.recovery)  # unsaved work written aside; offered back after a crash
        self.install(self.lesson_player)  # Lessons menu, narration dock, lesson files by drop
        self.install(self.presentation)  # full screen, clicker keys, zoom, blank screen
        self.author = LessonAuthor(self, interactive=interactive)
        self.install(self.author, under=self.lesson_player.menu)  # Lessons ▸ Author, the lesson editor dock
        self.exports = ExportFeature(self, self.stage_view, self.editor, lambda: self.trace, interactive=interactive)
        self.exports.picture = lambda: self.compare_view if self.comparing else self.stage_view
        self.exports.difference = self.comparison
        self.install(self.exports, under=self.document.menu)  # File ▸ Export: pictures, matrices, import
        self.models = ModelFeature(self, interactive=interactive)
        self.install(self.models)
        self.models.fill(self.document.menu)  # File ▸ Open Model Folder…, Close Model
        self.models.busy_changed.connect(self._set_busy)
        self.statusBar().addPermanentWidget(self.models.button)
        self.lab = ScalingLabFeature(self, interactive=interactive)
        self.install(self.lab)  # View ▸ Scaling lab…, opened by a lesson step too
        self._apply_display()
        if interactive:  # CuPy is imported and tried on a worker after the first paint, never before
            hold_gpu_until_painted(self, self.compute, self.compute_a)
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
        return dock

    def _connect(self) -> None:
        sq, st = self.studio_qt, self.studio
        self.sentence.sentence_changed.connect(st.set_sentence)
        self.sentence.done_editing.connect(self._central.setFocus)
        sq.changed.connect(self._on_inputs_changed)
        sq.view_changed.connect(self._on_view_changed)
        sq.selection_changed.connect(self._on_selection_changed)
        sq.display_changed.connect(self._apply_display)
        sq.note.connect(self.show_message)
        sq.lesson_changed.connect(self._on_answers_changed)  # a question answered: show its numbers
        self.stage_view.click_answers = self._click_answers
        self.compute.result.connect(self._on_result)
        self.compute.filled.connect(self._on_filled)
        # One token's view follows the trace only while it can be seen; shown again, it catches up.
        self.token_dock.visibilityChanged.connect(lambda on: on and self._show_token_view(raise_dock=False))
        self.compute.busy_changed.connect(self._set_busy)
        self.compute_a.result.connect(self._on_result_a)
        self.compute_a.busy_changed.connect(self._set_busy)
        sq.seeding.busy_changed.connect(self._set_busy)
        self.stage_strip.stage_clicked.connect(self.go_to_stage)
        self.stage_strip.back.connect(st.prev_stage)
        self.stage_strip.next.connect(st.next_stage)
        self.stage_view.cell_hovered.connect(self._on_hover)
        self.stage_view.row_clicked.connect(self.show_token_view)
        self.stage_view.cell_clicked.connect(self._on_mask_cell_clicked)
        self.stage_view.key_clicked.connect(self._on_token_clicked)
        self.stage_view.token_clicked.connect(self._on_token_clicked)
        self.stage_view.head_clicked.connect(lambda h: st.set_view(head=h))
        self.view_tabs.mode_changed.connect(self._on_view_mode)
        self.line_view.mode_changed.connect(self._show_lines)
        self.head_grid.head_clicked.connect(self.open_head)
        self.token_strip.token_clicked.connect(self._on_token_clicked)
        self.controls.message.connect(self.show_message)
        self.editor.message.connect(self.show_message)

    # ---- features ---------------------------------------------------------------------------
    def install(self, feature: Feature, under: QMenu | None = None) -> None:
        """Put a feature's menus, window-wide actions, side docks and drop handlers in place.
        ``under``: its menus go in that menu, as submenus (each status-bar button takes room
        from the status messages)."""
        for menu in feature.menus():
            if under is not None:
                under.addSeparator()
                under.addMenu(menu)
                continue
            self.add_menu(menu)
        for action in feature.actions():
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)
        for dock in feature.docks():
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            self.side_docks.append(dock)
            self.tab_in(dock)
        self._drops.update({suffix.lower(): handler for suffix, handler in feature.drops().items()})
        self.setAcceptDrops(bool(self._drops))
        self.features.append(feature)
        self.controls_dock.raise_()

    def add_menu(self, menu: QMenu) -> None:
        """Put ``menu`` in the menu bar when the window has one; else as a button in the status
        bar (a menu bar would cost a line of height that a 1280×720 projector cannot spare)."""
        if self.menuWidget() is not None:
            self.menuBar().addMenu(menu)
            return
        button = QToolButton(self)
        button.setObjectName("menuButton")
        button.setText(menu.title().replace("&", ""))
        button.setStyleSheet("QToolButton#menuButton { padding-right: 18px; }")  # room for Qt's own ▾
        button.setMenu(menu)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the clicker's keys stay with the window
        placed = [b for b in self.statusBar().findChildren(QToolButton, "menuButton") if b is not button]
        # Permanent widgets, so status messages never hide them; first, in the order added.
        self.statusBar().insertPermanentWidget(len(placed), button)

    def tab_in(self, dock: QDockWidget) -> None:
        """Tab ``dock`` with the side panels (a dock shown again floats on its own otherwise)."""
        for neighbour in self.side_docks:
            if neighbour is not dock and not neighbour.isHidden():
                self.tabifyDockWidget(neighbour, dock)
                return

    def show_dock(self, dock: QDockWidget, width: int = 0) -> None:
        """Show ``dock`` in front of its tabs, at least ``width`` px wide."""
        if dock.isHidden():
            dock.show()
            self.tab_in(dock)
        dock.raise_()
        if width > 0:
            self.resizeDocks([dock], [max(dock.width(), width)], Qt.Orientation.Horizontal)

    def dock_in_front(self, dock: QDockWidget) -> bool:
        """Whether ``dock`` can be seen: shown, and not behind another tab."""
        return not dock.isHidden() and not dock.visibleRegion().isEmpty()

    def fit_to_screen(self) -> None:
        """Size and place the window inside its screen's available area: the whole of a small
        screen (1280×720, 1024×768: a projector without a window manager must not lose the
        status bar or the Back button below its edge), 85 % of a large one, centred."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        w = min(area.width(), max(FIT_SIZE[0], round(area.width() * 0.85)))
        h = min(area.height(), max(FIT_SIZE[1], round(area.height() * 0.85)))
        frame = self.frameGeometry().size() - self.geometry().size()  # a window manager's border
        self.resize(max(1, w - frame.width()), max(1, h - frame.height()))
        self.move(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2)

    def window_widget(self) -> QMainWindow:
        return self

    def show_message(self, text: str, ms: int = MESSAGE_MS) -> None:
        self.statusBar().showMessage(text, ms)

    def dragEnterEvent(self, ev) -> None:
        if self._dropped(ev):
            ev.acceptProposedAction()

    def dragMoveEvent(self, ev) -> None:
        if self._dropped(ev):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        paths = self._dropped(ev)
        if paths:
            ev.acceptProposedAction()
            self._drops[Path(paths[0]).suffix.lower()](paths[0])
            self.files_dropped.emit(paths)

    def _dropped(self, ev) -> list[str]:
        """The local files being dragged that a feature opens."""
        mime = ev.mimeData()
        if mime is None or not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls()
                if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in self._drops]

    def _tell_gpu_failure(self, reason: str) -> None:
        """Once per failure: the GPU failed while the app ran; the CPU took over, nothing lost."""
        if not reason.startswith((GPU_FAILED, GPU_FAILED_EARLIER)):
            return
        cause = reason.split(": ", 1)[-1]
        if cause == self._gpu_failure:
            return
        self._gpu_failure = cause
        self.show_message(f"The GPU failed ({cause}): computing on the CPU from now on. Your work is kept.", 60_000)

    # ---- stepping --------------------------------------------------------------------------
    def go_to_stage(self, key: str) -> None:
        self.view_tabs.set_index(0)
        self.studio.set_stage(key)

    def open_head(self, layer: int, head: int) -> None:
        """A head of the overview grid clicked: its weights, on the stage."""
        with self.studio.batch():
            self.studio.set_view(layer=layer, head=head)
            self.studio.set_stage("weights")
        self.view_tabs.set_index(0)

    def _on_view_mode(self, index: int) -> None:
        self.view_stack.setCurrentIndex(index)
        self._show_lines()
        self._show_grid()

    def shown_what(self, head: int | None = -1) -> str:
        """Which model, layer and head are on view: "all-MiniLM-L6-v2 · layer 4 · head 2"
        (``head`` None: the mean of the layer's heads)."""
        tr = self.trace
        layer, h = self.view_index()
        name = tr.model.name if tr is not None and tr.model is not None else "toy model"
        if head is None:
            heads = tr.settings.heads if tr is not None else 0
            return f"{name} · layer {layer + 1} · mean of {heads} heads"
        return f"{name} · layer {layer + 1} · head {h + 1}"

    def _show_lines(self) -> None:
        """The line view, when it is on view: the weights of the head on view or their mean."""
        tr = self.trace
        if tr is None or self.view_stack.currentWidget() is not self.line_view or not self._ready():
            return
        layer, head = self.view_index()
        which = None if self.line_view.averaged.isChecked() else head
        # Beyond MAX_TOKENS the view shows only a note: no copy of every head's N × N weights for it.
        weights = line_weights(tr, layer, which) if tr.n <= LINE_MAX_TOKENS else np.zeros((0, 0))
        self.line_view.set_lines(self.shown_what(which), token_labels(tr.tokens), weights)

    def _show_grid(self) -> None:
        """The overview grid, when it is on view: every layer's and head's weights."""
        res, tr = self.result, self.trace
        if res is None or res.display is None or tr is None or self.view_stack.currentWidget() is not self.head_grid:
            return
        if not self._ready():
            return
        s = tr.settings
        matrices = [[res.display.get(li, hi, "weights")[0] for hi in range(s.heads)] for li in range(s.layers)]
        name = tr.model.name if tr.model is not None else "toy model"
        self.head_grid.set_heads(f"{name} · {s.layers} layers × {s.heads} heads · N = {tr.n:,}", matrices,
                                 self.view_index(), self.studio.weights_scale)

    # ---- model → compute → views -------------------------------------------------------
    def _on_inputs_changed(self) -> None:
        mask = self.studio.settings.mask
        if mask != self._mask_shown:
            self._mask_shown = mask
            if mask in MASK_HINTS:  # a drawn mask: say how to draw it, once, when it is chosen
                self.show_message(MASK_HINTS[mask], 15_000)
        self.sentence.set_text(self.studio.sentence)
        self.editor.refresh()
        self._request()

    def _request(self) -> None:
        self.compute.request(self.studio.inputs(), (self.studio.layer, self.studio.head, self.studio.stage))

    def _on_result(self, res: Result) -> None:
        if res.empty:
            self.token_strip.set_message("no tokens — type a sentence")
            self.stage_view.show_empty()
            self.stage_strip.set_empty(True)
            return
        if res.trace is None:
            self.stage_view.show_empty(f"Cannot compute this: {res.error}\n\nYour last good numbers are kept.")
            self.show_message(res.error or "", 15_000)
            return
        self.result, self.trace = res, res.trace
        self.stage_strip.set_empty(False)
        self.token_strip.set_tokens(res.trace.tokens)
        padding = res.trace.padding if res.trace.settings.mask == "padding" else ()
        self.token_strip.set_marked(padding)
        self.stage_view.tokens.set_marked(padding)
        self.backend_label.setText(res.trace.backend.label)
        self._tell_gpu_failure(res.trace.backend.reason or "")
        self.timing_label.setText(f"computed in {res.elapsed_ms:.1f} ms")
        # The stage on view first (its matrices are reduced already): the rest when filled.
        self._show_stage()

    def _on_filled(self, res: Result) -> None:
        """Every matrix of ``res`` the window may show is reduced for display: the views beside
        the stage (thumbnails, lines, all heads, one token's view, the editor) catch up."""
        if res is not self.result:
            return
        self._filled = res
        self._update_thumbs()
        self._show_lines()
        self._show_grid()
        self._show_token_view(raise_dock=False)
        self.editor.set_display(res.display)

    def _on_view_changed(self) -> None:
        self._ask_pinned()
        self.stage_strip.set_current(self.studio.stage)
        if self.studio.stage != self._stage_shown:  # a step or a stage key: the stage, not lines or heads
            self._stage_shown = self.studio.stage
            self.view_tabs.set_index(0)
        if self.result is not None and self.result.trace is not None and self.stage_view.stack.currentIndex() == 0:
            if self._thumbs_for != (self.studio.layer, self.studio.head):
                self._update_thumbs()  # they show the head on view
                self._show_token_view(raise_dock=False)
            self._show_stage()
            self._show_lines()
            self._show_grid()
            self.editor.refresh()

    def _show_stage(self) -> None:
        res, st = self.result, self.studio
        if res is None or res.trace is None:
            return
        layer, head = self.view_index()
        # On the tokens stage the chips above the matrix are the stage itself: the strip at the
        # top would say the same again, in the height the embeddings preview needs.
        self.token_strip.setVisible(st.zoom < COMPACT_ZOOM and st.stage != "tokens")
        self.stage_view.set_prompt(self._prompt(), answered=not st.asking, above=st.zoom >= COMPACT_ZOOM)
        self.stage_view.show_stage(res, st.stage, layer, head, st.direct_keys(), st.weights_scale,
                                   covered=self.covered())
        if st.real is not None and (layer, head) in st.model_edits() and st.stage not in ("tokens", "embeddings"):
            # An edited real head is marked wherever its numbers are shown.
            self.stage_view.banner.setText(f"W_Q of layer {layer + 1}, head {head + 1} EDITED: not "
                                           f"{st.real.info.name}'s own (Matrices ▸ Reset)")
            self.stage_view.banner.show()
        self.stage_strip.set_current(st.stage)
        self._apply_highlights()
        self._show_compare()

    def _ready(self) -> bool:
        """Whether the Result shown has every matrix reduced for display (else the views
        beside the stage wait for ``_on_filled``, rather than reduce on the UI thread)."""
        return self.result is not None and self.result is self._filled

    def _update_thumbs(self) -> None:
        res, st = self.result, self.studio
        if res is None or res.display is None or res.trace is None or not self._ready():
            return
        if self.stage_strip.compact:
            return  # hidden while zoomed (_apply_display draws them on coming back)
        layer, head = self.view_index()
        self._thumbs_for = (st.layer, st.head)
        for key, thumb in self.stage_strip.thumbs.items():
            if key == "tokens":
                thumb.set_text(f"{res.trace.n:,} tokens")
                continue
            name, scale = STAGE_MATRIX[key]
            thumb.set_matrix(res.display.get(layer, head, name)[0], scale, st.weights_scale,
                             covered=self.covered() if name == "weights" else None)

    def covered(self) -> np.ndarray | None:
        """The weights on view that a lesson's unanswered question hides (N × N), or None: from
        the model, and only when they fit the trace shown."""
        if self.trace is None:
            return None
        cov = self.studio.covered_weights(*self.view_index())
        return cov if cov is not None and cov.shape == (self.trace.n, self.trace.n) else None

    def _covered_row(self, row: int) -> bool:
        cov = self.covered()
        return cov is not None and 0 <= row < cov.shape[0] and bool(cov[row].any())

    def _redraw(self) -> None:
        if self.result is not None and self.result.trace is not None and self.stage_view.stack.currentIndex() == 0:
            self._show_stage()

    def _on_answers_changed(self) -> None:
        """A question answered, revealed or its cells marked: its numbers come back (or not)."""
        if self.result is None or self.result.trace is None or self.stage_view.stack.currentIndex() != 0:
            return
        self._update_thumbs()
        self._show_stage()
        self._show_token_view(raise_dock=False)

    def _click_answers(self, stage: str, row: int, col: int) -> bool:
        """A click on the weights while a question waits: the model takes it as the answer
        (or a marked cell) when it is one."""
        return stage == "weights" and self.covered() is not None and self.studio.answer_cell(row, col)

    def view_index(self) -> tuple[int, int]:
        """(layer, head) on view, within the shown trace (which may predate a size change)."""
        st, tr = self.studio, self.trace
        if tr is None:
            return st.layer, st.head
        return min(st.layer, tr.settings.layers - 1), min(st.head, tr.settings.heads - 1)

    # ---- compare: A (pinned) | B (now) | B − A (studio.compare) ----------------------------
    def toggle_pin(self) -> None:
        """Pin the state now as A, or unpin (F8, the status bar's button)."""
        if self.studio.pinned is None:
            try:
                self.studio.pin()
            except AttnStudioError as exc:  # a real model is open: compare is the toy model's
                self.show_message(str(exc))
        else:
            self.studio.unpin()

    @property
    def comparing(self) -> bool:
        """Whether the comparison is on screen (a pin, and both A and B computed)."""
        return self.compare_view.isVisibleTo(self)

    def _ask_pinned(self) -> None:
        """A pinned or unpinned: ask for A's Result (computed as B's), or drop it."""
        inputs = self.studio.pinned_inputs()
        asked = -1 if inputs is None else inputs.generation
        if asked == self._pin_asked:
            return
        self._pin_asked = asked
        self.result_a = None
        if inputs is None:  # _on_view_changed, the only caller, draws the stage next
            self._show_compare()
            return
        self.compute_a.request(inputs, (self.studio.layer, self.studio.head))

    def _on_result_a(self, res: Result) -> None:
        if self.studio.pinned is None:
            return
        self.result_a = res
        self._redraw()

    def comparison(self) -> Comparison | None:
        """The comparison of the stage on view, or None when nothing is pinned (or A or B is
        not computed yet)."""
        a, b = self.result_a, self.result
        if self.studio.pinned is None or a is None or b is None or b.trace is None:
            return None
        if a.trace is None:
            return Comparison(None, None, None, f"A cannot be computed: {a.error}")
        return compare_stage(a, b, STAGE_MATRIX[self.studio.stage][0], *self.view_index())

    def _show_compare(self) -> None:
        """A | B | B − A in the stage's place while a state is pinned; outside a lesson the side
        panels give their room to the three panes (and come back on unpinning)."""
        st = self.studio
        self.pin_action.setChecked(st.pinned is not None)
        self.pin_action.setText("Unpin A (F8)" if st.pinned is not None else "Pin as A (F8)")
        cmp = self.comparison()
        # While a lesson's question waits the stage alone is shown: B's numbers are the answer.
        on = cmp is not None and self.stage_view.stack.currentIndex() == 0 and self.covered() is None
        # Outside a lesson the side panels make room for the three panes' numbers (F9 brings
        # them back); a lesson keeps them: its narration says what the comparison shows.
        if on and st.lesson is None and self.panels_action.isChecked() and not self._panels_for_compare:
            self._panels_for_compare = True
            self.panels_action.setChecked(False)
            self._toggle_panels()
        if not on and st.pinned is None and self._panels_for_compare:
            self._panels_for_compare = False
            if not self.panels_action.isChecked():
                self.panels_action.setChecked(True)
                self._toggle_panels()
        self.view_stack.setVisible(not on)  # the stage area (stage, lines or all heads) gives way
        self.compare_view.setVisible(on)
        if not on or cmp is None:
            return
        self.token_strip.setVisible(False)  # the panes' rows name the tokens; the cells need the height
        a, b = self.result_a, self.result
        assert a is not None and b is not None and b.trace is not None
        layer, head = self.view_index()
        name, scale = STAGE_MATRIX[st.stage]
        b_side = Side(labels_of(b), b.trace.settings, masked_where(b, layer, head))
        a_side = Side(labels_of(a), a.trace.settings, masked_where(a, layer, head)) if a.trace is not None else b_side
        self.compare_view.show_compare(cmp, st.stage, name, scale, layer, head, a_side, b_side,
                                       what_differs(a.inputs, b.inputs), st.weights_scale)

    # ---- hover, selection and one token's view ---------------------------------------------
    def _on_hover(self, name: str, row: int, col: int) -> None:
        view = self.stage_view.view_named(name)
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
        if name in ("weights", "output") and self._covered_row(row):
            return COVERED_TEXT  # a weight, or an output that would show the row's weights
        m, f = res.display.get(layer, head, name)
        if f > 1:
            what = explain_reduced_cell(res.display.source(layer, head, name), m, f, row, col, name,
                                        to_host=res.trace.backend.asnumpy)
            return f"{what}; numbers are shown for N ≤ {res.display.max_side}"
        try:  # a real model's trace explains its cells itself: the toy's matrices are not its
            weights = res.inputs.weights if res.trace.model is None else None
            return explain_cell(res.trace, layer, head, name, row, col, weights=weights)
        except Exception as exc:  # a hover must never take the window down
            return f"(no explanation for this cell: {exc})"

    def _on_token_clicked(self, index: int) -> None:
        """A word clicked: the answer to "which key gets the most weight?" while a lesson's
        question waits; under the padding mask it marks or unmarks the token as padding (one
        undoable edit); otherwise it opens that token's view."""
        if self.studio.asking and self.studio.answer_token(index):
            return
        if self.studio.settings.mask != "padding" or self.studio.real is not None:
            self.show_token_view(index)
            return
        try:
            self.studio.toggle_padding(index)
        except AttnStudioError as exc:
            self.show_message(str(exc))
            return
        token = token_labels(self.studio.tokens())[index]
        state = "marked as padding" if index in self.studio.padding else "no longer padding"
        self.show_message(f"{token} {state} · Ctrl+Z undoes it")

    def _on_mask_cell_clicked(self, row: int, col: int) -> None:
        """A cell of the masked stage under the custom mask: mask or unmask it (undoable)."""
        try:
            self.studio.toggle_mask_cell(row, col)
        except AttnStudioError as exc:
            self.show_message(str(exc))
            return
        tokens = token_labels(self.studio.tokens())
        state = "masked" if (row, col) in self.studio.mask_cells else "unmasked"
        self.show_message(f"({tokens[row]}, {tokens[col]}) {state} · Ctrl+Z undoes it")

    def show_token_view(self, row: int) -> None:
        """Open "one token's view" for query ``row`` of the head on view (selects the row)."""
        if self.trace is None or not 0 <= row < self.trace.n or row >= len(self.studio.tokens()):
            return
        if row == self.studio.selected_row:
            self._show_token_view(raise_dock=True)  # clicked again: bring the panel back to the front
        else:
            self.studio.select_row(row)

    def _on_selection_changed(self) -> None:
        self._show_token_view(raise_dock=True)
        self._apply_highlights()

    def _show_token_view(self, raise_dock: bool) -> None:
        """The token panel shows the selected row of the shown trace (or says how to pick one)."""
        row, tr = self.studio.selected_row, self.trace
        if not raise_dock and not self.dock_in_front(self.token_dock):
            return  # not seen: shown again, the dock catches up (visibilityChanged)
        if row < 0 or tr is None or row >= tr.n:
            self.token_panel.clear()
            return
        if self._covered_row(row):
            self.token_panel.clear(COVERED_TEXT)
            return
        try:
            self.token_panel.set_view(token_view(tr, *self.view_index(), row))
        except Exception as exc:  # show why instead of failing the click
            self.show_message(f"one token's view failed: {exc}")
            return
        if raise_dock:
            # In front of its tabs, at the band's width: widening it squeezed the matrix.
            self.show_dock(self.token_dock)

    def _apply_highlights(self) -> None:
        """The outlines come from the model alone (the step's and the selected row)."""
        rows, cells = self.studio.view_highlights()
        cov = self.covered()
        if cov is not None:  # a step's outline inside a question's cells would give the answer away
            cells = tuple((r, c) for r, c in cells if not (r < cov.shape[0] and c < cov.shape[1] and cov[r, c]))
        cells = (*cells, *self._answer_cells())
        n = self.trace.n if self.trace is not None else 0
        f = max(1, self.stage_view.factor)
        shown_rows = sorted({r // f for r in rows if r < n})
        self.heatmap.set_highlights(rows=shown_rows, cells=sorted({(r // f, c // f) for r, c in cells
                                                                   if r < n and c < n}))
        selected = self.studio.selected_row
        self.stage_view.side.set_highlight(selected // f if 0 <= selected < n else -1)
        self.token_strip.set_highlight(selected if selected < n else -1)

    def _prompt(self) -> str:
        """The line above the matrix on a step that asks: its question while it waits, then the
        answer with its why (from core.predict through the model). Only where the narration
        panel may not be seen: zoomed for the hall, or with the side panels hidden."""
        st = self.studio
        step = st.step
        if self.panels_action.isChecked() and st.zoom < COMPACT_ZOOM:
            return ""
        if step is None or step.predict is None or self.view_index() != (step.state.layer, step.state.head):
            return ""
        try:
            ans = st.step_answer()
        except Exception:  # the narration panel reports it; a prompt must never fail a redraw
            return ""
        if ans is None:
            return ""
        if st.asking:
            return f"Question: {ans.question}"
        # The why names the answer itself, except for an option.
        return f"Answer: {answer_text(ans)}. {ans.why}" if ans.option is not None else f"Answer: {ans.why}"

    def _answer_cells(self) -> tuple[tuple[int, int], ...]:
        """Outlined on the weights: the cells marked so far while a question waits, and the
        answer's cells once it is answered or revealed."""
        st = self.studio
        step = st.step
        if st.stage != "weights" or step is None or step.predict is None:
            return ()
        if self.view_index() != (step.state.layer, step.state.head):
            return ()
        if st.asking:
            r = st.response()
            return r.cells if r is not None else ()
        ans = st.step_answer()
        return ans.cells if ans is not None else ()

    # ---- presentation ----------------------------------------------------------------------
    def _toggle_panels(self) -> None:
        """Hide the side panels to give the stage the whole width (F9), or bring them back."""
        if not self.panels_action.isChecked():
            # Every side dock, the features' too: any one left showing would keep the side
            # area, and the stage its narrow width.
            self._hidden_docks = [d for d in self.side_docks if d.isVisible()]
            # The tab in front (e.g. the lesson's narration) comes back in front.
            self._front_docks = [d for d in self._hidden_docks if not d.visibleRegion().isEmpty()]
            for dock in self._hidden_docks:
                dock.hide()
            self._redraw()
            return
        self._redraw()  # the question's line above the matrix is for the hall, without the panels
        for dock in self._hidden_docks or (self.controls_dock, self.editor_dock, self.token_dock):
            dock.show()
        for dock in self._front_docks or (self.controls_dock,):
            dock.raise_()
        self._hidden_docks = []
        self._front_docks = []

    @property
    def idle(self) -> bool:
        """Nothing on its way: no change waits for seeding, none for its frame, no computation
        runs (tests, exports and the self-test wait for this; small inputs are instant)."""
        return not (self.studio_qt.seeding.busy or self.studio_qt.pending or self.compute.busy
                    or self.compute_a.busy or self.models.loading)

    def _set_busy(self, _busy: bool = False) -> None:
        """The busy bar and what it waits for: seeding a change's matrices, or a computation."""
        seeding = self.studio_qt.seeding.seeding
        loading = hasattr(self, "models") and self.models.loading
        busy = self.compute.busy or self.compute_a.busy or self.studio_qt.seeding.busy or loading
        if loading:
            text = "loading model…"
        elif seeding:
            s = seeding[-1]
            text = f"seeding {s.layers * s.heads:,} heads' weights…"
        elif self.compute.busy:
            real = self.studio.real
            on = f"{real.info.name} on " if real is not None else ""
            text = f"computing {on}{len(self.studio.tokens()):,} tokens…"
        else:
            text = "waiting…" if busy else ""
        self.busy.setVisible(busy)
        self.busy_label.setText(text)
        self.busy_label.setVisible(busy)

    def _apply_display(self) -> None:
        """Theme and zoom from the model: the matrices' numbers grow by the zoom, their labels
        too up to 1.5×, the window's chrome (sentence, titles, buttons, tabs) by the square
        root of that.

        The numbers are what the back of the hall must read; if the chrome and labels grew
        as much they would take the room the matrix needs (at 2× on 1280×720 the chrome left
        the matrix one row tall), and zooming would shrink the very cells it should enlarge.
        """
        theme, zoom = self.studio.theme, self.studio.zoom
        chrome = math.sqrt(min(zoom, CHROME_ZOOM_MAX))
        self.setStyleSheet(_theme.stylesheet(theme, chrome))
        self.stage_view.set_theme(theme)
        self.line_view.set_theme(theme)
        self.head_grid.set_theme(theme)
        self.compare_view.set_theme(theme)
        self.stage_strip.set_theme(theme)
        self.token_strip.set_theme(theme)
        self.stage_view.set_font_scale(zoom)
        self.compare_view.set_font_scale(zoom)
        self.token_strip.set_font_scale(chrome)
        # Zoomed for the hall: the matrix first. The token chips repeat the matrix's labels,
        # the thumbnails are for finding a stage at a desk, and Σ row / H are in each weight's
        # hover: they give their room back, so zooming never shrinks the matrix.
        compact = zoom >= COMPACT_ZOOM
        self.token_strip.setVisible(not compact and self.studio.stage != "tokens")
        self.stage_strip.set_compact(compact)
        self.stage_view.set_compact(compact)
        self.stage_strip.setFixedHeight(self.stage_strip.next_btn.sizeHint().height() + 4 if compact else STRIP_PX)
        # Lay the column out again now: setFixedHeight resizes the strip at once, and a layout
        # that kept its old plan left the grown strip under the status bar (the soak test's
        # finding, zoom 1.15 → 1.0: Back, Next and the thumbnails out of reach).
        layout = self._central.layout()
        layout.invalidate()
        layout.activate()
        # One token's view lives in the side band, which a zoom does not widen: its text grows
        # a little (as the narration's), its table not at all, so that it never scrolls sideways.
        self.token_panel.set_font_scale(zoom ** 0.25 if zoom > 1 else zoom)
        self._update_thumbs()  # the weights' colour scale may have changed
        self._show_grid()
        if self.stage_view.stack.currentIndex() == 0:  # not over "no tokens" or "cannot compute"
            self._show_stage()

    def closeEvent(self, ev) -> None:
        """Unsaved work asks first (Save / Discard / Cancel); Cancel keeps the window open."""
        self.commit_pending()
        if not self.document.maybe_save() or not self.author.may_close():
            ev.ignore()
            return
        self.recovery.close()  # a clean close: the work is saved or knowingly discarded
        self.lab.close()  # and a benchmark under way stops
        super().closeEvent(ev)

    def commit_pending(self) -> None:
        """Hand the model what is typed but not yet handed over: the sentence within its
        debounce, a number in a cell's open editor (before saving, opening or closing)."""
        self.sentence.flush()
        self.editor.table.commit_open_editor()

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if not self.sentence.field.hasFocus():
            self._central.setFocus()
