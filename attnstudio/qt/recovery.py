"""Autosave and recovery: unsaved work is written aside, and offered back after a crash.

While the work has unsaved changes, it is written to this window's recovery file (the files
themselves: ``studio.recovery``) when edits pause for ``IDLE_MS`` and at least every
``ATTNSTUDIO_AUTOSAVE_S`` seconds (30 by default) while they go on. The file is written on
a worker thread from the immutable snapshot, so a large model's seconds of writing never
freeze the window. Saving the work, or closing the window cleanly, removes it.

At launch, ``offer`` looks for recovery files that no running app holds (their app was
killed or crashed) and asks, newest first: Restore, Discard or Not now (kept, offered
again next time; ``attnstudio recover --list`` lists them). A file another running app
holds is never offered and never removed. docs/architecture.md, "Keeping the work".
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox

from attnstudio.core.errors import AttnStudioError
from attnstudio.qt.feature import AddsNothing, Host
from attnstudio.qt.user_paths import recovery_folder
from attnstudio.studio import recovery, workspace
from attnstudio.studio.recovery import Lock, RecoveryEntry
from attnstudio.studio.snapshot import Snapshot

INTERVAL_ENV = "ATTNSTUDIO_AUTOSAVE_S"
DEFAULT_INTERVAL_S = 30.0
IDLE_MS = 2000  # edits paused this long: write now (or at the interval, if shorter)


def interval_s() -> float:
    """The autosave interval: ATTNSTUDIO_AUTOSAVE_S when it is a positive number, else 30 s."""
    try:
        value = float(os.environ.get(INTERVAL_ENV, ""))
    except ValueError:
        return DEFAULT_INTERVAL_S
    return value if 0.05 <= value <= 86_400 else DEFAULT_INTERVAL_S


class _Signals(QObject):
    written = Signal(str)  # "" when written, else why not


class RecoveryFeature(AddsNothing):
    """The window's autosave and its offer to restore (see the module docstring).

    ``work`` gives the work to write aside (the document's own work, even while a lesson
    is open), ``modified`` whether it has unsaved changes, ``document`` the path of the
    workspace file it belongs to (None: untitled), ``adopt(snapshot, document)`` makes a
    restored work the window's, unsaved.
    """

    def __init__(self, host: Host, work: Callable[[], Snapshot], modified: Callable[[], bool],
                 document: Callable[[], Path | None], adopt: Callable[[Snapshot, Path | None], None],
                 folder: Path | None = None, interactive: bool = True) -> None:
        self._host = host
        self._work, self._modified, self._document, self._adopt = work, modified, document, adopt
        self.folder = Path(folder) if folder is not None else recovery_folder()
        self.interactive = interactive
        self.path: Path | None = None  # this window's recovery file, once written
        self._lock: Lock | None = None
        self._written: Snapshot | None = None  # the work last written aside
        self._thread: threading.Thread | None = None
        self._again = False
        self.writes = 0
        self.last_error = ""
        self._signals = _Signals()
        self._signals.written.connect(self._on_written)
        window = host.window_widget()
        self._idle = QTimer(window)
        self._idle.setSingleShot(True)
        self._periodic = QTimer(window)
        self._periodic.setSingleShot(True)
        self.set_interval(interval_s())
        self._idle.timeout.connect(self.write_now)
        self._periodic.timeout.connect(self.write_now)
        # Only these change the work (WORK_FIELDS); view, selection and display changes do not,
        # and need not compare the work with the saved file again.
        for kind in ("inputs", "lesson"):
            host.studio.events.connect(kind, self.changed)

    # ---- the Feature protocol: nothing on screen of its own --------------------------------


    # ---- autosave -----------------------------------------------------------------------------
    def set_interval(self, seconds: float) -> None:
        self._periodic.setInterval(max(50, round(seconds * 1000)))
        self._idle.setInterval(min(IDLE_MS, self._periodic.interval()))

    def changed(self) -> None:
        """The work may have changed: schedule a write (or remove the file once all is saved)."""
        if not self._modified():
            self._idle.stop()
            self._periodic.stop()
            if self._written is not None or self._thread is not None:
                self.discard()
            return
        self._idle.start()
        if not self._periodic.isActive():
            self._periodic.start()

    def write_now(self, wait: bool = False) -> bool:
        """Write the unsaved work aside now (on the worker thread; ``wait``: before returning).
        True when there was something to write and it was written or is being written."""
        self._idle.stop()
        self._periodic.stop()
        if not self._modified():
            return False
        snap = self._work()
        if self._written is not None and snap is self._written and self.path is not None and self.path.exists():
            return True
        if self._thread is not None:
            self._again = True
            if wait:
                self._join()
                return self.write_now(wait=True)
            return True
        if not self._claim():
            self._host.show_message(f"Unsaved work cannot be written aside: {self.last_error}", 15_000)
            return False
        document = self._document()
        path = self.path
        assert path is not None
        self._written = snap
        self._thread = threading.Thread(target=self._write, args=(snap, path, str(document) if document else None),
                                        name="attnstudio-autosave", daemon=True)
        self._thread.start()
        if wait:
            self._join()
        return True

    def _write(self, snap: Snapshot, path: Path, document: str | None) -> None:
        try:
            recovery.write(snap, path, document)
            error = ""
        except (AttnStudioError, OSError) as exc:
            error = str(exc)
        except Exception as exc:  # a worker thread must not die with the reason untold
            error = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(RuntimeError):  # the window closed meanwhile
            self._signals.written.emit(error)

    def _join(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.join()
        # The result is queued to the event loop; take it now so a caller sees the outcome.
        QCoreApplication.sendPostedEvents(self._signals)

    def _on_written(self, error: str) -> None:
        self._thread = None
        if error:
            self._written = None
            if error != self.last_error:
                self._host.show_message(f"Could not write the recovery file: {error}", 15_000)
            self.last_error = error
        else:
            self.writes += 1
            self.last_error = ""
        if self._again:
            self._again = False
            self.changed()
        elif not self._modified():
            self.discard()  # saved while the write ran

    def _claim(self) -> bool:
        """This window's recovery file name and its lock (once)."""
        if self._lock is not None and self.path is not None:
            return True
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.last_error = f"{self.folder}: {exc.strerror or exc}"
            return False
        path = self.folder / recovery.new_name()
        lock = Lock(path.with_suffix(recovery.LOCK))
        if not lock.acquire():
            self.last_error = f"{lock.path}: cannot be locked"
            return False
        self.path, self._lock = path, lock
        return True

    def discard(self) -> None:
        """Remove this window's recovery file (the work is saved, or the window closes)."""
        if self._thread is not None:
            self._join()
        if self.path is not None:
            recovery.remove(self.path)
        self._written = None

    def close(self) -> None:
        """The window closes cleanly: remove the file and let go of its lock."""
        self._idle.stop()
        self._periodic.stop()
        self.discard()
        if self._lock is not None:
            self._lock.release(delete=True)
        self._lock = None
        self.path = None

    # ---- recovery ------------------------------------------------------------------------------
    def orphans(self) -> list[tuple[RecoveryEntry, Lock]]:
        """Recovery files no running app holds, newest first, each with its lock now held by
        this window (so a second app starting at the same moment does not offer it too)."""
        found = []
        for entry in recovery.entries(self.folder):
            if entry.path == self.path or entry.in_use:
                continue
            lock = Lock(entry.path.with_suffix(recovery.LOCK))
            if lock.acquire():
                found.append((entry, lock))
        return found

    def restore(self, entry: RecoveryEntry, lock: Lock) -> bool:
        """Make the recovered work the window's (unsaved), then remove its file."""
        try:
            snap = workspace.load(entry.path)
        except AttnStudioError as exc:
            self.last_error = str(exc)
            self._host.show_message(f"Could not restore: {exc}", 30_000)
            lock.release()
            return False
        document = Path(entry.document) if entry.document else None
        self._adopt(snap, document if document is not None and document.exists() else None)
        recovery.remove(entry.path)
        lock.release(delete=True)
        when = time.strftime("%H:%M:%S", time.localtime(entry.saved_at))
        self._host.show_message(f"Restored the work of {when} (not saved yet)", 20_000)
        self.changed()
        self.write_now()  # it is unsaved work again: written aside at once, under this app's name
        return True

    @staticmethod
    def forget(entry: RecoveryEntry, lock: Lock) -> None:
        recovery.remove(entry.path)
        lock.release(delete=True)

    def offer(self) -> str:
        """At launch: ask about the newest orphaned recovery file. Returns what happened:
        "none", "restored", "discarded", "kept" (or "failed")."""
        found = self.orphans()
        if not found:
            return "none"
        (entry, lock), rest = found[0], found[1:]
        for _e, other in rest:
            other.release()
        if not self.interactive:
            lock.release()
            return "kept"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.saved_at))
        box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved work?",
                          f"Attention Studio was closed without saving the work of {when}:\n\n"
                          f"“{_short(entry.sentence)}”", parent=self._host.window_widget())
        more = f"\n\n{len(rest)} older recovery file(s) remain: `attnstudio recover --list`." if rest else ""
        box.setInformativeText(f"Restore it now, discard it, or keep it for later.{more}")
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(restore)
        box.exec()
        if box.clickedButton() is restore:
            return "restored" if self.restore(entry, lock) else "failed"
        if box.clickedButton() is discard:
            self.forget(entry, lock)
            return "discarded"
        lock.release()
        return "kept"


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
