"""Shared helpers of the studio window tests: build a window, wait for its result, find cells."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint

from attnstudio.core.trace import Trace
from attnstudio.qt.app import create_window
from attnstudio.qt.heatmap import HeatmapView
from attnstudio.qt.main_window import MainWindow


def make_window(qtbot, size=(1280, 720)) -> MainWindow:
    w = create_window()
    # No "save your changes?" dialog when a test closes a window with edits (a modal dialog
    # would wait forever offscreen); tests of that question switch it back on.
    w.document.interactive = False
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


def settle(qtbot, w: MainWindow, timeout: int = 5000) -> Trace:
    """Flush pending edits and wait until the window shows a result for the state's inputs."""
    w.sentence.flush()
    w.studio_qt.flush()
    qtbot.waitUntil(lambda: w.idle, timeout=timeout)
    qtbot.wait(1)
    assert w.trace is not None
    return w.trace


def expected_stage(tr: Trace, stage: str, layer: int = 0, head: int = 0) -> np.ndarray:
    """The matrix the large heatmap must show for ``stage`` (small inputs: no reduction)."""
    lt = tr.layers[layer]
    if stage in ("tokens", "embeddings"):
        return np.asarray(lt.input)
    if stage == "projections":
        return np.asarray(lt.heads[head].q)
    if stage == "heads":
        return np.asarray(lt.output)
    return np.asarray(lt.heads[head].stage(stage))


def viewport_pos(view: HeatmapView, row: int, col: int) -> QPoint:
    return view.cell_viewport_pos(row, col)


def viewport(view: HeatmapView):
    return view.plot_viewport()


def type_into_cell(qtbot, table, row: int, col: int, text: str) -> None:
    """Open the cell's editor as a double-click would, type ``text`` and press Enter."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLineEdit

    index = table.model().index(row, col)
    table.setCurrentIndex(index)
    table.edit(index)
    # Closed editors linger until deleteLater runs: take the one that is open.
    editors = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
    assert len(editors) == 1, "the cell did not open one editor"
    editor = editors[0]
    editor.clear()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # Qt commits an editor's text on Return through a queued call: let it arrive.
    qtbot.waitUntil(lambda: table.state() != table.State.EditingState, timeout=2000)
