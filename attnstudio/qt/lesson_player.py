"""The lesson player: the Lessons menu, the narration dock and lesson files opened by drop.

A feature of the window (``MainWindow.install`` puts its menu, actions and dock in place).
The lesson and the step on view belong to the studio model (``StudioModel.open_lesson``,
``go_to_step``): a step is applied there as one change (one recompute), with its
highlights; this player loads lesson files, reports what cannot be read, and shows the
step's narration whenever the model's lesson or step changes, whoever changed it.

A lesson that cannot be read or shown gives one message naming the file, step and key, in
a dialog and the status bar, and the window keeps its work.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMenu, QMessageBox, QWidget

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.lesson_schema import LessonStep
from attnstudio.core.lessons import Lesson, LessonError, builtin_lessons, load_lesson
from attnstudio.core.predict import answer_text, judge, response_text
from attnstudio.core.trace import STAGE_KEYS, STAGES
from attnstudio.qt.feature import Host
from attnstudio.qt.narration_panel import NarrationPanel
from attnstudio.qt.scrolling import scrolling

# The narration's band: a quarter of the window at most, so that the matrix keeps the rest
# at any zoom (the band does not grow with the zoom; its text grows a little, and scrolls).
DOCK_SHARE = 0.24
DOCK_MIN, DOCK_MAX = 300, 460
NARRATION_KEY = "N"


def narration_width(window_width: int) -> int:
    """The narration band's width in a window ``window_width`` px wide."""
    return max(DOCK_MIN, min(DOCK_MAX, round(window_width * DOCK_SHARE)))


class LessonPlayer(QObject):
    """Opens lessons on a window's studio model and shows their narration.

    ``interactive`` False (exports, the self-test): no dialogs and no dock raised;
    ``last_error`` says what failed. ``stepChanged`` carries the step on view (-1: none).
    """

    stepChanged = Signal(int)  # noqa: N815  (Qt signal naming, part of the API)
    lessonChanged = Signal()  # noqa: N815

    def __init__(self, host: Host, interactive: bool = True) -> None:
        window = host.window_widget()
        super().__init__(window)
        self._host = host
        self._window = window
        self.studio = host.studio
        self._seeding = host.studio_qt.seeding
        self.interactive = interactive
        self.last_error = ""
        self.error_box: QMessageBox | None = None
        self._shown: tuple[Lesson | None, int] = (None, -1)

        self.panel = NarrationPanel(window)
        self.panel.back.connect(self.prev_step)
        self.panel.next.connect(self.next_step)
        self.panel.option_chosen.connect(lambda option: self._step(lambda: self.studio.answer_option(option)))
        self.panel.check_requested.connect(lambda: self._step(self.studio.check_marks))
        self.panel.reveal_requested.connect(lambda: self._step(self.studio.reveal))
        self.dock = QDockWidget("Lesson", window)
        self.dock.setObjectName("lesson")
        self.dock.setWidget(scrolling(self.panel, self.dock))  # its buttons: 244 px
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.dock.setTitleBarWidget(QWidget(self.dock))  # the tab names it, as for the window's docks
        self._make_menu()
        # The narration is for the room to read along; a lecturer who speaks it may hide it.
        self.narration_action = QAction("Narration panel", window)
        self.narration_action.setShortcut(QKeySequence(NARRATION_KEY))
        self.narration_action.setCheckable(True)
        self.narration_action.setChecked(True)
        self.narration_action.triggered.connect(self.toggle_narration)
        self.menu.insertAction(self.close_action, self.narration_action)

        host.studio_qt.lesson_changed.connect(self._on_lesson_changed)
        host.studio_qt.view_changed.connect(self._show_off_script)
        host.studio_qt.display_changed.connect(self._follow_style)
        self._follow_style()

    # ---- what the window installs ------------------------------------------------------------
    def menus(self) -> list[QMenu]:
        return [self.menu]

    def actions(self) -> list[QAction]:
        return [self.open_action, self.narration_action]

    def docks(self) -> list[QDockWidget]:
        return [self.dock]

    def drops(self) -> dict[str, Callable[[str], object]]:
        return {".toml": self.open_lesson}

    # ---- reading ---------------------------------------------------------------------------
    @property
    def lesson(self) -> Lesson | None:
        return self.studio.lesson

    @property
    def step_index(self) -> int:
        return self.studio.step_index

    @property
    def step(self) -> LessonStep | None:
        return self.studio.step

    # ---- opening -----------------------------------------------------------------------------
    def open_lesson(self, lesson_or_id_or_path: Lesson | str | os.PathLike[str]) -> bool:
        """Open a Lesson, a built-in lesson id or a lesson file, on its first step.

        Returns False, shows one message (file, step, key) and keeps the current work when it
        cannot be read or its first step cannot be applied. A lesson whose matrices must be
        seeded first (large models) opens when a worker thread has seeded them: True then
        means it is on its way.
        """
        try:
            lesson = (lesson_or_id_or_path if isinstance(lesson_or_id_or_path, Lesson)
                      else load_lesson(lesson_or_id_or_path))
        except AttnStudioError as exc:  # LessonError
            self._show_error(str(exc))
            return False
        opened = [False]

        def change() -> None:
            try:
                self.studio.open_lesson(lesson)
            except AttnStudioError as exc:  # a step the model cannot show
                self._show_error(str(exc))
                return
            opened[0] = True
            if self.interactive:
                self.show_narration()
            self._host.show_message(f"Lesson: {lesson.title} — PgDn / → / Space for the next step")

        self._host.studio_qt.forget_steps()  # steps of the lesson open now
        if self._seeding.run("lesson", lambda: [lesson.steps[0].state.settings], change):
            return opened[0]
        self._host.show_message(f"Opening the lesson {lesson.title}: seeding its matrices…")
        return True

    def show_narration(self) -> None:
        """Bring the narration dock to the front (back among the side tabs if it was hidden)."""
        self._host.show_dock(self.dock, narration_width(self._window.width()))
        self.narration_action.setChecked(True)

    def narration_in_front(self) -> bool:
        """Whether the narration can be seen: shown, and the front tab where it is tabbed."""
        return self._host.dock_in_front(self.dock)

    def toggle_narration(self) -> None:
        """N: hide the narration, or bring it to the front when hidden or behind another tab."""
        if self.narration_in_front():
            self.dock.hide()
        else:
            self.show_narration()
        self.narration_action.setChecked(not self.dock.isHidden())

    def open_file_dialog(self) -> bool:
        """Ask for a lesson file (File ▸ Open) and open it; False when cancelled or refused."""
        path, _ = QFileDialog.getOpenFileName(self._window, "Open a lesson", "", "Lessons (*.toml);;All files (*)")
        return self.open_lesson(path) if path else False

    def close_lesson(self) -> None:
        """Stop the lesson: the window keeps what is on it; highlights and narration go."""
        self._seeding.drop("lesson")
        self._host.studio_qt.forget_steps()
        self.studio.close_lesson()

    # ---- stepping ---------------------------------------------------------------------------
    def go_to_step(self, index: int) -> None:
        """Apply step ``index`` (0-based, clamped to the lesson); nothing without a lesson. A
        step with large matrices arrives once they are seeded (``QtStudio.go_to_step``)."""
        self._host.studio_qt.go_to_step(index, self._show_error)

    def next_step(self) -> None:
        self._host.studio_qt.step_by(+1, self._show_error)

    def prev_step(self) -> None:
        self._host.studio_qt.step_by(-1, self._show_error)

    def _step(self, go: Callable[[], None]) -> None:
        try:
            go()
        except AttnStudioError as exc:
            self._show_error(str(exc))

    def _on_lesson_changed(self) -> None:
        """Show the model's lesson and step, whoever opened or stepped it."""
        lesson, index = self.studio.lesson, self.studio.step_index
        if (lesson, index) == self._shown:
            self._show_question()  # the same step: its question was answered, revealed or marked
            return
        opened_or_closed = lesson is not self._shown[0]
        self._shown = (lesson, index)
        step = self.studio.step
        if lesson is None or step is None:
            self.panel.show_no_lesson()
        else:
            self.panel.show_step(lesson.title, index, len(lesson.steps), step.title, step.narration, step.formula)
            self._show_question()
        self.close_action.setEnabled(lesson is not None)
        self._show_off_script()
        if self.interactive and lesson is not None and not self.dock.isHidden():
            # Each step's narration comes to the front of its tabs (a token clicked on an
            # earlier step had left its emptied view there); a narration hidden with N stays so.
            self.dock.raise_()
        if opened_or_closed:
            self.lessonChanged.emit()
        self.stepChanged.emit(index)

    def _show_question(self) -> None:
        """The step's question while it waits, or its answer beside the learner's (core.predict);
        and what changed since the step it follows, once nothing waits (StudioModel.step_change)."""
        try:
            self.panel.set_change(self.studio.step_change())
        except AttnStudioError:
            self.panel.set_change(None)
        step = self.studio.step
        if step is None or step.predict is None:
            self.panel.hide_question()
            return
        p = step.predict
        try:
            ans = self.studio.step_answer()
        except AttnStudioError as exc:  # a step that cannot be computed cannot be judged either
            self.panel.hide_question()
            self._show_error(str(exc))
            return
        if ans is None:
            self.panel.hide_question()
            return
        response = self.studio.response()
        if self.studio.asking:
            marked = len(response.cells) if response is not None else 0
            self.panel.show_question(p.question, ans.asks_for, p.options, p.ask == "exact-zeros", marked)
            return
        verdict = judge(ans, response)
        self.panel.show_answer(p.question, verdict.right, verdict.text, response_text(ans, response),
                               answer_text(ans), ans.why, step.narration)

    def _show_off_script(self) -> None:
        """In a lesson, a stage (or head) the step does not show gets a visible note."""
        step = self.studio.step
        if step is None or not self.studio.off_script:
            self.panel.set_off_script("")
            return
        want = step.state
        where = f"stage {STAGE_KEYS.index(want.stage) + 1} · {dict(STAGES)[want.stage]}"
        if self.studio.settings.layers > 1 or self.studio.settings.heads > 1:
            where += f", layer {want.layer + 1}, head {want.head + 1}"
        self.panel.set_off_script(f"Off the lesson: this step shows {where}. "
                                  "PgDn / PgUp go on with the lesson.")

    # ---- menu, style, errors -----------------------------------------------------------------
    def _make_menu(self) -> None:
        w = self._window
        self.menu = QMenu("&Lessons", w)
        self.open_action = QAction("Open lesson file…", w)
        self.open_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Open))
        self.open_action.triggered.connect(self.open_file_dialog)
        self.menu.addAction(self.open_action)
        self.menu.addSeparator()
        # The built-in lessons are listed when the menu first opens (or lesson_actions is
        # read): parsing their files took a tenth of the cold start before the first paint.
        self._lesson_actions: list[QAction] | None = None
        self._lessons_end = self.menu.addSeparator()
        self.menu.aboutToShow.connect(lambda: self.lesson_actions)
        self.close_action = QAction("Close lesson", w)
        self.close_action.triggered.connect(self.close_lesson)
        self.close_action.setEnabled(False)
        self.menu.addAction(self.close_action)

    @property
    def lesson_actions(self) -> list[QAction]:
        """The menu's entries of the built-in lessons, in teaching order (made on first use)."""
        if self._lesson_actions is None:
            self._lesson_actions = []
            try:
                lessons = builtin_lessons()
            except LessonError as exc:  # a damaged install: the rest of the app still works
                lessons = []
                self._host.show_message(f"Built-in lessons unavailable: {exc}", 15_000)
            for k, lesson in enumerate(lessons, 1):
                action = QAction(f"{k}. {lesson.title}", self._window)
                action.setData(lesson.id)
                action.setToolTip(lesson.summary)
                action.triggered.connect(lambda _=False, lid=lesson.id: self.open_lesson(lid))
                self.menu.insertAction(self._lessons_end, action)
                self._lesson_actions.append(action)
        return self._lesson_actions

    def _follow_style(self) -> None:
        self.panel.set_style(self.studio.theme, self.studio.zoom)

    def _show_error(self, message: str) -> None:
        """One readable message, in a dialog that does not block and in the status bar."""
        self.last_error = message
        self._host.show_message(message, 30_000)
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


__all__ = ["LessonPlayer"]
