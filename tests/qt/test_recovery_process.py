"""A real app process, killed with SIGKILL after edits, gives them back at the next launch.

Each process runs the app's own start-up (``run_app``: preferences, the crash handler, the
offer to restore), offscreen, with the user folders of this test session (conftest) and a
0.2 s autosave interval. A small driver, installed around ``create_window``, makes the
edits or answers the question as a user would, and prints what it sees as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")

DRIVER = r"""
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from attnstudio.qt import app as qtapp

mode = sys.argv[1]
made = qtapp.create_window
seen = {"dialogs": []}

def answer():
    box = QApplication.activeModalWidget()
    if box is not None:
        seen["dialogs"].append(box.text())
        [b for b in box.buttons() if b.text() == "Restore"][0].click()
    QTimer.singleShot(50, answer)

def edit(w):
    w.studio.set_sentence("a lecture prepared at home")
    w.studio.set_weight_cell(0, 0, "w_q", 1, 2, 0.375)
    def written():
        if w.recovery.writes >= 1:
            print(json.dumps({"path": str(w.recovery.path)}), flush=True)  # now kill me
        else:
            QTimer.singleShot(20, written)
    written()

def report(w):
    cell = float(w.studio.weights.layers[0].heads[0].w_q[1, 2])
    print(json.dumps({"sentence": w.studio.sentence, "cell": cell, "title": w.windowTitle(),
                      "modified": w.document.modified, "dialogs": seen["dialogs"],
                      "focus": QApplication.focusWidget() is w.sentence.field}), flush=True)
    w.document.interactive = False
    w.close()
    QApplication.quit()

def create(*args, **kwargs):
    w = made(*args, **kwargs)
    if mode == "edit":
        QTimer.singleShot(0, lambda: edit(w))
    else:
        QTimer.singleShot(0, answer)
        QTimer.singleShot(1500, lambda: report(w))
    return w

qtapp.create_window = create
sys.exit(qtapp.run_app([]))
"""


def start(mode: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DRIVER, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def last_json(proc: subprocess.Popen, timeout: float = 60) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def recover_list(env: dict[str, str]) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "attnstudio", "recover", "--list"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_killed_after_edits_then_relaunched_restores_them(tmp_path: Path) -> None:
    env = {**os.environ, "ATTNSTUDIO_AUTOSAVE_S": "0.2", "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "QT_QPA_PLATFORM": "offscreen"}
    first = start("edit", env)
    try:
        assert first.stdout is not None
        line = first.stdout.readline()
        assert line, first.stderr.read() if first.stderr else ""
        path = Path(json.loads(line)["path"])
        assert path.is_file() and path.parent == tmp_path / "data" / "attnstudio" / "attnstudio" / "recovery"

        # A second app while the first runs: offered nothing, and leaves the first's file alone.
        listing = recover_list(env)
        assert len(listing) == 1 and listing[0].startswith(str(path)) and "in use" in listing[0]
        second = last_json(start("answer", env))
        assert second["dialogs"] == [] and second["sentence"] != "a lecture prepared at home"
        assert second["focus"], "the sentence field has the keyboard when the window opens"
        assert path.is_file()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    listing = recover_list(env)
    assert len(listing) == 1 and '"a lecture prepared at home"' in listing[0] and "in use" not in listing[0]

    third = last_json(start("answer", env))
    assert len(third["dialogs"]) == 1 and "a lecture prepared at home" in third["dialogs"][0]
    assert third["sentence"] == "a lecture prepared at home" and third["cell"] == 0.375
    assert third["modified"] and third["title"].startswith("untitled •")
    # Restored, then closed cleanly: no recovery file is left, and the next launch asks nothing.
    assert recover_list(env) == []
    assert last_json(start("answer", env))["dialogs"] == []
