"""When something goes wrong: the work is written aside first, then a report with a log; the
app goes on. And what the app remembers between runs (QSettings), tolerant of bad values."""

from __future__ import annotations

import faulthandler
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QMessageBox
from studio_helpers import settle

from attnstudio.core import backends
from attnstudio.qt import preferences
from attnstudio.qt.crash import CrashHandler
from attnstudio.studio import workspace


@pytest.fixture
def handler(window, tmp_path: Path):
    window.recovery.folder = tmp_path / "recovery"
    h = CrashHandler(tmp_path / "log" / "attnstudio.log", save_work=lambda: window.recovery.write_now(wait=True),
                     parent=lambda: window, notify=window.show_message).install()
    yield h
    h.uninstall()
    if h.dialog is not None:
        h.dialog.close()


def boom() -> None:
    raise ZeroDivisionError("a bug in a slot")


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_slot_saves_the_work_logs_a_report_and_the_app_goes_on(window, qtbot, handler):
    window.studio.set_sentence("work at risk")
    QTimer.singleShot(0, boom)  # raised inside the event loop, as a bug in a slot would be
    qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible(), timeout=5000)

    assert workspace.load(window.recovery.path).sentence == "work at risk"  # written before the report
    log = handler.log_path.read_text(encoding="utf-8")
    assert "ZeroDivisionError: a bug in a slot" in log and "Unsaved work: written" in log
    assert "Traceback (most recent call last)" in log
    box = handler.dialog
    assert not box.isModal() or box.windowModality().name == "WindowModal"
    assert "ZeroDivisionError" in box.text() and str(handler.log_path) in box.informativeText()
    assert "Traceback" in box.detailedText()
    assert "Report:" in window.statusBar().currentMessage()

    QTimer.singleShot(0, boom)  # a second error while the dialog is open: logged, no second dialog
    qtbot.waitUntil(lambda: len(handler.reports) == 2, timeout=5000)
    assert len([w for w in window.findChildren(QMessageBox) if w.isVisible()]) == 1

    window.studio.set_sentence("the app goes on")  # the window still computes and shows
    assert list(settle(qtbot, window).tokens) == ["the", "app", "goes", "on"]


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_worker_thread_is_logged_not_shown_from_that_thread(window, handler):
    thread = threading.Thread(target=boom, name="a-worker")
    thread.start()
    thread.join()
    assert "an unexpected error in a-worker" in handler.log_path.read_text(encoding="utf-8")
    assert handler.dialog is None


def test_faulthandler_writes_to_the_log(handler):
    assert faulthandler.is_enabled()
    text = handler.log_path.read_text(encoding="utf-8")
    assert "a hard crash's traceback would follow" in text


def test_a_hard_crash_leaves_its_traceback_in_the_log(tmp_path: Path):
    log = tmp_path / "attnstudio.log"
    code = ("import ctypes\nfrom attnstudio.qt.crash import CrashHandler\nfrom pathlib import Path\n"
            f"CrashHandler(Path({str(log)!r})).install()\nctypes.string_at(0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    text = log.read_text(encoding="utf-8")
    assert "Fatal Python error: Segmentation fault" in text and "string_at" in text


# ---- a GPU that fails while the app runs ---------------------------------------------------------
class FailingGpu:
    """Looks like a working CuPy until the first real computation, which fails."""

    __version__ = "13.4.1"

    def __init__(self) -> None:
        import types

        import numpy as np

        self._np = np
        self.cuda = types.SimpleNamespace(Device=lambda: types.SimpleNamespace(id=0),
                                          runtime=types.SimpleNamespace(getDeviceProperties=lambda i: {"name": b"G"}))

    def is_available(self) -> bool:
        return True

    def asnumpy(self, a):
        return self._np.asarray(a)

    def asarray(self, a, dtype=None):
        if getattr(a, "size", 0) > 4:  # the first test sum passes; a real matrix does not
            raise RuntimeError("cudaErrorLaunchFailure: unspecified launch failure")
        return self._np.asarray(a, dtype=dtype)

    def __getattr__(self, name):
        return getattr(self._np, name)


def test_a_gpu_failure_switches_to_numpy_with_one_notice_and_loses_nothing(window, qtbot, monkeypatch):
    monkeypatch.setattr(backends, "_import_cupy", FailingGpu)
    backends.cupy_status.cache_clear()
    try:
        window.studio.set_weight_cell(0, 0, "w_q", 0, 0, 0.5)
        window.controls.backend.setCurrentText("cupy")
        tr = settle(qtbot, window)
        assert tr.backend.name == "numpy" and "unspecified launch failure" in (tr.backend.reason or "")
        notice = window.statusBar().currentMessage()
        assert "The GPU failed" in notice and "Your work is kept" in notice
        assert window.studio.weights.layers[0].heads[0].w_q[0, 0] == 0.5 and window.studio.settings.backend == "cupy"
        window.statusBar().clearMessage()
        window.studio.set_sentence("the next edit")  # computed on NumPy at once, told no second time
        tr = settle(qtbot, window)
        assert tr.backend.name == "numpy" and tr.backend.reason.startswith(backends.GPU_FAILED_EARLIER)
        assert window.statusBar().currentMessage() == ""
    finally:
        backends.cupy_status.cache_clear()


# ---- preferences ---------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)


def test_display_options_backend_and_geometry_come_back(window, qtbot, store):
    window.studio.apply(theme="light", zoom=1.5, weights_scale="row")
    window.studio.set_setting(backend="auto")
    window.resize(760, 560)
    size = (window.width(), window.height())  # at least the window's minimum
    preferences.remember(window, window.studio, store)

    model = preferences.starting_model(store)
    assert (model.theme, model.zoom, model.weights_scale, model.settings.backend) == ("light", 1.5, "row", "auto")
    from studio_helpers import make_window

    other = make_window(qtbot, size=(640, 480))
    assert preferences.restore_geometry(other, store)
    assert (other.width(), other.height()) == size != (640, 480)


def test_a_lesson_theme_is_not_taken_for_the_users_choice(window, qtbot, store):
    window.studio.apply(theme="dark", zoom=1.0)
    window.lesson_player.open_lesson("it-cat")
    window.studio.apply(theme="light", zoom=2.0)  # while the lesson is open
    preferences.remember(window, window.studio, store)
    model = preferences.starting_model(store)
    assert (model.theme, model.zoom) == ("dark", 1.0)


@pytest.mark.parametrize("key, value", [
    (preferences.THEME, "purple"), (preferences.ZOOM, "huge"), (preferences.ZOOM, 99.0),
    (preferences.WEIGHTS_SCALE, 3), (preferences.BACKEND, "tpu"), (preferences.GEOMETRY, "not bytes"),
])
def test_bad_stored_values_are_ignored(window, store, key, value):
    store.setValue(key, value)
    model = preferences.starting_model(store)
    assert (model.theme, model.zoom, model.weights_scale, model.settings.backend) == ("dark", 1.0, "max", "numpy")
    if key == preferences.GEOMETRY:
        assert not preferences.restore_geometry(window, store)
