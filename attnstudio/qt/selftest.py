"""``attnstudio --self-test``: the whole app, offscreen, in seconds; exit 0 only if all is well.

It opens the main window, steps every built-in lesson through every step (checking that
the window shows the numbers the core computes for that step), renders every stage, and
exports one PNG. CI runs it on the packaged executable, where it proves the bundle holds
every module, Qt plugin and data file the app needs.

Anything wrong makes it print what and exit 1: an exception (raised here, or raised in a
slot or paint method, which Qt reports through ``sys.excepthook``; in a thread; in a
``__del__``), a Qt warning that is not in ``ALLOWED_QT_MESSAGES``, any text written to
``sys.stderr`` (a traceback the app printed and swallowed, a Python warning), or a check
that fails.

With ``ATTNSTUDIO_EXIT_AFTER_PAINT=1`` it only opens the main window and prints the time
from process start to the window's first paint (the cold-start figure of the bundle).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Qt messages known to be harmless, each with why. Everything else a warning-level
# message says is a failure: the list stays short on purpose.
ALLOWED_QT_MESSAGES: tuple[tuple[str, str], ...] = (
    (r"^This plugin does not support propagateSizeHints\(\)",
     "offscreen platform: there is no window manager to pass a dock's size hints to"),
    (r"^QStandardPaths: XDG_RUNTIME_DIR not set",
     "CI and containers have no login session; Qt uses a private folder under /tmp instead"),
    (r"^QStandardPaths: wrong permissions on runtime directory",
     "same: a shared container's runtime folder; Qt falls back to a private one"),
)

SETTLE_TIMEOUT_S = 60.0  # the largest built-in lesson computes in well under a second


class SelfTestError(Exception):
    """A check of the self-test failed (the message says which and why)."""


class _Watch:
    """Collects every problem reported while installed: Qt messages, hooks, stderr text."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.ignored: list[str] = []
        self._stderr_text = ""

    def fail(self, text: str) -> None:
        self.problems.append(text.rstrip())

    # ---- the handlers ----
    def qt_message(self, mode: Any, context: Any, message: str) -> None:
        from PySide6.QtCore import QtMsgType

        if mode in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg):
            return
        if any(re.search(pattern, message) for pattern, _ in ALLOWED_QT_MESSAGES):
            self.ignored.append(message)
            return
        kind = {QtMsgType.QtWarningMsg: "warning", QtMsgType.QtCriticalMsg: "critical",
                QtMsgType.QtFatalMsg: "fatal"}.get(mode, str(mode))
        where = f" ({context.file}:{context.line})" if getattr(context, "file", None) else ""
        self.fail(f"Qt {kind}: {message}{where}")
        if mode == QtMsgType.QtFatalMsg:  # Qt aborts the process when this handler returns
            self.report(sys.__stderr__)

    def report(self, stream: Any) -> None:
        print(f"self-test FAILED: {len(self.problems)} problem(s)", file=stream)
        for i, text in enumerate(self.problems, 1):
            print(f"--- problem {i}\n{text}", file=stream, flush=True)

    def excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        self.fail("exception reported by Qt:\n" + "".join(traceback.format_exception(exc_type, exc, tb)))

    def thread_hook(self, args: Any) -> None:
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        self.fail(f"exception in thread {getattr(args.thread, 'name', '?')}:\n{text}")

    def unraisable_hook(self, u: Any) -> None:
        text = "".join(traceback.format_exception(u.exc_type, u.exc_value, u.exc_traceback))
        self.fail(f"exception ignored in {u.object!r}:\n{text}")

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        from PySide6.QtCore import qInstallMessageHandler

        watch = self

        class _Stderr:
            """sys.stderr that still writes, and remembers what was written."""

            def __init__(self, inner: Any) -> None:
                self._inner = inner

            def write(self, text: str) -> int:
                watch._stderr_text += text
                return self._inner.write(text) if self._inner is not None else len(text)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._inner, name)

        saved = (sys.excepthook, threading.excepthook, sys.unraisablehook, sys.stderr)
        previous_handler = qInstallMessageHandler(self.qt_message)
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_hook
        sys.unraisablehook = self.unraisable_hook
        sys.stderr = _Stderr(sys.stderr)
        try:
            yield
        finally:
            sys.excepthook, threading.excepthook, sys.unraisablehook, sys.stderr = saved
            qInstallMessageHandler(previous_handler)
            if self._stderr_text.strip():
                self.fail("text written to stderr:\n" + self._stderr_text)


def _choose_platform() -> None:
    """Offscreen unless there is a display that answers (then the window really opens,
    briefly); a DISPLAY naming no running server would make Qt abort the process."""
    from attnstudio.qt.display_check import display_problem, use_offscreen_unless_chosen

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or display_problem() is not None:
        use_offscreen_unless_chosen()


def run_self_test() -> int:
    """Run every check; print one summary line and return 0, or print the problems and return 1."""
    started = time.perf_counter()
    _choose_platform()
    watch = _Watch()
    summary, slowest = "", ""
    from attnstudio.qt.app import EXIT_AFTER_PAINT  # after the platform is chosen: it imports Qt

    first_paint_only = os.environ.get(EXIT_AFTER_PAINT) == "1"
    with watch.installed():
        try:
            if first_paint_only:
                _time_first_paint()
            else:
                summary, slowest = _exercise()
        except Exception:
            watch.fail("self-test stopped by an exception:\n" + traceback.format_exc())
    if watch.problems:
        watch.report(sys.stderr)
        return 1
    if first_paint_only:
        return 0  # the time is printed already
    print(f"self-test ok: {summary}, {time.perf_counter() - started:.1f} s ({slowest})", flush=True)
    return 0


def _application() -> Any:
    from PySide6.QtCore import QStandardPaths

    # Never read or write the user's real settings from a test.
    QStandardPaths.setTestModeEnabled(True)
    from attnstudio.qt.app import application

    return application(["attnstudio", "--self-test"])


def _time_first_paint() -> None:
    from PySide6.QtCore import QTimer

    app = _application()
    from attnstudio.qt.app import create_window, exit_after_first_paint

    window = create_window(interactive=False)
    exit_after_first_paint(window)
    give_up = QTimer(window)  # never hang CI if no paint comes; stopped before it can hit a later loop
    give_up.setSingleShot(True)
    give_up.timeout.connect(lambda: app.exit(3))
    give_up.start(30_000)
    window.show()
    code = app.exec()
    give_up.stop()
    window.close()
    window.deleteLater()
    if code != 0:
        raise SelfTestError(f"the window did not paint within 30 s (exit code {code})")


def _exercise() -> tuple[str, str]:
    """Open the window, play every lesson, render every stage, export a PNG.

    Returns the summary and the slowest step, the one a lecturer would wait for longest
    (worth seeing in every CI log)."""
    import numpy as np

    from attnstudio.core.lessons import builtin_lessons, compute_step
    from attnstudio.core.trace import STAGE_KEYS
    from attnstudio.qt.app import create_window

    app = _application()
    _check_icon()
    lessons = builtin_lessons()
    if not lessons:
        raise SelfTestError("no built-in lessons were found (are the assets bundled?)")
    window = create_window(interactive=False)  # a lesson that fails must fail the test, not open a dialog
    try:
        window.show()
        _settle(app, window)
        steps = 0
        slowest = (0.0, "")
        for lesson in lessons:
            for k, step in enumerate(lesson.steps, 1):
                where = f"lesson {lesson.id!r}, step {k} ({step.title!r})"
                t0 = time.perf_counter()
                _show_step(app, window, lesson, k, where)
                slowest = max(slowest, (time.perf_counter() - t0, f"{lesson.id} step {k}"))
                _check_trace(window, compute_step(step), where, np)
                _check_painted(window, where)
                steps += 1
        for key in STAGE_KEYS:
            window.go_to_stage(key)
            _settle(app, window, f"stage {key!r}")
            if window.studio.stage != key:
                raise SelfTestError(f"go_to_stage({key!r}) left the window on {window.studio.stage!r}")
            _check_painted(window, f"stage {key!r}")
        _check_export(lessons[0].id)
        backend = window.trace.backend.label if window.trace is not None else "?"
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
    return (f"{len(lessons)} lessons, {steps} steps, {len(STAGE_KEYS)} stages, backend {backend}",
            f"slowest step: {slowest[1]}, {slowest[0]:.2f} s")


def _show_step(app: Any, window: Any, lesson: Any, k: int, where: str) -> None:
    """Put step k (1-based) on the window through its lesson player, as a lecturer would, and
    wait until it is shown (a step with large matrices arrives once they are seeded)."""
    player = window.lesson_player
    if k == 1:
        if not player.open_lesson(lesson):
            raise SelfTestError(f"lesson {lesson.id!r} did not open: {player.last_error}")
    else:
        player.next_step()
    _settle(app, window, where)
    if player.step_index != k - 1:
        raise SelfTestError(f"lesson {lesson.id!r}: the player is on step {player.step_index + 1}, not {k}")


def _settle(app: Any, window: Any, where: str = "start-up") -> None:
    """Deliver pending edits and wait until no computation runs (small inputs are instant)."""
    window.sentence.flush()
    window.studio_qt.flush()
    deadline = time.perf_counter() + SETTLE_TIMEOUT_S
    while True:
        app.processEvents()
        if window.idle:
            break
        if time.perf_counter() > deadline:
            raise SelfTestError(f"{where}: still computing after {SETTLE_TIMEOUT_S:.0f} s")
        time.sleep(0.002)
    app.processEvents()


def _check_trace(window: Any, expected: Any, where: str, np: Any) -> None:
    """The window shows the tokens and numbers the core computes for this step."""
    shown = window.trace
    if shown is None:
        raise SelfTestError(f"{where}: the window has no result")
    if tuple(shown.tokens) != tuple(expected.tokens):
        raise SelfTestError(
            f"{where}: the window shows tokens {shown.tokens[:6]}…, the step has {expected.tokens[:6]}…")
    got = shown.backend.asnumpy(shown.layers[-1].output)
    want = expected.backend.asnumpy(expected.layers[-1].output)
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-6, equal_nan=True):
        raise SelfTestError(f"{where}: the window's last-layer output differs from the step's computation")


def _check_painted(window: Any, where: str) -> None:
    """Render the window and insist that it drew something (not one flat colour)."""
    image = window.grab().toImage()
    if image.isNull() or image.width() < 100 or image.height() < 100:
        raise SelfTestError(f"{where}: grabbing the window gave an empty image")
    small = image.scaled(48, 27)
    colours = {small.pixel(x, y) for x in range(small.width()) for y in range(small.height())}
    if len(colours) < 8:
        raise SelfTestError(f"{where}: the window rendered almost blank ({len(colours)} colours)")


def _check_icon() -> None:
    """The app icon is bundled and readable (exercises the SVG icon engine plugin)."""
    from PySide6.QtGui import QIcon

    from attnstudio.resources import icon_path

    path = icon_path("attnstudio.svg")
    if not path.is_file():
        raise SelfTestError(f"the app icon {path} is missing")
    if QIcon(str(path)).pixmap(32, 32).isNull():
        raise SelfTestError("the app icon (SVG) cannot be drawn: is the qsvgicon plugin bundled?")


def _check_export(lesson_id: str) -> None:
    """One lesson exported as PNG slides, and the first read back at its size."""
    from PySide6.QtGui import QImage

    from attnstudio.qt.export import export_lesson

    with tempfile.TemporaryDirectory(prefix="attnstudio-selftest-") as tmp:
        # The export's own "wrote N slides" line is for the command line; the self-test
        # prints one summary line only.
        with contextlib.redirect_stdout(io.StringIO()):
            code = export_lesson(lesson_id, tmp, "png", (1280, 720))
        if code != 0:
            raise SelfTestError(f"export_lesson({lesson_id!r}) returned {code}")
        files = sorted(Path(tmp).rglob("*.png"))
        if not files:
            raise SelfTestError(f"the export wrote no PNG into {tmp}")
        image = QImage(str(files[0]))
        if image.isNull():
            raise SelfTestError(f"the exported {files[0].name} cannot be read back")
        if (image.width(), image.height()) != (1280, 720):
            raise SelfTestError(f"the exported {files[0].name} is {image.width()}×{image.height()}, not 1280×720")
