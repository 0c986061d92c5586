"""Start the studio: the QApplication, its name and icon, and the window with its features.

``create_window`` gives the main window (which builds the studio model, its Qt adapter
and its features). ``run_app(lesson=ID|PATH)`` opens the window on that lesson (``attnstudio
--lesson``); a lesson that does not load is reported in the window, which opens all the
same. The app (not ``create_window``) reads and keeps the preferences (``qt/preferences.py``),
catches uncaught errors (``qt/crash.py``), offers unsaved work a crash left behind
(``qt/recovery.py``) and gives the sentence field the keyboard. With
ATTNSTUDIO_EXIT_AFTER_PAINT=1 the app quits after its first paint and prints the time since
the process started (the cold-start figure).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from attnstudio.qt import preferences
from attnstudio.qt.crash import CrashHandler
from attnstudio.qt.main_window import MainWindow
from attnstudio.qt.user_paths import DISPLAY_NAME, log_path, name_the_app
from attnstudio.studio.model import StudioModel

EXIT_AFTER_PAINT = "ATTNSTUDIO_EXIT_AFTER_PAINT"
_IMPORTED_AT = time.perf_counter()


def application(argv: list[str] | None = None) -> QApplication:
    """The running QApplication (or a new one) with the app's name and icon."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(sys.argv if argv is None else argv))
    name_the_app()
    app.setApplicationDisplayName(DISPLAY_NAME)
    icon = _icon()
    if icon is not None:
        app.setWindowIcon(icon)
    return app  # type: ignore[return-value]


def _icon() -> QIcon | None:
    try:
        from attnstudio.resources import icon_path

        path = icon_path("attnstudio.svg")
        if path.is_file():
            return QIcon(str(path))
    except Exception:  # a missing asset must never stop the app
        return None
    return None


def create_window(interactive: bool = True, model: StudioModel | None = None) -> MainWindow:
    """A ready MainWindow with its features (the QApplication must exist); not shown.

    ``interactive`` False (exports, the self-test): a lesson that fails reports on the status
    bar and ``lesson_player.last_error``, never in a dialog. ``model``: start from this
    studio model (the app's: with the display options last used)."""
    window = MainWindow(interactive=interactive, model=model)
    window.fit_to_screen()
    return window


def run_app(argv: list[str] | None = None, lesson: str | None = None, workspace: str | None = None,
            model: str | None = None) -> int:
    """Open the studio window (on a workspace file and/or a lesson, or a real model's folder)
    and run the event loop; returns the exit code. A file or folder that cannot be read is
    reported in the window."""
    app = application(argv)
    window = create_window(model=preferences.starting_model())
    preferences.restore_geometry(window)
    crash = CrashHandler(log_path(), save_work=lambda: window.recovery.write_now(wait=True),
                         parent=lambda: window, notify=window.show_message).install()
    app.aboutToQuit.connect(lambda: preferences.remember(window, window.studio))
    window.show()
    armed = exit_after_first_paint(window)
    if not armed:  # the cold-start timing must not wait on a question
        window.recovery.offer()
    if workspace is not None:
        window.document.open_path(workspace)
    if model is not None:
        window.models.open_folder(model)  # on a worker thread: the window paints meanwhile
    if lesson is not None:
        window.lesson_player.open_lesson(lesson)
    else:
        window.sentence.field.setFocus()  # type first; Enter or Escape hands the keys to the stepper
    try:
        return app.exec()
    finally:
        crash.uninstall()


# ---- cold-start timing -----------------------------------------------------------------------
def process_age_s() -> tuple[float, str]:
    """Seconds since this process started (Linux: from /proc), or since this module was imported."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5), counted after the ")"
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK"), "process start"
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _IMPORTED_AT, "app import"


class _FirstPaint(QObject):
    """Quits the event loop after the first paint of the widget it filters, printing the time."""

    def __init__(self, parent: QObject, stream: Any) -> None:
        super().__init__(parent)
        self._stream = stream

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self._done)  # after the whole paint pass and its flush
        return False

    def _done(self) -> None:
        age, since = process_age_s()
        print(f"first paint: {age:.2f} s after {since}", file=self._stream, flush=True)
        QApplication.exit(0)


def exit_after_first_paint(window: MainWindow, stream: Any = None) -> bool:
    """If ATTNSTUDIO_EXIT_AFTER_PAINT=1: after ``window``'s first paint, print the time since
    process start and quit the event loop with 0. Returns whether it is armed."""
    if os.environ.get(EXIT_AFTER_PAINT) != "1":
        return False
    window.installEventFilter(_FirstPaint(window, stream or sys.stdout))  # parented: lives with the window
    return True
