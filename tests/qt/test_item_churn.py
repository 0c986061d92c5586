"""Regression guard: PySide6 6.12.0 aborts the interpreter when Python subclasses
of QGraphicsObject are re-parented a few thousand times (what pyqtgraph does whenever items
are added to and removed from a plot).

The churn runs in a child interpreter: an abort (`Fatal Python error: none_dealloc`) then
fails this test with the child's output instead of killing pytest.
"""

import os
import subprocess
import sys
import textwrap

import pytest

PURE_QT = textwrap.dedent(
    """
    from PySide6.QtCore import QRectF
    from PySide6.QtWidgets import QApplication, QGraphicsObject, QGraphicsRectItem

    app = QApplication([])

    class Item(QGraphicsObject):
        def boundingRect(self):
            return QRectF(0, 0, 1, 1)

        def paint(self, painter, option, widget=None):
            pass

    parent = QGraphicsRectItem(0, 0, 10, 10)
    for _ in range(20_000):
        item = Item()
        item.setParentItem(parent)
        item.setParentItem(None)
    print("pure-qt ok")
    """
)

PYQTGRAPH = textwrap.dedent(
    """
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    plot = pg.PlotWidget()
    plot.resize(400, 300)
    plot.show()
    for i in range(2_000):
        text = pg.TextItem(f"{i}")
        plot.addItem(text)
        plot.removeItem(text)
        if i % 200 == 0:
            app.processEvents()
    print("pyqtgraph ok")
    """
)


def run_child(script: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONFAULTHANDLER="1")
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize(("script", "marker"), [(PURE_QT, "pure-qt ok"), (PYQTGRAPH, "pyqtgraph ok")],
                         ids=["QGraphicsObject-reparent", "pyqtgraph-add-remove"])
def test_reparenting_graphics_objects_does_not_abort(script, marker, qtbot):
    result = run_child(script)
    assert result.returncode == 0 and marker in result.stdout, (
        f"the child interpreter died (exit {result.returncode}): this PySide6 build crashes when "
        f"graphics items are re-parented (a refcount error in the binding)\n{result.stderr[-3000:]}"
    )
