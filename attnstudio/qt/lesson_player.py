"""The lesson player: a lesson's steps played on the studio window, one key at a time.

``install_lesson_player(window)`` attaches everything from outside the window (the window
knows nothing of lessons): a narration dock, a "Lessons" menu (every built-in lesson, "Open
lesson file…" Ctrl+O, close), drag and drop of ``.toml`` files, and the presentation keys
(``presentation.py``). A step is applied as one ``StudioState.apply`` (one recompute) with
copies of the step's arrays; the window's views follow the state as for any edit, so the
user can still change anything, and the next step applies its own state again.

A lesson that cannot be read shows one message naming the file, step and key (the core's
LessonError), in a dialog and the status bar, and the window keeps its work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMenu, QMessageBox, QTabBar, QWidget

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.lessons import Lesson, LessonError, builtin_lessons, load_lesson
from attnstudio.core.weights import Weights
from attnstudio.qt.narration_panel import NarrationPanel
from attnstudio.qt.scrolling import scrolling

if TYPE_CHECKING:
    from attnstudio.core.lesson_schema import LessonStep
    from attnstudio.qt.main_window import MainWindow

# Stages whose large heatmap is token × token: only there does a (row, column) cell name two words.
TOKEN_BY_TOKEN = ("scores", "scaled", "masked", "weights")
DOCK_WIDTH = 400  # px; or a quarter of a wider window


class LessonPlayer(QObject):
    """Plays a Lesson on a MainWindow: ``open_lesson``, ``go_to_step``, ``next_step``, ``prev_step``.

    ``step_index`` is 0-based (-1 with no lesson). ``stepChanged`` carries the new index;
    ``lessonChanged`` fires when a lesson opens or closes.
    """

    stepChanged = Signal(int)  # noqa: N815  (Qt signal naming, part of the API)
    lessonChanged = Signal()  # noqa: N815

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._lesson: Lesson | None = None
        self._index = -1
        self.last_error = ""
        self.error_box: QMessageBox | None = None
        # False for headless use (export): no dialogs, no dock raised; last_error says what failed.
        self.interactive = True

        self.panel = NarrationPanel(window)
        self.panel.back.connect(self.prev_step)
        self.panel.next.connect(self.next_step)
        self.dock = QDockWidget("Lesson", window)
        self.dock.setObjectName("lesson")
        self.dock.setWidget(scrolling(self.panel, self.dock))  # its buttons: 244 px
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.dock.setTitleBarWidget(QWidget(self.dock))  # the tab names it, as for the window's docks
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self._tabify()
        controls = getattr(window, "controls_dock", None)
        if isinstance(controls, QDockWidget):
            controls.raise_()

        self._make_menu()
        window.setAcceptDrops(True)
        window.installEventFilter(self)
        # Connected after the window's own slots, so these run after it has drawn the stage
        # (and set its own highlight of a clicked row), and add the step's highlights.
        window.compute.result.connect(self._apply_highlights)
        window.state.view_changed.connect(self._apply_highlights)
        window.stage_view.row_clicked.connect(self._apply_highlights)
        window.stage_view.token_clicked.connect(self._apply_highlights)
        self._follow_style()

        from attnstudio.qt.presentation import install_presentation

        self.presentation = install_presentation(window, self)

    # ---- reading ---------------------------------------------------------------------------
    @property
    def lesson(self) -> Lesson | None:
        return self._lesson

    @property
    def step_index(self) -> int:
        return self._index

    @property
    def step(self) -> LessonStep | None:
        return self._lesson.steps[self._index] if self._lesson is not None and self._index >= 0 else None

    # ---- opening -----------------------------------------------------------------------------
    def open_lesson(self, lesson_or_id_or_path: Lesson | str | os.PathLike[str]) -> bool:
        """Open a Lesson, a built-in lesson id or a lesson file, on its first step.

        Returns False, shows one message (file, step, key) and keeps the current work when it
        cannot be read or its first step cannot be applied.
        """
        try:
            lesson = (lesson_or_id_or_path if isinstance(lesson_or_id_or_path, Lesson)
                      else load_lesson(lesson_or_id_or_path))
        except LessonError as exc:
            self._show_error(str(exc))
            return False
        previous = (self._lesson, self._index)
        self._lesson, self._index = lesson, -1
        if not self._apply(0):
            self._lesson, self._index = previous
            return False
        if self.interactive:
            self.show_narration()
            want = max(self.dock.width(), DOCK_WIDTH, round(self._window.width() * 0.25))
            self._window.resizeDocks([self.dock], [want], Qt.Orientation.Horizontal)
        self._window.statusBar().showMessage(f"Lesson: {lesson.title} — PgDn / → / Space for the next step", 10_000)
        self.lessonChanged.emit()
        return True

    def show_narration(self) -> None:
        """Bring the narration dock to the front (back among the side tabs if it was hidden)."""
        if self.dock.isHidden():
            self.dock.show()
            self._tabify()  # a dock shown again floats back on its own otherwise
        self.dock.raise_()

    def narration_in_front(self) -> bool:
        """Whether the narration can be seen: shown, and the front tab where it is tabbed."""
        if self.dock.isHidden():
            return False
        title = self.dock.windowTitle()
        # A tabbed dock behind another tab may still say isVisible(): ask its tab bar.
        for bar in self._window.findChildren(QTabBar):
            if bar.isVisible() and title in [bar.tabText(i) for i in range(bar.count())]:
                return bar.tabText(bar.currentIndex()) == title
        return self.dock.isVisible()

    def _tabify(self) -> None:
        w = self._window
        for name in ("token_dock", "editor_dock", "controls_dock"):
            neighbour = getattr(w, name, None)
            if isinstance(neighbour, QDockWidget) and not neighbour.isHidden() and neighbour is not self.dock:
                w.tabifyDockWidget(neighbour, self.dock)
                return

    def open_file_dialog(self) -> bool:
        """Ask for a lesson file (File ▸ Open) and open it; False when cancelled or refused."""
        path, _ = QFileDialog.getOpenFileName(self._window, "Open a lesson", "", "Lessons (*.toml);;All files (*)")
        return self.open_lesson(path) if path else False

    def close_lesson(self) -> None:
        """Stop the lesson: the window keeps what is on it; highlights and narration go."""
        if self._lesson is None:
            return
        self._lesson, self._index = None, -1
        self.panel.show_no_lesson()
        self._apply_highlights()
        self.lessonChanged.emit()
        self.stepChanged.emit(-1)

    # ---- stepping ---------------------------------------------------------------------------
    def go_to_step(self, index: int) -> None:
        """Apply step ``index`` (0-based, clamped to the lesson); nothing without a lesson."""
        if self._lesson is None:
            return
        self._apply(max(0, min(int(index), len(self._lesson.steps) - 1)))

    def next_step(self) -> None:
        if self._lesson is not None and self._index < len(self._lesson.steps) - 1:
            self.go_to_step(self._index + 1)

    def prev_step(self) -> None:
        if self._lesson is not None and self._index > 0:
            self.go_to_step(self._index - 1)

    def _apply(self, index: int) -> bool:
        assert self._lesson is not None
        step = self._lesson.steps[index]
        s = step.state
        w = self._window
        try:
            # The machine's backend stays the user's choice: a lesson does not set it.
            settings = s.settings.with_(backend=w.state.settings.backend).validated()
            w.state.apply(
                sentence=s.sentence,
                settings=settings,
                # None means "seeded": say so, or the previous step's matrices would stay.
                weights=s.weights.copy() if s.weights is not None else Weights.seeded(settings),
                embeddings=None if s.embeddings is None else s.embeddings.copy(),
                direct={key: m.copy() for key, m in s.direct.items()},
                stage=s.stage,
                layer=s.layer,
                head=s.head,
            )
        except (AttnStudioError, ValueError) as exc:
            self._show_error(f"{self._lesson.source}, step {index + 1}: cannot be shown: {exc}")
            return False
        w.go_to_stage(s.stage)
        self._index = index
        self.panel.show_step(self._lesson.title, index, len(self._lesson.steps), step.title, step.narration,
                             step.formula)
        self._apply_highlights()
        self.stepChanged.emit(index)
        return True

    # ---- highlights ------------------------------------------------------------------------
    def step_highlights(self) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
        """(rows, cells) of the step on view for the large heatmap, in token positions.

        None when the sentence on screen is no longer the step's (the rows named its words).
        """
        step, trace = self.step, self._window.trace
        if step is None or trace is None or tuple(trace.tokens) != tuple(step.state.tokens):
            return (), ()
        stage = self._window.state.stage
        cells = step.state.highlight_cells if stage in TOKEN_BY_TOKEN else ()
        return tuple(step.state.highlight_rows), tuple(cells)

    def _apply_highlights(self, *_: Any) -> None:
        w = self._window
        rows, cells = self.step_highlights()
        if not rows and not cells and self._lesson is None:
            return  # the window's own highlight (a clicked row) stands alone
        f = max(1, int(getattr(w.stage_view, "factor", 1)))
        shown_rows = {r // f for r in rows}
        if w.selected_row >= 0 and w.state.stage in (*TOKEN_BY_TOKEN, "output"):
            shown_rows.add(w.selected_row // f)  # keep the row the user clicked
        w.heatmap.set_highlights(rows=sorted(shown_rows), cells=sorted({(r // f, c // f) for r, c in cells}))

    # ---- menu, drag and drop, style ----------------------------------------------------------
    def _make_menu(self) -> None:
        w = self._window
        from attnstudio.qt.presentation import add_window_menu

        menu = QMenu("&Lessons", w)
        add_window_menu(w, menu)
        self.menu = menu
        self.open_action = QAction("Open lesson file…", w)
        self.open_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Open))
        self.open_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.open_action.triggered.connect(self.open_file_dialog)
        menu.addAction(self.open_action)
        w.addAction(self.open_action)
        menu.addSeparator()
        self.lesson_actions: list[QAction] = []
        try:
            lessons = builtin_lessons()
        except LessonError as exc:  # a damaged install: the rest of the app still works
            lessons = []
            w.statusBar().showMessage(f"Built-in lessons unavailable: {exc}", 15_000)
        for k, lesson in enumerate(lessons, 1):
            action = QAction(f"{k}. {lesson.title}", w)
            action.setData(lesson.id)
            action.setToolTip(lesson.summary)
            action.triggered.connect(lambda _=False, lid=lesson.id: self.open_lesson(lid))
            menu.addAction(action)
            self.lesson_actions.append(action)
        menu.addSeparator()
        self.close_action = QAction("Close lesson", w)
        self.close_action.triggered.connect(self.close_lesson)
        self.close_action.setEnabled(False)
        self.lessonChanged.connect(lambda: self.close_action.setEnabled(self._lesson is not None))
        menu.addAction(self.close_action)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if obj is self._window:
            t = ev.type()
            if t in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
                if _dropped_lesson(ev) is not None:
                    ev.acceptProposedAction()
                    return True
            elif t == QEvent.Type.Drop:
                path = _dropped_lesson(ev)
                if path is not None:
                    ev.acceptProposedAction()
                    self.open_lesson(path)
                    return True
            elif t == QEvent.Type.StyleChange:
                self._follow_style()  # the window's theme or zoom changed: the panel follows
        return super().eventFilter(obj, ev)

    def _follow_style(self) -> None:
        w = self._window
        self.panel.set_style(getattr(w, "theme", "dark"), float(getattr(w, "font_scale", 1.0)))

    def _show_error(self, message: str) -> None:
        """One readable message, in a dialog that does not block and in the status bar."""
        self.last_error = message
        self._window.statusBar().showMessage(message, 30_000)
        if not self.interactive:
            return
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot open the lesson", message,
                          QMessageBox.StandardButton.Ok, self._window)
        box.setInformativeText("Nothing on the window was changed.")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_box = box
        box.open()


def _dropped_lesson(ev: Any) -> str | None:
    """The path of the first .toml file being dragged, if any."""
    mime = ev.mimeData()
    if mime is None or not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() == ".toml":
            return url.toLocalFile()
    return None


def install_lesson_player(window: MainWindow) -> LessonPlayer:
    """Attach the lesson player (and the presentation keys) to ``window``, once.

    Stores it as ``window.lesson_player`` and returns it.
    """
    existing = getattr(window, "lesson_player", None)
    if isinstance(existing, LessonPlayer):
        return existing
    player = LessonPlayer(window)
    window.lesson_player = player
    return player


__all__ = ["LessonPlayer", "install_lesson_player"]
