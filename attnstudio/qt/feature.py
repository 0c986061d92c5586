"""What a window feature (the lesson player, presentation mode) and its window promise each other.

A feature declares what it adds (``Feature``: menus, window-wide actions, side docks, the
file types it opens when dropped) and the window installs them; the feature works through
the ``Host`` it is given, never through the window's private widgets or attributes. Both
are Protocols, so a feature depends on this module, not on the window's class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QMessageBox, QWidget

from attnstudio.qt.qt_studio import QtStudio
from attnstudio.studio.model import StudioModel


class Feature(Protocol):
    """What a feature hands the window to install (``MainWindow.install``)."""

    def menus(self) -> Sequence[QMenu]: ...

    def actions(self) -> Sequence[QAction]: ...

    def docks(self) -> Sequence[QDockWidget]: ...

    def drops(self) -> dict[str, Callable[[str], object]]: ...


class AddsNothing:
    """Empty parts for a feature to inherit: it then defines only the parts it adds."""

    def menus(self) -> Sequence[QMenu]:
        return ()

    def actions(self) -> Sequence[QAction]:
        return ()

    def docks(self) -> Sequence[QDockWidget]:
        return ()

    def drops(self) -> dict[str, Callable[[str], object]]:
        return {}


class Host(Protocol):
    """The window as a feature sees it: the studio model and a few services."""

    studio: StudioModel
    studio_qt: QtStudio

    def window_widget(self) -> QWidget:
        """The top-level widget (parent of dialogs, target of full screen and the blank sheet)."""
        ...

    def show_message(self, text: str, ms: int = ...) -> None: ...

    def show_dock(self, dock: QDockWidget, width: int = ...) -> None: ...

    def dock_in_front(self, dock: QDockWidget) -> bool: ...

    def go_to_stage(self, key: str) -> None: ...


def menu_action(menu: QMenu, parent: QWidget, text: str, slot: Callable[[], object],
                keys: QKeySequence.StandardKey | str | None = None) -> QAction:
    """An action in ``menu`` that calls ``slot()`` (without Qt's ``checked`` argument), with
    ``keys`` as its shortcut when given; the window makes the shortcut window-wide when the
    feature lists the action in ``actions()``."""
    action = QAction(text, parent)
    if keys:
        action.setShortcut(QKeySequence(keys))
    action.triggered.connect(lambda _=False: slot())
    menu.addAction(action)
    return action


def tell_failure(host: Host, title: str, message: str, interactive: bool) -> None:
    """A command that failed and changed nothing: ``message`` on the status bar (30 s) and,
    when ``interactive``, in a warning box that does not block the window."""
    host.show_message(message, 30_000)
    if interactive:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok,
                          host.window_widget())
        box.setInformativeText("The work on screen is unchanged.")
        box.open()
