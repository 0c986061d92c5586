"""Presentation mode: full screen, zoom, clicker keys, a blank screen and stage jumps.

Every key is a window-level QAction (listed in the "Present" menu, so nothing is hidden):

| keys | does |
| --- | --- |
| F5, F11 | full screen on / off; Esc leaves it |
| PgDn, →, Space / PgUp, ← | next / previous lesson step when a lesson is open, else stage |
| B | blank the screen (black); B or any step key brings it back without stepping |
| N | hide / show the narration panel (with a player) |
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
from PySide6.QtWidgets import QAbstractItemView, QApplication, QMainWindow, QMenu, QToolButton, QWidget

from attnstudio.core.trace import STAGE_KEYS, STAGES

if TYPE_CHECKING:
    from attnstudio.qt.lesson_player import LessonPlayer
    from attnstudio.qt.main_window import MainWindow

NEXT_KEYS = ("PgDown", "Right", "Space")
PREV_KEYS = ("PgUp", "Left")
FULLSCREEN_KEYS = ("F5", "F11")
BLANK_KEY = "B"
NARRATION_KEY = "N"
STAGE_DIGITS = tuple(str(i + 1) for i in range(min(9, len(STAGE_KEYS))))
ZOOM_STEP = 1.15  # the window's own zoom step: Ctrl+= three times ≈ 1.5×, five times ≈ 2×
# Plain keys a table needs for typing numbers; in a focused table they type, not present.
CLICKER_KEYS = frozenset({Qt.Key.Key_PageDown, Qt.Key.Key_PageUp})
TYPING_KEYS = frozenset({Qt.Key.Key_Space, Qt.Key.Key_B, Qt.Key.Key_N,
                         *(getattr(Qt.Key, f"Key_{d}") for d in range(10))})


def add_window_menu(window: QMainWindow, menu: QMenu) -> None:
    """Put ``menu`` in the window's menu bar when it has one; else as a button in the status
    bar (a menu bar would cost a line of height that a 1280×720 projector cannot spare)."""
    if window.menuWidget() is not None:
        window.menuBar().addMenu(menu)
        return
    button = QToolButton(window)
    button.setObjectName("menuButton")
    button.setText(menu.title().replace("&", ""))
    button.setStyleSheet("QToolButton#menuButton { padding-right: 18px; }")  # room for Qt's own ▾
    button.setMenu(menu)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the clicker's keys stay with the window
    placed = [b for b in window.statusBar().findChildren(QToolButton, "menuButton") if b is not button]
    # Permanent widgets, so status messages never hide them; first, in the order added.
    window.statusBar().insertPermanentWidget(len(placed), button)


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
        self._hid_menu = False

        self.menu = QMenu("&Present", window)
        add_window_menu(window, self.menu)
        self.fullscreen_action = self._action("Full screen", FULLSCREEN_KEYS, self.toggle_fullscreen)
        self.fullscreen_action.setCheckable(True)
        self.leave_action = self._action("Leave full screen", ("Esc",), self.leave_fullscreen)
        self.leave_action.setEnabled(False)  # Esc stays the sentence field's "done" otherwise
        self.blank_action = self._action("Blank screen", (BLANK_KEY,), self.toggle_blank)
        self.blank_action.setCheckable(True)
        # The narration is for the room to read along; a lecturer who speaks it may hide it.
        self.narration_action = None
        if player is not None:
            self.narration_action = self._action("Narration panel", (NARRATION_KEY,), self.toggle_narration)
            self.narration_action.setCheckable(True)
            self.narration_action.setChecked(True)
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
                *self.stage_actions, self.narration_action} - {None}
        claimed = {*FULLSCREEN_KEYS, BLANK_KEY, *NEXT_KEYS, *PREV_KEYS, *STAGE_DIGITS}
        if self.narration_action is not None:
            claimed.add(NARRATION_KEY)
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

    def toggle_narration(self) -> None:
        dock = self._player.dock if self._player is not None else None
        if dock is None:
            return
        if not self._player.narration_in_front():
            self._player.show_narration()  # hidden, or behind the Settings / Matrices tab
        else:
            dock.hide()
        self.narration_action.setChecked(not dock.isHidden())

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
