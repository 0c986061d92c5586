"""Qt tests run offscreen, with the user's folders isolated from the real home.

The platform and the folders must be chosen before Qt is imported, hence at the top of this
conftest. On Linux the XDG variables point at a fresh temporary folder, so settings
(QSettings), recovery files and the log land there, in this process and in the app
processes tests start; elsewhere QStandardPaths' test mode does the same for this process.
"""

import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
USER_HOME = tempfile.mkdtemp(prefix="attnstudio-test-home-")
for _var, _sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                   ("XDG_STATE_HOME", "state")):
    os.environ[_var] = os.path.join(USER_HOME, _sub)

from PySide6.QtCore import QStandardPaths  # noqa: E402

if not sys.platform.startswith("linux"):
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
