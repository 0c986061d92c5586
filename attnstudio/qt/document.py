"""The workspace on screen as a document: New, Open, Save, Save As, recent files, the title.

A feature of the window (``MainWindow.install``): the File menu. A workspace is the
studio's work in a ``.attn`` file (``attnstudio.studio.workspace``, docs/workspace.md).
Files are written whole or not at all (QSaveFile: a temporary file renamed on commit, the
commit checked). The title names the file and marks unsaved work with "•"; opening
something else, starting a new workspace or closing the window with unsaved work asks
first. A file that cannot be read is one message naming the file and the field, and the
work on screen is untouched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSaveFile, QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from attnstudio.core.errors import AttnStudioError
from attnstudio.qt.feature import AddsNothing, Host, menu_action, tell_failure
from attnstudio.studio import workspace
from attnstudio.studio.snapshot import WORK_FIELDS, Snapshot, same

APP_TITLE = "Attention Studio"
RECENT_KEY = "workspace/recent"
MAX_RECENT = 8
FILTER = f"Workspaces (*{workspace.SUFFIX});;All files (*)"


def work_of(snap: Snapshot) -> Snapshot:
    """The user's own work in ``snap``: while a lesson is open, what it will give back."""
    return snap.before_lesson or snap


class DocumentFeature(AddsNothing):
    """The File menu and the window's title (see the module docstring)."""

    def __init__(self, host: Host, interactive: bool = True) -> None:
        window = host.window_widget()
        self._host = host
        self._window = window
        self.studio = host.studio
        self.interactive = interactive
        self.path: Path | None = None
        self.last_error = ""
        self._saved: Snapshot | None = work_of(self.studio.snapshot())  # None: never saved (recovered)
        self._on_reset: list[Callable[[], None]] = []
        self._on_saved: list[Callable[[], None]] = []
        # Hands over typing still pending in the window (set by the window); called first by
        # every command that reads or replaces the work.
        self.before_command: Callable[[], None] = lambda: None

        self.menu = QMenu("&File", window)
        self.new_action = self._action("New workspace", QKeySequence.StandardKey.New, self.new)
        self.open_action = self._action("Open workspace…", "Ctrl+Shift+O", self.open_dialog)
        self.recent_menu = self.menu.addMenu("Open recent")
        self.menu.addSeparator()
        self.save_action = self._action("Save", QKeySequence.StandardKey.Save, self.save)
        self.save_as_action = self._action("Save as…", QKeySequence.StandardKey.SaveAs, self.save_as)
        self.studio.events.connect_any(lambda _kinds: self._show_title())
        self._fill_recent()
        self._show_title()

    def _action(self, text: str, keys: QKeySequence.StandardKey | str, slot: Callable[[], object]) -> QAction:
        return menu_action(self.menu, self._window, text, slot, keys)

    # ---- what the window installs ------------------------------------------------------------
    def menus(self) -> list[QMenu]:
        return [self.menu]

    def actions(self) -> list[QAction]:
        return [self.new_action, self.open_action, self.save_action, self.save_as_action]

    def drops(self) -> dict[str, Callable[[str], object]]:
        return {workspace.SUFFIX: self.open_path}

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when another workspace replaces the work (undo forgets its steps)."""
        self._on_reset.append(callback)

    def on_saved(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when the work was saved (its recovery file is no longer needed)."""
        self._on_saved.append(callback)

    # ---- state ---------------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        """Whether the work differs from what was last saved or opened."""
        if self._saved is None:
            return True
        now = work_of(self.studio.snapshot())
        return not all(same(getattr(now, f), getattr(self._saved, f)) for f in WORK_FIELDS)

    def title(self) -> str:
        name = self.path.name if self.path is not None else "untitled"
        return f"{name}{' •' if self.modified else ''} — {APP_TITLE}"

    def _show_title(self) -> None:
        self._window.setWindowTitle(self.title())

    # ---- commands --------------------------------------------------------------------------------
    def new(self) -> bool:
        """Start from the default sentence and seeded matrices (asks first about unsaved work)."""
        if not self.maybe_save():
            return False
        now = self.studio.snapshot()
        self._replace(Snapshot(theme=now.theme, zoom=now.zoom, weights_scale=now.weights_scale), None)
        return True

    def open_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self._window, "Open a workspace", self._folder(), FILTER)
        return self.open_path(path) if path else False

    def open_path(self, path: str | os.PathLike[str]) -> bool:
        """Open a workspace file; False (and one message, the work untouched) when it cannot.

        A workspace of a large model opens once a worker thread has seeded its matrices (the
        status bar says so); True then means it is on its way."""
        if not self.maybe_save():
            return False
        opened = [False]

        def change() -> None:
            opened[0] = self._open_now(path)

        settings = workspace.settings_in(path)
        if self._host.studio_qt.seeding.run("open", lambda: [settings] if settings is not None else [], change):
            return opened[0]
        self._host.show_message(f"Opening {Path(path).name}: seeding its matrices…")
        return True

    def _open_now(self, path: str | os.PathLike[str]) -> bool:
        try:
            snap = workspace.load(path)
        except AttnStudioError as exc:
            self._error("Cannot open the workspace", str(exc))
            return False
        except OSError as exc:
            self._error("Cannot open the workspace", f"{path}: {exc.strerror or exc}")
            return False
        self._replace(snap, Path(path))
        self._remember(Path(path))
        self._host.show_message(f"Opened {Path(path).name}")
        return True

    def save(self) -> bool:
        return self.save_as() if self.path is None else self.save_to(self.path)

    def save_as(self) -> bool:
        start = str(self.path) if self.path is not None else os.path.join(self._folder(), "untitled" + workspace.SUFFIX)
        path, _ = QFileDialog.getSaveFileName(self._window, "Save the workspace", start, FILTER)
        if not path:
            return False
        if not path.endswith(workspace.SUFFIX):
            path += workspace.SUFFIX
        return self.save_to(Path(path))

    def save_to(self, path: str | os.PathLike[str]) -> bool:
        """Write the work to ``path`` whole or not at all; True when it was written."""
        self.before_command()
        path = Path(path)
        snap = self.studio.snapshot()
        try:
            data = workspace.dumps(snap).encode("utf-8")
        except (AttnStudioError, ValueError) as exc:
            self._error("Cannot save the workspace", f"{path}: {exc}")
            return False
        out = QSaveFile(str(path))
        if not out.open(QSaveFile.OpenModeFlag.WriteOnly):
            self._error("Cannot save the workspace", f"{path}: {out.errorString()}")
            return False
        written = out.write(data)
        if written != len(data) or not out.commit():
            error = out.errorString()
            out.cancelWriting()
            self._error("Cannot save the workspace", f"{path}: {error or 'the file could not be written whole'}"
                        " — the file on disk is as it was")
            return False
        self.path = path
        # What the file holds: the screen, a lesson's step included. Inside a lesson the work
        # that closing it gives back is then still unsaved, and the title says so (marking it
        # saved let the window close without asking, losing it).
        self._saved = snap
        self._remember(path)
        self._show_title()
        for callback in self._on_saved:
            callback()
        self._host.show_message(f"Saved {path.name}")
        return True

    def adopt(self, snap: Snapshot, path: Path | None) -> None:
        """Make recovered work the window's: on screen, tied to ``path`` (the file it came
        from, or None), and unsaved until the user saves it."""
        self._replace(snap, path)
        self._saved = None
        self._show_title()

    def maybe_save(self) -> bool:
        """With unsaved work, ask Save / Discard / Cancel; True when it is fine to go on."""
        self.before_command()
        if not self.modified or not self.interactive:
            return True
        answer = QMessageBox.question(
            self._window, "Unsaved work",
            f"{self.path.name if self.path else 'This workspace'} has changes that are not saved.",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # ---- internals ---------------------------------------------------------------------------
    def _replace(self, snap: Snapshot, path: Path | None) -> None:
        self.studio.restore(snap)
        self.path = path
        self._saved = work_of(self.studio.snapshot())
        for callback in self._on_reset:
            callback()
        self._show_title()

    def _error(self, title: str, message: str) -> None:
        self.last_error = message
        tell_failure(self._host, title, message, self.interactive)

    def _folder(self) -> str:
        recent = self.recent()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def recent(self) -> list[str]:
        """Recently opened or saved workspaces, newest first."""
        value = QSettings().value(RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if isinstance(v, str)]

    def _remember(self, path: Path) -> None:
        entry = str(path.resolve())
        QSettings().setValue(RECENT_KEY, [entry, *[p for p in self.recent() if p != entry]][:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for entry in self.recent():
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(lambda _=False, p=entry: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent()))
