"""Presentation mode: full screen, zoom, clicker keys, a blank screen and stage jumps.

A feature of the window (``MainWindow.install`` puts its menu and actions in place). Every
key is a window-level QAction listed in the "Present" menu, so nothing is hidden:

| keys | does |
| --- | --- |
| F5, F11 | full screen on / off; Esc leaves it |
| PgDn, →, Space / PgUp, ← | next / previous lesson step when a lesson is open, else stage |
| Home / End | first / last lesson step when a lesson is open, else stage |
| B | blank the screen (black); B or any step key brings it back without stepping |
| R | reveal the answer to a lesson step's question (after a show of hands); on a question |
|   | still waiting, the first next-step key reveals it too, the second steps on |
| 1 … 9 | jump to stage 1 … 9 (inside a lesson the narration says the screen left the step) |
| Ctrl+= / Ctrl++ / Ctrl+- / Ctrl+0 | larger / smaller / normal text (the studio model's zoom) |

Stepping and zoom are changes of the studio model (``step_forward``, ``apply(zoom=…)``);
the window and the lesson player follow the model. The narration's N key belongs to the
lesson player, which owns that panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QApplication, QMenu, QWidget

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.trace import STAGE_KEYS, STAGES
from attnstudio.qt.feature import AddsNothing
from attnstudio.studio.snapshot import MAX_ZOOM, MIN_ZOOM

if TYPE_CHECKING:
    from collections.abc import Callable

    from attnstudio.qt.feature import Host

NEXT_KEYS = ("PgDown", "Right", "Space")
PREV_KEYS = ("PgUp", "Left")
FULLSCREEN_KEYS = ("F5", "F11")
BLANK_KEY = "B"
REVEAL_KEY = "R"
STAGE_DIGITS = tuple(str(i + 1) for i in range(min(9, len(STAGE_KEYS))))
ZOOM_STEP = 1.15  # Ctrl+= three times ≈ 1.5×, five times ≈ 2×
# Plain keys a table needs for typing numbers; in a focused table they type, not present.
CLICKER_KEYS = frozenset({Qt.Key.Key_PageDown, Qt.Key.Key_PageUp})
TYPING_KEYS = frozenset({Qt.Key.Key_Space, Qt.Key.Key_B, Qt.Key.Key_N,
                         *(getattr(Qt.Key, f"Key_{d}") for d in range(10))})


class _BlankOverlay(QWidget):
    """A black sheet over the whole window (the lecturer's "B": eyes on me)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("blankScreen")
        self.setStyleSheet("QWidget#blankScreen { background: #000000; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()


class Presentation(AddsNothing, QObject):
    """The presentation actions of one window (see the module docstring for the keys)."""

    def __init__(self, host: Host) -> None:
        window = host.window_widget()
        super().__init__(window)
        self._host = host
        self._window = window
        self.studio = host.studio
        self.overlay = _BlankOverlay(window)
        self._normal_state = Qt.WindowState.WindowNoState
        self._hid_menu = False
        self._actions: list[QAction] = []

        self.menu = QMenu("&Present", window)
        self.fullscreen_action = self._action("Full screen", FULLSCREEN_KEYS, self.toggle_fullscreen)
        self.fullscreen_action.setCheckable(True)
        self.leave_action = self._action("Leave full screen", ("Esc",), self.leave_fullscreen)
        self.leave_action.setEnabled(False)  # Esc stays the sentence field's "done" otherwise
        self.blank_action = self._action("Blank screen", (BLANK_KEY,), self.toggle_blank)
        self.blank_action.setCheckable(True)
        self.reveal_action = self._action("Reveal the answer", (REVEAL_KEY,), self.reveal)
        self.menu.addSeparator()
        self.next_action = self._action("Next step (or stage)", NEXT_KEYS, self.next)
        self.prev_action = self._action("Previous step (or stage)", PREV_KEYS, self.prev)
        self.first_action = self._action("First step (or stage)", ("Home",), self.first)
        self.last_action = self._action("Last step (or stage)", ("End",), self.last)
        stages = self.menu.addMenu("Go to stage")
        self.stage_actions = [
            self._action(f"{digit} · {STAGES[i][1]}", (digit,), lambda _=False, k=STAGE_KEYS[i]: self.go_to(k),
                         menu=stages)
            for i, digit in enumerate(STAGE_DIGITS)
        ]
        self.menu.addSeparator()
        zoom_in = QKeySequence(QKeySequence.StandardKey.ZoomIn).toString(QKeySequence.SequenceFormat.PortableText)
        self.zoom_in_action = self._action("Larger text", tuple(dict.fromkeys(("Ctrl+=", "Ctrl++", zoom_in))),
                                           self.zoom_in)
        self.zoom_out_action = self._action("Smaller text", ("Ctrl+-",), self.zoom_out)
        self.zoom_reset_action = self._action("Normal text size", ("Ctrl+0",), lambda: self.set_zoom(1.0))

        window.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._on_focus_changed)

    # ---- what the window installs ------------------------------------------------------------
    def menus(self) -> list[QMenu]:
        return [self.menu]

    def actions(self) -> list[QAction]:
        return list(self._actions)

    def _action(self, text: str, keys: tuple[str, ...], slot: Any, menu: QMenu | None = None) -> QAction:
        a = QAction(text, self._window)
        a.setShortcuts([QKeySequence(k) for k in keys if k])
        a.triggered.connect(slot)
        (menu or self.menu).addAction(a)
        self._actions.append(a)
        return a

    # ---- stepping ----------------------------------------------------------------------
    def next(self) -> None:
        """The clicker's "next": on a question still waiting, first its answer (a clicker has
        no R); then the next step."""
        if self.unblank():
            return
        if self.studio.asking:
            self._guarded(self.studio.reveal)
            return
        if self.studio.lesson is not None:  # through the seeding queue: large steps seed off the UI
            self._host.studio_qt.step_by(+1, self._say)
        else:
            self._guarded(self.studio.next_stage)

    def reveal(self) -> None:
        """Show the answer to the step's question to everyone."""
        if not self.unblank():
            self._guarded(self.studio.reveal)

    def prev(self) -> None:
        if self.unblank():
            return
        if self.studio.lesson is not None:
            self._host.studio_qt.step_by(-1, self._say)
        else:
            self._guarded(self.studio.prev_stage)

    def first(self) -> None:
        """Home: the lesson's first step when one is open, else the first stage."""
        if self.unblank():
            return
        if self.studio.lesson is not None:
            self._host.studio_qt.go_to_step(0, self._say)
        else:
            self._host.go_to_stage(STAGE_KEYS[0])

    def last(self) -> None:
        if self.unblank():
            return
        lesson = self.studio.lesson
        if lesson is not None:
            self._host.studio_qt.go_to_step(len(lesson.steps) - 1, self._say)
        else:
            self._host.go_to_stage(STAGE_KEYS[-1])

    def _say(self, message: str) -> None:
        self._host.show_message(message, 30_000)

    def go_to(self, stage: str) -> None:
        if not self.unblank():
            self._host.go_to_stage(stage)

    def _guarded(self, step: Callable[[], None]) -> None:
        """A lesson step the model refuses is a message, never an exception in a key press."""
        try:
            step()
        except AttnStudioError as exc:
            self._say(str(exc))

    # ---- blank --------------------------------------------------------------------------
    @property
    def blanked(self) -> bool:
        return self.overlay.isVisible()

    def toggle_blank(self) -> None:
        if not self.unblank():
            self.overlay.setGeometry(self._window.rect())
            self.overlay.raise_()
            self.overlay.show()
        self.blank_action.setChecked(self.blanked)

    def unblank(self) -> bool:
        """Bring the window back; True when it was blank."""
        if not self.overlay.isVisible():
            return False
        self.overlay.hide()
        self.blank_action.setChecked(False)
        return True

    # ---- full screen -------------------------------------------------------------------
    def toggle_fullscreen(self) -> None:
        if self._window.isFullScreen():
            self.leave_fullscreen()
        else:
            self._normal_state = self._window.windowState() & Qt.WindowState.WindowMaximized
            self._window.showFullScreen()
        self._sync_fullscreen()

    def leave_fullscreen(self) -> None:
        self.unblank()
        if self._window.isFullScreen():
            if self._normal_state & Qt.WindowState.WindowMaximized:
                self._window.showMaximized()
            else:
                self._window.showNormal()
        self._sync_fullscreen()

    def _sync_fullscreen(self) -> None:
        on = self._window.isFullScreen()
        self.fullscreen_action.setChecked(on)
        self.leave_action.setEnabled(on)
        # Full screen is for the hall: the menus' line goes to the numbers (the keys still work).
        bar = self._window.menuWidget()
        if bar is None:
            return
        if on and bar.isVisible():
            bar.hide()
            self._hid_menu = True
        elif not on and self._hid_menu:
            bar.show()
            self._hid_menu = False

    # ---- zoom ---------------------------------------------------------------------------
    def set_zoom(self, factor: float) -> None:
        self.studio.apply(zoom=max(MIN_ZOOM, min(float(factor), MAX_ZOOM)))

    def zoom_in(self) -> None:
        self.set_zoom(self.studio.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.studio.zoom / ZOOM_STEP)

    # ---- events -------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        t = ev.type()
        if obj is self._window:
            if t == QEvent.Type.Resize and self.overlay.isVisible():
                self.overlay.setGeometry(self._window.rect())
            elif t == QEvent.Type.WindowStateChange:
                self._sync_fullscreen()
        elif t == QEvent.Type.ShortcutOverride and ev.key() in CLICKER_KEYS:
            # A table would keep PgDn/PgUp to scroll itself: the clicker's keys step instead.
            ev.ignore()
            return True
        elif t == QEvent.Type.ShortcutOverride and ev.key() in TYPING_KEYS and not (
                ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier & ~Qt.KeyboardModifier.ShiftModifier):
            # A focused table (a matrix editor) types digits and spaces: claim them from the
            # window's shortcuts. Line edits and spin boxes already do this themselves.
            ev.accept()
            return True
        return super().eventFilter(obj, ev)

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if isinstance(new, QAbstractItemView) and new.window() is self._window:
            new.removeEventFilter(self)  # installed once, however often it gains focus
            new.installEventFilter(self)
