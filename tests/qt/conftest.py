"""Qt tests run offscreen, with settings isolated from the real home (QStandardPaths test mode).

The platform must be chosen before Qt is imported, hence at the top of this conftest.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QStandardPaths

QStandardPaths.setTestModeEnabled(True)
