"""Start the studio: the QApplication, its name and icon, and the main window.

``run_app(lesson=ID|PATH)`` opens the window on that lesson (``attnstudio --lesson``); a
lesson that does not load is reported in the window, which opens all the same.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from attnstudio.qt.main_window import MainWindow

DEFAULT_SIZE = (1280, 800)


def _application(argv: list[str] | None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(sys.argv if argv is None else argv))
    app.setApplicationName("attnstudio")
    app.setApplicationDisplayName("Attention Studio")
    app.setOrganizationName("attnstudio")
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


def create_window() -> MainWindow:
    """A ready MainWindow (the QApplication must exist); not shown."""
    from attnstudio.qt.lesson_player import install_lesson_player

    window = MainWindow()
    window.resize(*DEFAULT_SIZE)
    install_lesson_player(window)  # Lessons menu, narration dock, presentation keys, drops
    return window


def run_app(argv: list[str] | None = None, lesson: str | None = None) -> int:
    """Open the studio window and run the event loop; returns the exit code."""
    app = _application(argv)
    window = create_window()
    window.show()
    if lesson is not None:
        window.lesson_player.open_lesson(lesson)
    if os.environ.get("ATTNSTUDIO_EXIT_AFTER_PAINT") == "1":
        # Cold-start timing (attnstudio.qt.latency, the self-test): quit after the first paint.
        from attnstudio.qt.selftest import exit_after_first_paint

        exit_after_first_paint(window)
    return app.exec()
