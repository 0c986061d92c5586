"""When something goes wrong anyway: the work first, then a report, and the app goes on.

``CrashHandler.install`` (the app does it at start) replaces ``sys.excepthook`` and
``threading.excepthook``. An uncaught exception — in a slot, a timer, a paint, a worker
thread — then:

1. writes the unsaved work to its recovery file (``save_work``, before anything that could
   fail again),
2. appends the report (time, versions, the traceback) to the log file,
3. shows a dialog with the report (selectable, and a "Copy report" button) and the log's path.

The event loop goes on: the window stays usable where it can. ``faulthandler`` writes hard
crashes (a segmentation fault in a library) to the same log. A second error while the
dialog is open only goes to the log and counts in the status bar: no cascade of dialogs.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import platform
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from attnstudio import __version__

MAX_LOG_BYTES = 2 << 20  # past this the log starts again (the previous one kept as .1)


class CrashHandler:
    """Catches what nothing else caught (see the module docstring)."""

    def __init__(self, log_path: Path, save_work: Callable[[], object] | None = None,
                 parent: Callable[[], QWidget | None] | None = None,
                 notify: Callable[[str], object] | None = None, interactive: bool = True) -> None:
        self.log_path = Path(log_path)
        self._save_work = save_work
        self._parent = parent
        self._notify = notify
        self.interactive = interactive
        self.reports: list[str] = []
        self.dialog: QMessageBox | None = None
        self._fault_file: IO[str] | None = None
        self._previous: tuple[Any, Any] | None = None
        self._busy = False

    # ---- installing -------------------------------------------------------------------------
    def install(self) -> CrashHandler:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.handle
        threading.excepthook = self._thread_hook
        self._enable_faulthandler()
        return self

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None
        if self._fault_file is not None:
            with contextlib.suppress(Exception):
                faulthandler.disable()
                self._fault_file.close()
            self._fault_file = None

    def _enable_faulthandler(self) -> None:
        try:
            fh = self._open_log()
            fh.write(f"\n--- attnstudio {__version__} started {_now()} (pid {os.getpid()}); a hard crash's "
                     "traceback would follow ---\n")
            fh.flush()
            faulthandler.enable(file=fh, all_threads=True)
            self._fault_file = fh
        except (OSError, RuntimeError, ValueError):
            self._fault_file = None  # no log folder: the app still runs

    def _open_log(self) -> IO[str]:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            if self.log_path.stat().st_size > MAX_LOG_BYTES:
                os.replace(self.log_path, self.log_path.with_suffix(".log.1"))
        return open(self.log_path, "a", encoding="utf-8")  # closed by the caller

    # ---- handling -----------------------------------------------------------------------------
    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        self.handle(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback, where=name)

    def handle(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
               where: str = "the window") -> None:
        """The exception hook: save the work, log the report, tell the user; never raises."""
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        saved = self._save()
        report = self.report(exc_type, exc, tb, where, saved)
        self.reports.append(report)
        logged = self._log(report)
        with contextlib.suppress(Exception):
            sys.stderr.write(report + "\n")
        if threading.current_thread() is not threading.main_thread():
            return  # the dialog is the UI thread's: the log and stderr carry it
        self._tell(report, logged, f"{exc_type.__name__}: {_first_line(exc)}")

    def _save(self) -> str:
        if self._save_work is None or self._busy:
            return "not attempted"
        self._busy = True
        try:
            return "written" if self._save_work() else "nothing unsaved"
        except Exception as exc:
            return f"failed ({type(exc).__name__}: {_first_line(exc)})"
        finally:
            self._busy = False

    @staticmethod
    def report(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None, where: str,
               saved: str) -> str:
        lines = [
            f"attnstudio {__version__} — an unexpected error in {where}, {_now()}",
            f"Python {platform.python_version()}, Qt {qVersion()}, {platform.platform()}",
            f"Unsaved work: {saved}",
            "",
            "".join(traceback.format_exception(exc_type, exc, tb)).rstrip(),
        ]
        return "\n".join(lines)

    def _log(self, report: str) -> bool:
        try:
            with self._open_log() as fh:
                fh.write(f"\n{report}\n")
            return True
        except OSError:
            return False

    def _tell(self, report: str, logged: bool, summary: str) -> None:
        if self._notify is not None:
            with contextlib.suppress(Exception):
                self._notify(f"An unexpected error ({summary}); the work is kept. Report: {self.log_path}")
        if not self.interactive or QGuiApplication.instance() is None:
            return
        if self.dialog is not None and self.dialog.isVisible():
            return  # one dialog at a time; the log has every report
        parent = self._parent() if self._parent is not None else None
        box = QMessageBox(QMessageBox.Icon.Critical, "Something went wrong",
                          f"An unexpected error: {summary}", QMessageBox.StandardButton.Close, parent)
        where = f"The report is in {self.log_path}." if logged else "The log could not be written."
        box.setInformativeText(f"Your work is kept, and the app goes on. {where}\n"
                               "Please send the report with what you were doing.")
        box.setDetailedText(report)
        copy = box.addButton("Copy report and close", QMessageBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(report))
        box.open()  # not modal: the window behind stays usable
        self.dialog = box


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "(no message)"
