"""The core knows no screen: importing it loads no Qt, and the core tests need none."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QT = ("PySide6", "shiboken6", "pyqtgraph")

_CHILD = (
    "import sys, attnstudio.core, attnstudio.core.pipeline; "
    "from attnstudio.core import compute; compute('a b'); "
    f"bad = sorted(m for m in sys.modules if m.startswith({QT!r})); "
    "assert not bad, bad"
)


def test_importing_and_running_the_core_loads_no_qt() -> None:
    # A fresh interpreter: this test process may already have Qt loaded by other tests.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    result = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr


# The import contracts (no Qt in core or studio, the layers) run in tests/test_architecture.py.


def test_core_tests_import_no_qt_and_use_no_qtbot() -> None:
    # tests/core must run where only NumPy (and maybe CuPy) is installed.
    for path in sorted(Path(__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = [a.arg for a in node.args.args + node.args.kwonlyargs]
                assert "qtbot" not in args, f"{path.name}: {node.name} requests qtbot"
                continue
            else:
                continue
            for name in names:
                assert not name.startswith((*QT, "attnstudio.qt", "pytestqt")), f"{path.name} imports {name}"
