"""File ▸ Open Model Folder… and Close Model: a real model, loaded off the UI thread.

Loading reads the whole safetensors file (half a second for MiniLM, seconds for BERT-base),
so it runs on a worker thread, as the computation does (qt/compute_worker.py); the result
comes back through a queued signal and is opened on the UI thread (``StudioModel.open_model``).
A folder that is not a supported model gets one message (the core's ModelError) and the work
on screen stays as it was. docs/architecture.md, "Real models".
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QToolButton

from attnstudio.core.errors import AttnStudioError
from attnstudio.qt.feature import AddsNothing, Host, tell_failure


def _load(folder: str) -> Any:
    from attnstudio.core.model_folder import load_model  # the optional packages, on first use

    return load_model(folder)


class _Signals(QObject):
    done = Signal(object, str)  # the model (None on failure), the message


class ModelFeature(AddsNothing, QObject):
    """Opens and closes a real model; ``button`` (for the status bar) names the open one."""

    busy_changed = Signal(bool)

    def __init__(self, host: Host, interactive: bool = True, load: Callable[[str], Any] = _load) -> None:
        super().__init__(host.window_widget())
        self._host = host
        self._interactive = interactive
        self._load = load
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)
        self._thread: threading.Thread | None = None
        self.loading_folder = ""
        self.last_error = ""
        window = host.window_widget()
        self.open_action = QAction("Open Model Folder…", window)
        self.open_action.triggered.connect(lambda _=False: self.ask())
        self.close_action = QAction("Close Model (back to the toy model)", window)
        self.close_action.triggered.connect(lambda _=False: self.close_model())
        self.button = QToolButton(window)
        self.button.setObjectName("modelButton")
        self.button.setToolTip("The real model on view: click to close it and go back to the toy model")
        self.button.clicked.connect(self.close_model)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        host.studio_qt.changed.connect(self.sync)
        self.sync()

    def fill(self, menu: QMenu) -> None:
        """Put Open Model Folder… and Close Model in ``menu`` (the File menu)."""
        menu.addSeparator()
        menu.addAction(self.open_action)
        menu.addAction(self.close_action)

    # ---- commands -------------------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return self._thread is not None

    def ask(self) -> None:
        folder = QFileDialog.getExistingDirectory(self._host.window_widget(), "Open Model Folder (config.json, "
                                                  "model.safetensors, tokenizer.json)")
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path) -> None:
        """Load ``folder`` on a worker thread; open it when it is read (or say why not)."""
        if self._thread is not None:
            self._host.show_message(f"still loading {self.loading_folder}…")
            return
        self.loading_folder = str(folder)
        self._thread = threading.Thread(target=self._work, args=(str(folder),), name="attnstudio-load-model",
                                        daemon=True)
        self._thread.start()
        self.busy_changed.emit(True)

    def wait(self, secs: float | None = None) -> bool:
        """Block until the load has finished (its result still comes through the event loop)."""
        thread = self._thread
        if thread is not None:
            thread.join(secs)
            return not thread.is_alive()
        return True

    def close_model(self) -> None:
        self._host.studio.close_model()

    def _work(self, folder: str) -> None:
        model, message = None, ""
        try:
            model = self._load(folder)
        except AttnStudioError as exc:
            message = str(exc)
        except Exception as exc:  # a model must never take the window down
            traceback.print_exc()
            message = f"{folder}: cannot be read as a model: {type(exc).__name__}: {exc}"
        with contextlib.suppress(RuntimeError):  # the window closed while this ran
            self._signals.done.emit(model, message)

    def _on_done(self, model: Any, message: str) -> None:
        self._thread = None
        self.busy_changed.emit(False)
        if model is not None:
            try:
                self._host.studio.open_model(model)
            except AttnStudioError as exc:
                message = str(exc)
        self.last_error = message
        if message:
            tell_failure(self._host, "Cannot open the model", message, self._interactive)

    def sync(self) -> None:
        real = self._host.studio.real
        self.close_action.setEnabled(real is not None)
        self.button.setVisible(real is not None)
        if real is not None:
            i = real.info
            self.button.setText(f"{i.name} ✕")
