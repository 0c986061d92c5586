"""PyInstaller runtime hook: a stand-in for PySide6.QtOpenGL, which the bundle leaves out.

pyqtgraph imports PySide6.QtOpenGL when it is imported (Qt/OpenGLHelpers.py,
PlotCurveItem.py) but touches it only when OpenGL drawing is switched on
(useOpenGL / enableExperimental), which attnstudio never does. The real bindings cost
8.9 MB. Any use of the stand-in raises ImportError naming the reason, so a future change
that does draw with OpenGL fails loudly in the bundle's self-test instead of silently.
"""

import sys
import types


class _NotBundled(types.ModuleType):
    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ImportError(f"PySide6.QtOpenGL.{name}: OpenGL drawing is not part of the attnstudio bundle")


sys.modules.setdefault("PySide6.QtOpenGL", _NotBundled("PySide6.QtOpenGL"))
