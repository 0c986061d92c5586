"""Qt tests run offscreen, with settings isolated from the real home (QStandardPaths test mode).

The platform must be chosen before Qt is imported, hence at the top of this conftest.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QStandardPaths

QStandardPaths.setTestModeEnabled(True)

import pytest  # noqa: E402  (after the platform is chosen)
from studio_helpers import make_window, settle  # noqa: E402

from attnstudio.qt.heatmap import HeatmapView  # noqa: E402


@pytest.fixture
def window(qtbot):
    """The studio window as `attnstudio` opens it (lesson player installed), shown at 1280×720
    with its first result painted."""
    w = make_window(qtbot)
    settle(qtbot, w)
    return w


@pytest.fixture
def view(qtbot):
    """A lone HeatmapView, 800×600, shown."""
    w = HeatmapView()
    qtbot.addWidget(w)
    w.resize(800, 600)
    w.show()
    qtbot.waitExposed(w)
    return w
