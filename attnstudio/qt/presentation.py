"""Presentation mode: full screen, zoom, clicker keys, a blank screen and stage jumps.

Every key is a window-level QAction (listed in the "Present" menu, so nothing is hidden):

| keys | does |
| --- | --- |
| F5, F11 | full screen on / off; Esc leaves it |
| PgDn, →, Space / PgUp, ← | next / previous lesson step when a lesson is open, else stage |
| B | blank the screen (black); B or any step key brings it back without stepping |
| 1 … 9 | jump to stage 1 … 9 |
| Ctrl+= / Ctrl++ / Ctrl+- / Ctrl+0 | larger / smaller / normal text (``window.set_font_scale``) |

The window binds →/← and PgDn/PgUp to stage stepping itself. Two actions with one shortcut
are ambiguous in Qt (neither fires), so ``install_presentation`` takes those keys off the
window's actions and its own step actions fall back to the window's stage stepping when no
lesson is open: the keys behave as before until a lesson opens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QApplication, QMenu, QWidget

from attnstudio.core.trace import STAGE_KEYS, STAGES

if TYPE_CHECKING:
    from attnstudio.qt.lesson_player import LessonPlayer
    from attnstudio.qt.main_window import MainWindow

NEXT_KEYS = ("PgDown", "Right", "Space")
PREV_KEYS = ("PgUp", "Left")
FULLSCREEN_KEYS = ("F5", "F11")
BLANK_KEY = "B"
STAGE_DIGITS = tuple(str(i + 1) for i in range(min(9, len(STAGE_KEYS))))
ZOOM_STEP = 1.15  # the window's own zoom step: Ctrl+= three times ≈ 1.5×, five times ≈ 2×
# Plain keys a table needs for typing numbers; in a focused table they type, not present.
CLICKER_KEYS = frozenset({Qt.Key.Key_PageDown, Qt.Key.Key_PageUp})
TYPING_KEYS = frozenset({Qt.Key.Key_Space, Qt.Key.Key_B, *(getattr(Qt.Key, f"Key_{d}") for d in range(10))})


def _portable(seq: QKeySequence) -> str:
    return seq.toString(QKeySequence.SequenceFormat.PortableText)


def release_keys(window: QWidget, keys: set[str], keep: set[QAction]) -> dict[QAction, list[QKeySequence]]:
    """Take ``keys`` off every window action not in ``keep``; returns what each had before."""
    taken: dict[QAction, list[QKeySequence]] = {}
    for action in {*window.findChildren(QAction), *window.actions()} - keep:
        old = action.shortcuts()
        new = [s for s in old if _portable(s) not in keys]
        if len(new) != len(old):
            taken[action] = old
            action.setShortcuts(new)
    return taken


def bound_keys(window: QWidget) -> set[str]:
    """Every shortcut some action of the window answers to."""
    return {_portable(s) for a in {*window.findChildren(QAction), *window.actions()} for s in a.shortcuts()}


class _BlankOverlay(QWidget):
    """A black sheet over the whole window (the lecturer's "B": eyes on me)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("blankScreen")
        self.setStyleSheet("QWidget#blankScreen { background: #000000; }")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()


class Presentation(QObject):
    """The presentation actions of one window (see the module docstring for the keys)."""

    def __init__(self, window: MainWindow, player: LessonPlayer | None = None) -> None:
        super().__init__(window)
        self._window = window
        self._player = player
        self.overlay = _BlankOverlay(window)
        self._normal_state = Qt.WindowState.WindowNoState

        self.menu = QMenu("&Present", window)
        window.menuBar().addMenu(self.menu)
        self.fullscreen_action = self._action("Full screen", FULLSCREEN_KEYS, self.toggle_fullscreen)
        self.fullscreen_action.setCheckable(True)
        self.leave_action = self._action("Leave full screen", ("Esc",), self.leave_fullscreen)
        self.leave_action.setEnabled(False)  # Esc stays the sentence field's "done" otherwise
        self.blank_action = self._action("Blank screen", (BLANK_KEY,), self.toggle_blank)
        self.blank_action.setCheckable(True)
        self.menu.addSeparator()
        self.next_action = self._action("Next step (or stage)", NEXT_KEYS, self.next)
        self.prev_action = self._action("Previous step (or stage)", PREV_KEYS, self.prev)
        stages = self.menu.addMenu("Go to stage")
        self.stage_actions = []
        for i, digit in enumerate(STAGE_DIGITS):
            a = self._action(f"{digit} · {STAGES[i][1]}", (digit,), lambda _=False, k=STAGE_KEYS[i]: self.go_to(k),
                             menu=stages)
            self.stage_actions.append(a)
        self.menu.addSeparator()
        mine = {self.fullscreen_action, self.leave_action, self.blank_action, self.next_action, self.prev_action,
                *self.stage_actions}
        claimed = {*FULLSCREEN_KEYS, BLANK_KEY, *NEXT_KEYS, *PREV_KEYS, *STAGE_DIGITS}
        self.taken = release_keys(window, claimed, mine)
        # Zoom: the window has Ctrl+= and Ctrl+- already; add only what is missing.
        self.zoom_actions: list[QAction] = []
        have = bound_keys(window)
        for text, key, slot in (("Larger text", "Ctrl+=", self.zoom_in), ("Larger text", "Ctrl++", self.zoom_in),
                                ("Smaller text", "Ctrl+-", self.zoom_out)):
            if key not in have:
                self.zoom_actions.append(self._action(text, (key,), slot))
        self.zoom_reset_action = self._action("Normal text size", ("Ctrl+0",), lambda: self.set_zoom(1.0))
        for existing in (getattr(window, "zoom_in_action", None), getattr(window, "zoom_out_action", None)):
            if isinstance(existing, QAction):
                self.menu.addAction(existing)  # listed here, so the keys are discoverable

        window.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._on_focus_changed)

    def _action(self, text: str, keys: tuple[str, ...], slot: Any, menu: QMenu | None = None) -> QAction:
        a = QAction(text, self._window)
        a.setShortcuts([QKeySequence(k) for k in keys])
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.triggered.connect(slot)
        self._window.addAction(a)
        (menu or self.menu).addAction(a)
        return a

    # ---- stepping ----------------------------------------------------------------------
    def _lesson_open(self) -> bool:
        return self._player is not None and self._player.lesson is not None

    def next(self) -> None:
        if self.unblank():
            return
        if self._lesson_open():
            self._player.next_step()
        else:
            self._window.next_stage()

    def prev(self) -> None:
        if self.unblank():
            return
        if self._lesson_open():
            self._player.prev_step()
        else:
            self._window.prev_stage()

    def go_to(self, stage: str) -> None:
        if self.unblank():
            return
        self._window.go_to_stage(stage)

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

    # ---- zoom ---------------------------------------------------------------------------
    def set_zoom(self, factor: float) -> None:
        self._window.set_font_scale(factor)

    def zoom_in(self) -> None:
        self.set_zoom(self._window.font_scale * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self._window.font_scale / ZOOM_STEP)

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


def install_presentation(window: MainWindow, player: LessonPlayer | None = None) -> Presentation:
    """Attach the presentation actions to ``window`` once; stored as ``window.presentation``."""
    existing = getattr(window, "presentation", None)
    if isinstance(existing, Presentation):
        return existing
    pres = Presentation(window, player)
    window.presentation = pres
    return pres
