"""The Export menu: the stage on view as PNG or SVG, its matrix or the editor's as CSV or .npy,
every stage as an animated GIF, the open lesson as PDF or GIF slides; and Import, a CSV or
.npy file into the editor's matrix.

A feature of the window (``MainWindow.install``). The window hands it the stage view and the
matrix editor to draw and read from, and a way to get the trace on view. Files are written
whole or not at all (``core.atomic``); a failure is one message naming the file, in the
status bar and (interactive) a dialog. An import goes through the studio model's mutators,
so it is one step of undo, and a file that cannot be used (``core.matrix_files``: wrong
shape, not numbers, NaN or ∞, a .npy that needs pickle, truncated, binary, huge) leaves the
work untouched. The headless twin of these actions is ``attnstudio export``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QProcess
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu, QWidget

from attnstudio.core.atomic import write_bytes
from attnstudio.core.errors import AttnStudioError
from attnstudio.core.gif import encode_gif
from attnstudio.core.matrices import DIRECT_MATRICES, direct_label
from attnstudio.core.matrix_files import matrix_to_csv, matrix_to_npy, read_matrix
from attnstudio.core.trace import STAGE_KEYS, STAGE_MATRIX, Trace
from attnstudio.qt.feature import AddsNothing, Host, menu_action, tell_failure
from attnstudio.qt.matrix_editor import MatrixEditor
from attnstudio.qt.render_files import fit_frame, save_widget_png, save_widget_svg, widget_rgb
from attnstudio.studio.edits import weight_name

GIF_STAGE_MS = 2500
GIF_MAX = (960, 540)  # frames larger than this are scaled down: a GIF of a 4K screen is huge
FILTERS = {
    "png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "gif": "Animated GIF (*.gif)",
    "csv": "CSV numbers (*.csv)", "npy": "NumPy array (*.npy)",
}


class ExportFeature(AddsNothing):
    """The Export menu (see the module docstring)."""

    def __init__(self, host: Host, stage_view: QWidget, editor: MatrixEditor, trace: Callable[[], Trace | None],
                 interactive: bool = True) -> None:
        self._host = host
        self._window = host.window_widget()
        self.studio = host.studio
        self.stage_view = stage_view
        self.editor = editor
        self._trace = trace
        self.interactive = interactive
        self.last_error = ""
        self._folder = str(Path.home())
        # Set by the window: the widget a picture of "the stage" shows (the comparison's three
        # panes while one is on screen) and the comparison's B − A (None when there is none).
        self.picture: Callable[[], QWidget] = lambda: self.stage_view
        self.difference: Callable[[], Any] = lambda: None

        self.menu = QMenu("E&xport", self._window)
        self._add("Stage as PNG…", lambda: self._ask("png", "stage", self.save_stage_png))
        self._add("Stage as SVG…", lambda: self._ask("svg", "stage", self.save_stage_svg))
        self._add("Stages as GIF…", lambda: self._ask("gif", "stages", self.save_stages_gif))
        self.menu.addSeparator()
        self._add("Stage's matrix as CSV…", lambda: self._ask("csv", self._stage_file(), self.save_stage_matrix))
        self._add("Stage's matrix as .npy…", lambda: self._ask("npy", self._stage_file(), self.save_stage_matrix))
        self.difference_action = self._add("Comparison's B − A as CSV…",
                                           lambda: self._ask("csv", f"{self._stage_file()}-difference",
                                                             self.save_difference))
        self._add("Editor's matrix as CSV…", lambda: self._ask("csv", self.editor.key, self.save_editor_matrix))
        self._add("Editor's matrix as .npy…", lambda: self._ask("npy", self.editor.key, self.save_editor_matrix))
        self.menu.addSeparator()
        self.import_action = self._add("Import into the editor's matrix…", self.import_dialog)
        self.menu.addSeparator()
        self.lesson_pdf_action = self._add("Lesson as PDF…", lambda: self._ask("pdf", self._lesson_id(),
                                                                               self.save_lesson))
        self.lesson_gif_action = self._add("Lesson as GIF…", lambda: self._ask("gif", self._lesson_id(),
                                                                               self.save_lesson))
        self._process: QProcess | None = None
        self.menu.aboutToShow.connect(self._enable)

    def _add(self, text: str, slot: Callable[[], object]) -> QAction:
        return menu_action(self.menu, self._window, text, slot)

    # ---- what the window installs ------------------------------------------------------------
    def menus(self) -> list[QMenu]:
        return [self.menu]

    def drops(self) -> dict[str, Callable[[str], object]]:
        """A matrix file dropped on the window goes into the editor's matrix, as Import does."""
        return {".csv": self.import_matrix, ".npy": self.import_matrix}

    # ---- exports (each takes a path; the menu asks for it) -------------------------------------
    def save_stage_png(self, path: str | os.PathLike[str]) -> bool:
        return self._run(path, lambda: save_widget_png(self.picture(), path))

    def save_stage_svg(self, path: str | os.PathLike[str]) -> bool:
        return self._run(path, lambda: save_widget_svg(self.picture(), path, f"{self.studio.stage} — attnstudio"))

    def save_stages_gif(self, path: str | os.PathLike[str]) -> bool:
        """Every stage in turn, as on screen; the stage on view is given back afterwards."""

        def frames() -> list[np.ndarray]:
            shown = self.studio.stage
            out = []
            try:
                for key in STAGE_KEYS:
                    self.studio.set_stage(key)
                    QApplication.processEvents()
                    out.append(widget_rgb(self.stage_view, GIF_MAX))
            finally:
                self.studio.set_stage(shown)
            size = (out[0].shape[1], out[0].shape[0])
            return [fit_frame(f, size) for f in out]

        return self._run(path, lambda: write_bytes(path, encode_gif(frames(), GIF_STAGE_MS)))

    def save_stage_matrix(self, path: str | os.PathLike[str]) -> bool:
        """The matrix the large heatmap shows (all of it, every digit), as CSV or .npy by suffix."""

        def write() -> None:
            trace = self._trace()
            if trace is None:
                raise AttnStudioError("there is no result yet: type a sentence")
            name = STAGE_MATRIX[self.studio.stage][0]
            layer, head = min(self.studio.layer, trace.settings.layers - 1), min(self.studio.head,
                                                                                  trace.settings.heads - 1)
            values = trace.backend.asnumpy(trace.matrix(name, layer, head))
            self._write_matrix(path, values, f"{name} (layer {layer + 1}, head {head + 1})")

        return self._run(path, write)

    def save_difference(self, path: str | os.PathLike[str]) -> bool:
        """The comparison's B − A of the stage on view (as shown: the cells the panes show), as
        CSV or .npy by suffix."""

        def write() -> None:
            cmp = self.difference()
            if cmp is None:
                raise AttnStudioError("nothing is compared: pin a state as A (F8) and change something")
            if cmp.diff is None:
                raise AttnStudioError(cmp.reason)
            self._write_matrix(path, cmp.diff, f"B − A of {self.studio.stage}")

        return self._run(path, write)

    def save_editor_matrix(self, path: str | os.PathLike[str]) -> bool:
        """The matrix in the Matrices panel (W_Q, X, a direct Q …), as CSV or .npy by suffix."""
        return self._run(path, lambda: self._write_matrix(path, self._editor_values(), self._editor_name()))

    def _write_matrix(self, path: str | os.PathLike[str], values: np.ndarray, label: str) -> None:
        if Path(os.fspath(path)).suffix.lower() == ".npy":
            write_bytes(path, matrix_to_npy(values))
        else:
            write_bytes(path, matrix_to_csv(values, f"attnstudio: {label}").encode())

    # ---- a lesson, drawn by `attnstudio export` in a process of its own ----------------------------
    @property
    def busy(self) -> bool:
        """Whether a lesson export is still running."""
        return self._process is not None

    def save_lesson(self, path: str | os.PathLike[str]) -> bool:
        """Start exporting the open lesson, every step a page (``.pdf``) or a frame (``.gif``).

        The slides are drawn as the command line draws them (a window of their own, the
        projector theme), in another process so this window stays responsive; the status bar
        says when the file is written or why not. True when it started.
        """
        lesson = self.studio.lesson
        fmt = Path(os.fspath(path)).suffix.lower().lstrip(".")
        if lesson is None:
            self._error("Cannot export", "open a lesson first (Lessons menu)")
            return False
        if self._process is not None:
            self._error("Cannot export", "a lesson is still being exported")
            return False
        if fmt not in ("pdf", "gif") or not str(os.fspath(path)).strip():
            self._error("Cannot export", f"{path}: a lesson exports as .pdf or .gif")
            return False
        source = lesson.id if lesson.source == "built-in" else lesson.source
        args = ["export", "--lesson", source, "--format", fmt, "--out", os.fspath(path)]
        process = QProcess(self._window)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        process.finished.connect(lambda code, _status: self._lesson_done(process, code, os.fspath(path)))
        self._process = process
        frozen = getattr(sys, "frozen", False)  # a bundle's executable is the command itself
        process.start(sys.executable, args if frozen else ["-m", "attnstudio", *args])
        self._host.show_message(f"Exporting '{lesson.title}' to {path}…", 60_000)
        return True

    def _lesson_done(self, process: QProcess, code: int, path: str) -> None:
        err = bytes(process.readAllStandardError().data()).decode("utf-8", "replace").strip().splitlines()
        self._process = None
        process.deleteLater()
        if code == 0:
            self.last_error = ""
            self._host.show_message(f"Wrote {path}")
        else:
            self._error("Cannot export the lesson", (err[-1] if err else f"{path}: the export stopped ({code})")
                        .removeprefix("attnstudio: error: "))

    def _lesson_id(self) -> str:
        lesson = self.studio.lesson
        return lesson.id if lesson is not None else "lesson"

    def _enable(self) -> None:
        on = self.studio.lesson is not None and self._process is None
        self.lesson_pdf_action.setEnabled(on)
        self.lesson_gif_action.setEnabled(on)
        self.difference_action.setEnabled(self.difference() is not None)

    # ---- import -------------------------------------------------------------------------------
    def import_dialog(self) -> bool:
        path, _ = QFileDialog.getOpenFileName(self._window, f"Import into {self._editor_name()}", self._folder,
                                              "Matrices (*.csv *.npy);;All files (*)")
        return self.import_matrix(path) if path else False

    def import_matrix(self, path: str | os.PathLike[str]) -> bool:
        """Replace the editor's matrix with the one in ``path`` (same shape, finite numbers);
        False, with one message and the work untouched, when the file cannot be used."""
        st, key = self.studio, self.editor.key
        li, hi = st.layer, st.head
        name = self._editor_name()
        try:
            values = read_matrix(path, name, self._editor_values().shape)
            if key == "x":
                st.set_embeddings(values)
            elif key in DIRECT_MATRICES:
                st.set_direct(li, hi, key, values)
            else:
                st.set_weight(li, hi, key, values)
        except AttnStudioError as exc:
            self._error("Cannot import the matrix", str(exc))
            return False
        self.editor.refresh()
        self._folder = str(Path(path).parent)
        self._host.show_message(f"Imported {Path(path).name} into {name}")
        return True

    # ---- internals ---------------------------------------------------------------------------
    def _editor_name(self) -> str:
        key, st = self.editor.key, self.studio
        if key == "x":
            return "X (embeddings)"
        if key in DIRECT_MATRICES:
            return direct_label(key, st.layer, st.head)
        return weight_name(key, st.layer, st.head)

    def _editor_values(self) -> np.ndarray:
        key, st = self.editor.key, self.studio
        if key.startswith("w_"):
            return np.asarray(st.matrix(key, st.layer, st.head), dtype=np.float64)
        if key == "x":
            x = st.embeddings_matrix()
            if x is None:
                raise AttnStudioError("there are no tokens: type a sentence first")
            return np.asarray(x, dtype=np.float64)
        return np.asarray(self.editor.table.matrix(), dtype=np.float64)

    def _stage_file(self) -> str:
        return STAGE_MATRIX[self.studio.stage][0]

    def _ask(self, fmt: str, stem: str, save: Callable[[str], bool]) -> bool:
        start = os.path.join(self._folder, f"{stem}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self._window, f"Export as {fmt.upper()}", start, FILTERS[fmt])
        if not path:
            return False
        if Path(path).suffix.lower() != f".{fmt}":
            path += f".{fmt}"
        if save(path):
            self._folder = str(Path(path).parent)
            return True
        return False

    def _run(self, path: str | os.PathLike[str], work: Callable[[], object]) -> bool:
        try:
            work()
        except AttnStudioError as exc:
            self._error("Cannot export", str(exc))
            return False
        self.last_error = ""
        self._host.show_message(f"Wrote {path}")
        return True

    def _error(self, title: str, message: str) -> None:
        self.last_error = message
        tell_failure(self._host, title, message, self.interactive)
