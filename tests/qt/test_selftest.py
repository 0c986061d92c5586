"""``attnstudio --self-test``: passes on a healthy app, and fails loudly on each kind of fault."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import qWarning
from PySide6.QtWidgets import QApplication

from attnstudio.core.lessons import builtin_lessons
from attnstudio.core.trace import STAGE_KEYS
from attnstudio.qt import selftest
from attnstudio.qt.app import EXIT_AFTER_PAINT
from attnstudio.qt.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"^self-test ok: (\d+) lessons, (\d+) steps, (\d+) stages, backend CPU · NumPy [\d.]+, [\d.]+ s \(slowest step: ",
    re.MULTILINE,
)


@pytest.mark.slow
def test_self_test_passes_in_a_fresh_interpreter(qtbot, tmp_path):
    """The real thing, as CI runs it on the bundle (qtbot only keeps the house rule: nothing runs here)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "attnstudio", "--self-test"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""  # not even a harmless-looking line: the bundle check fails on those
    match = SUMMARY.search(proc.stdout)
    assert match, proc.stdout
    lessons = builtin_lessons()
    assert int(match[1]) == len(lessons)
    assert int(match[2]) == sum(len(lesson.steps) for lesson in lessons)
    assert int(match[3]) == len(STAGE_KEYS)


@pytest.fixture
def one_short_lesson(monkeypatch):
    """Only the first two steps of the first lesson: the failure tests need the loop, not its length."""
    import attnstudio.core.lessons as lessons_module

    first = builtin_lessons()[0]
    short = type(first)(first.id, first.title, first.summary, first.steps[:2], first.source)
    monkeypatch.setattr(lessons_module, "builtin_lessons", lambda: [short])
    return short


def test_a_short_run_passes_in_process(qtbot, one_short_lesson, capsys):
    assert selftest.run_self_test() == 0
    out, err = capsys.readouterr()
    assert out.startswith("self-test ok: 1 lessons, 2 steps, 9 stages"), out
    assert err == ""


def test_an_exception_in_a_step_fails_it(qtbot, one_short_lesson, monkeypatch, capsys):
    def broken(self, key):
        raise RuntimeError("go_to_stage is broken on purpose")

    monkeypatch.setattr(MainWindow, "go_to_stage", broken)
    assert selftest.run_self_test() == 1
    err = capsys.readouterr().err
    assert "self-test FAILED" in err and "go_to_stage is broken on purpose" in err


def test_an_exception_inside_a_slot_fails_it(qtbot, one_short_lesson, monkeypatch, capsys):
    """Qt swallows exceptions raised in slots (it prints them via sys.excepthook): still a failure."""
    original = MainWindow._on_result
    calls = []

    def broken(self, res):
        calls.append(res)
        if len(calls) == 2:
            raise ValueError("a slot failed on purpose")
        original(self, res)

    monkeypatch.setattr(MainWindow, "_on_result", broken)
    # A signal delivers to the function connected at construction: patch before the window exists.
    assert selftest.run_self_test() == 1
    err = capsys.readouterr().err
    assert "exception reported by Qt" in err and "a slot failed on purpose" in err


def test_a_qt_warning_fails_it_and_an_allowed_one_does_not(qtbot, one_short_lesson, monkeypatch, capsys):
    original = MainWindow.go_to_stage

    def warns(self, key):
        qWarning("This plugin does not support propagateSizeHints()")  # allowed: offscreen has no WM
        if key == "weights":
            qWarning("QPainter::begin: Paint device returned engine == 0, type: 2")
        original(self, key)

    monkeypatch.setattr(MainWindow, "go_to_stage", warns)
    assert selftest.run_self_test() == 1
    err = capsys.readouterr().err
    # one problem per visit of the weights stage (the lesson steps and the export both go there),
    # every one of them the QPainter warning, never the allowed one
    problems = re.findall(r"^Qt warning: (.*)$", err, flags=re.M)
    assert problems and set(problems) == {"QPainter::begin: Paint device returned engine == 0, type: 2"}
    assert f"{len(problems)} problem(s)" in err
    assert "propagateSizeHints" not in err


def test_text_on_stderr_fails_it(qtbot, one_short_lesson, monkeypatch, capsys):
    """What the app prints and swallows (compute_worker prints a traceback, then shows an error)."""
    original = MainWindow.go_to_stage

    def noisy(self, key):
        if key == "output":
            print("Traceback (most recent call last): swallowed on purpose", file=sys.stderr)
        original(self, key)

    monkeypatch.setattr(MainWindow, "go_to_stage", noisy)
    assert selftest.run_self_test() == 1
    assert "text written to stderr:\nTraceback (most recent call last): swallowed on purpose" in capsys.readouterr().err


def test_a_window_that_shows_other_numbers_fails_it(qtbot, one_short_lesson, monkeypatch, capsys):
    """The check compares the window's trace with the step's own computation."""
    import attnstudio.qt.selftest as st

    def show_another(app, window, lesson, k, where) -> None:
        window.studio.apply(sentence="a different one")
        st._settle(app, window, where)

    monkeypatch.setattr(st, "_show_step", show_another)
    assert selftest.run_self_test() == 1
    assert "the window shows tokens" in capsys.readouterr().err


def test_the_hooks_are_restored_afterwards(qtbot, one_short_lesson):
    hooks = (sys.excepthook, sys.unraisablehook, sys.stderr)
    app = QApplication.instance()
    assert selftest.run_self_test() == 0
    assert (sys.excepthook, sys.unraisablehook, sys.stderr) == hooks
    assert QApplication.instance() is app  # the test's application is reused, not replaced


def test_first_paint_mode_prints_the_time_and_exits_0(qtbot, monkeypatch, capsys):
    monkeypatch.setenv(EXIT_AFTER_PAINT, "1")
    assert selftest.run_self_test() == 0
    out = capsys.readouterr().out
    assert re.fullmatch(r"first paint: \d+\.\d\d s after (process start|app import)\n", out), out


def test_first_paint_mode_still_fails_on_a_qt_warning(qtbot, monkeypatch, capsys):
    import attnstudio.qt.app as app_module

    original = app_module.create_window

    def warns(**kwargs):
        qWarning("QWidget::setLayout: Attempting to set QLayout on a widget that already has a layout")
        return original(**kwargs)

    monkeypatch.setattr(app_module, "create_window", warns)
    monkeypatch.setenv(EXIT_AFTER_PAINT, "1")
    assert selftest.run_self_test() == 1
    assert "Qt warning: QWidget::setLayout" in capsys.readouterr().err
