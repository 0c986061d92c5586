"""Lessons authored in the window: Lessons ▸ Author a lesson and the lesson editor dock.

A feature of the window (``MainWindow.install``). "Add this as a lesson step" records what
the window shows (``studio.authoring.record``: sentence, settings, edited matrices, stage,
layer and head, highlights, colour scale) as a step of the lesson being written, a
``Draft`` kept here; the editor lists the steps, edits the selected step's title,
narration and formula, moves, updates and deletes steps, plays the lesson from a step
(through the model, as any lesson is played) and saves it as the lesson TOML of
docs/lessons.md, whole or not at all (QSaveFile, the commit checked).

``interactive`` False (tests, exports): no file dialog, question or message box; ``save``
takes the path, and ``last_error`` says what failed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSaveFile, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMenu, QMessageBox, QWidget

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.lesson_schema import LessonError, LessonStep
from attnstudio.qt.author_panel import AuthorPanel
from attnstudio.qt.feature import AddsNothing, Host, menu_action
from attnstudio.qt.scrolling import scrolling
from attnstudio.studio.authoring import AUTHORED, Draft, record

ADD_KEY = "Ctrl+Shift+A"
# The side band while authoring: five tabs (Settings, Matrices, Token view, Lesson, Author)
# need 382 px for their whole titles; at the usual 356 Qt elides every one of them.
EDITOR_WIDTH = 384
NEW_NARRATION = "Say what this step shows."
FILTER = "Lessons (*.toml);;All files (*)"


class LessonAuthor(AddsNothing, QObject):
    """See the module docstring. ``draft`` is the lesson being written; ``path`` where it was
    last saved (None: never)."""

    def __init__(self, host: Host, interactive: bool = True) -> None:
        window = host.window_widget()
        super().__init__(window)
        self._host = host
        self._window = window
        self.studio = host.studio
        self.interactive = interactive
        self.draft = Draft()
        self.path: Path | None = None
        self.last_error = ""
        self._saved: Draft | None = None  # the draft as last written

        self.panel = AuthorPanel(window)
        # "Author": a longer name would not fit five tabs in the side band (Qt would elide them all).
        self.dock = QDockWidget("Author", window)
        self.dock.setObjectName("lesson_editor")
        self.dock.setWidget(scrolling(self.panel, self.dock))
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                              | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.dock.setTitleBarWidget(QWidget(self.dock))  # the tab names it, as for the window's docks
        self.dock.hide()  # until a lecturer authors: the presenter's side band stays as it was
        self._connect_panel()

        self.menu = QMenu("&Author a lesson", window)
        self.add_action = self._action("Add this as a lesson step", self.add_step, ADD_KEY)
        self.update_action = self._action("Update the selected step from the screen", self.update_step)
        self.menu.addSeparator()
        self.show_action = self._action("Show lesson editor", self.show_editor)
        self.edit_open_action = self._action("Edit the open lesson", self.edit_open_lesson)
        self.menu.addSeparator()
        self.new_action = self._action("New lesson", self.new_lesson)
        self.save_action = self._action("Save lesson…", self.save_dialog)
        host.studio_qt.lesson_changed.connect(self._on_lesson_changed)
        self._show(-1)

    def _action(self, text: str, slot: Callable[[], object], keys: str = "") -> QAction:
        return menu_action(self.menu, self._window, text, slot, keys)

    def _connect_panel(self) -> None:
        p = self.panel
        p.add_requested.connect(self.add_step)
        p.update_requested.connect(self.update_step)
        p.delete_requested.connect(lambda: self.delete_step(p.current()))
        p.play_requested.connect(lambda: self.play(p.current()))
        p.move_requested.connect(self.move_step)
        p.order_dropped.connect(self._reorder)
        p.selected.connect(self._on_selected)
        p.text_edited.connect(self._on_text_edited)
        p.name_edited.connect(self._on_name_edited)
        p.new_requested.connect(self.new_lesson)
        p.save_requested.connect(self.save_dialog)

    # ---- what the window installs ------------------------------------------------------------
    def menus(self) -> list[QMenu]:
        return [self.menu]

    def actions(self) -> list[QAction]:
        return [self.add_action]

    def docks(self) -> list[QDockWidget]:
        return [self.dock]


    # ---- the steps ------------------------------------------------------------------------------
    @property
    def unsaved(self) -> bool:
        return bool(self.draft.steps) and self.draft != self._saved

    def add_step(self) -> bool:
        """Record the window's state as a new step after the selected one (at the end with none)."""
        n = len(self.draft.steps)
        at = self.panel.current() + 1 if self.panel.current() >= 0 else n
        ok = self._change(lambda: self.draft.add(record(self.studio.snapshot(), f"Step {n + 1}", NEW_NARRATION), at),
                          at, f"Step {at + 1} recorded: give it a title and narration")
        if ok and self.interactive:
            self.show_editor()
            self.panel.step_title.setFocus()
            self.panel.step_title.selectAll()
        return ok

    def update_step(self, index: int | None = None) -> bool:
        """The selected step (or ``index``) shows the window's state now; its words stay."""
        i = self.panel.current() if index is None else index
        if not 0 <= i < len(self.draft.steps):
            return self._fail("Select the step to update first")
        step = self.draft.steps[i]

        def updated() -> LessonStep:
            new = record(self.studio.snapshot(), step.title, step.narration, step.formula)
            # Its question stays with its words while it still names the same tokens; the
            # panel it opens stays with its words.
            keep = step.predict if new.state.tokens == step.state.tokens else None
            return dataclasses.replace(new, predict=keep, opens=step.opens)

        return self._change(lambda: self.draft.replace_step(i, updated()), i,
                            f"Step {i + 1} now shows what the window shows")

    def delete_step(self, index: int) -> bool:
        keep = min(index, len(self.draft.steps) - 2)
        return self._change(lambda: self.draft.delete(index), keep, f"Step {index + 1} deleted")

    def move_step(self, index: int, to: int) -> bool:
        to = max(0, min(to, len(self.draft.steps) - 1))
        return self._change(lambda: self.draft.move(index, to), to, f"Step {index + 1} is now step {to + 1}")

    def set_words(self, index: int, title: str, narration: str, formula: str | None = None) -> bool:
        return self._change(lambda: self.draft.with_text(index, title, narration, formula), index, "")

    def _reorder(self, order: list[int]) -> None:
        """A drag in the list: the steps in the list's new order."""
        steps = self.draft.steps
        if sorted(order) != list(range(len(steps))):
            self._show(self.panel.current())
            return
        moved = self.panel.current()
        self.draft = Draft(self.draft.id, self.draft.title, self.draft.summary, tuple(steps[i] for i in order))
        self._show(moved)

    def play(self, index: int) -> bool:
        """Open the lesson being written in the window, on step ``index``."""
        if not self.draft.steps:
            return self._fail("Record a step first")
        try:
            self.studio.open_lesson(self.draft.lesson())
            self.studio.go_to_step(index)
        except AttnStudioError as exc:
            return self._fail(str(exc))
        if self.interactive:
            self._host.show_dock(self.dock)  # the narration dock rose with the lesson: the editor stays in front
        self.panel.show_message(f"Playing from step {index + 1}: PgDn / PgUp step through the lesson")
        return True

    def edit_open_lesson(self) -> bool:
        """Go on editing the lesson open in the window (a built-in one, or a file)."""
        lesson = self.studio.lesson
        if lesson is None:
            return self._fail("No lesson is open: open one from the Lessons menu")
        if not self._may_drop("edit the open lesson"):
            return False
        self.draft = Draft.from_lesson(lesson)
        self._saved = self.draft
        self.path = Path(lesson.source) if lesson.source.endswith(".toml") and os.path.isfile(lesson.source) else None
        self._show(max(0, self.studio.step_index))
        self.panel.show_message(f"Editing “{lesson.title}”: {len(lesson.steps)} steps")
        if self.interactive:
            self.show_editor()
        return True

    def new_lesson(self) -> bool:
        if not self._may_drop("start a new lesson"):
            return False
        self.draft, self.path, self._saved = Draft(), None, None
        self._show(-1)
        self.panel.show_message("A new lesson: record its first step with “Add this as a step”")
        return True

    # ---- saving ---------------------------------------------------------------------------------
    def save_dialog(self) -> bool:
        """Ask where to save (interactive), or save where it was last saved."""
        if not self.interactive:
            return self.save(self.path) if self.path is not None else self._fail("No file to save to")
        start = str(self.path or Path.home() / f"{self.draft.id}.toml")
        path, _ = QFileDialog.getSaveFileName(self._window, "Save the lesson", start, FILTER)
        return self.save(path) if path else False

    def save(self, path: str | os.PathLike[str]) -> bool:
        """Write the lesson to ``path`` as lesson TOML, whole or not at all."""
        try:
            text = self.draft.toml()  # read back and compared before anything is written
        except AttnStudioError as exc:
            return self._fail(f"Not saved: {self._said(exc)}")
        target = Path(path)
        if not target.suffix:
            target = target.with_suffix(".toml")
        out = QSaveFile(str(target))
        if not out.open(QSaveFile.OpenModeFlag.WriteOnly):
            return self._fail(f"Not saved: {target} cannot be written: {out.errorString()}")
        data = text.encode("utf-8")
        if out.write(data) != len(data) or not out.commit():
            reason = out.errorString()
            out.cancelWriting()
            return self._fail(f"Not saved: writing {target} failed: {reason}")
        self.path, self._saved, self.last_error = target, self.draft, ""
        message = f"Lesson saved: {target} ({len(self.draft.steps)} steps). Open it with Lessons ▸ Open lesson file…"
        self.panel.show_message(message)
        self._host.show_message(message)
        return True

    # ---- the dock -------------------------------------------------------------------------------
    def show_editor(self) -> None:
        self._host.show_dock(self.dock, EDITOR_WIDTH)

    def _show(self, current: int) -> None:
        current = current if 0 <= current < len(self.draft.steps) else (len(self.draft.steps) - 1 if current >= 0
                                                                        else -1)
        self.panel.show_draft(self.draft, current)
        self.update_action.setEnabled(current >= 0)
        self.save_action.setEnabled(bool(self.draft.steps))

    def _on_selected(self, row: int) -> None:
        """The list's selection moved: show that step's words (the list itself stays as it is)."""
        self.panel.show_step(self.draft, row)
        self.update_action.setEnabled(row >= 0)

    def _on_text_edited(self) -> None:
        i = self.panel.current()
        if i < 0:
            return
        title, narration, formula = self.panel.words()
        try:
            self.draft = self.draft.with_text(i, title, narration, formula or None)
        except AttnStudioError as exc:
            self.panel.show_message(self._said(exc), error=True)
            return
        self.panel.show_message("")
        item = self.panel.steps.item(i)
        if item is not None:
            item.setText(f"{i + 1}. {title}" + item.text()[item.text().find("  —  "):])

    def _on_name_edited(self) -> None:
        p = self.panel
        try:
            self.draft = self.draft.named(p.lesson_id.text(), p.lesson_title.text(), p.summary.text())
        except AttnStudioError as exc:
            p.show_message(self._said(exc), error=True)
            return
        p.show_message("")

    def _on_lesson_changed(self) -> None:
        self.edit_open_action.setEnabled(self.studio.lesson is not None)

    # ---- outcomes -------------------------------------------------------------------------------
    @staticmethod
    def _said(exc: AttnStudioError) -> str:
        """A refusal in the editor's words: "Narration: <b> is never closed …", "Step 3, direct: …"
        (a file name would only repeat that the editor is meant)."""
        if not isinstance(exc, LessonError) or exc.source != AUTHORED:
            return str(exc)
        where = [f"Step {exc.step}"] if exc.step else []
        if exc.key:
            where.append(exc.key)
        head = ", ".join(where)
        said = f"{head}: {exc.problem}" if head else exc.problem
        return said[:1].upper() + said[1:]

    def _change(self, make: Callable[[], Draft], current: int, done: str) -> bool:
        try:
            self.draft = make()
        except AttnStudioError as exc:
            return self._fail(self._said(exc))
        self.last_error = ""
        self._show(current)
        if done:
            self.panel.show_message(done)
            self._host.show_message(done)
        return True

    def _fail(self, message: str) -> bool:
        self.last_error = message
        self.panel.show_message(message, error=True)
        self._host.show_message(message, 15_000)
        if self.interactive and message.startswith("Not saved"):
            box = QMessageBox(QMessageBox.Icon.Warning, "Lesson not saved", message,
                              QMessageBox.StandardButton.Ok, self._window)
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.open()
        return False

    def may_close(self) -> bool:
        """Whether the window may close: no unsaved steps, or the user lets them go."""
        return self._may_drop("close the window")

    def _may_drop(self, doing: str) -> bool:
        """Whether the unsaved steps may go (asks when interactive)."""
        if not self.unsaved or not self.interactive:
            return True
        answer = QMessageBox.question(
            self._window, "Unsaved lesson",
            f"The lesson “{self.draft.title}” has {len(self.draft.steps)} unsaved steps. "
            f"Drop them and {doing}?")
        return answer == QMessageBox.StandardButton.Yes


__all__ = ["LessonAuthor"]
