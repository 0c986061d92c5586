"""Runs the core's computation for the studio: at once for small inputs, off the UI thread
for large ones, and never lets a stale result overwrite a newer one.

Each request carries the state's generation. Small inputs (N ≤ ``sync_max_tokens`` and at
most ``SYNC_MAX_WORK`` multiply-adds, ``core.cost``) are computed synchronously: instant,
and no flicker. Larger ones (many tokens, or a large model) go to one worker thread; at
most one computation runs and at most one waits (the newest), so a person typing into a
10,000-token sentence never queues up gigabytes of work. A result whose generation is
older than the newest request is dropped. NumPy releases the GIL in its heavy loops, so the
UI thread keeps painting while the worker computes.

On the worker, a Result goes out (``result``) as soon as the stage on view is reduced for
display; the thread then reduces what the thumbnails and other views draw and says so
(``filled``), unless a newer request already waits. A request that would first import CuPy
and try the GPU is never computed on the UI thread, and a window holds it until its first
paint (``hold_gpu_until_painted``). See docs/architecture.md, "The path of one edit".
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from attnstudio.core.backends import AUTO_MIN_TOKENS, cupy_status
from attnstudio.core.cost import multiply_adds
from attnstudio.studio.inputs import Inputs
from attnstudio.studio.result import Result, compute_result

# A window that holds its first GPU computation until it has painted waits at most this long.
GPU_HOLD_MS = 3000
# (layer, head, stage) on view; stage "" when any may be.
View = tuple[int, int, str]

SYNC_MAX_TOKENS = 128
# A few milliseconds at most: the UI thread computes only what never delays a frame. The
# default model at N = 128 (0.2 million) takes ~1 ms; each head's fixed cost is far above
# core.cost's estimate, so 4.4 million (d_model 64, 4 heads, N = 128) took 33 ms and 8.8
# million (16 heads × 8 layers, N = 16) 90 ms on a busy 2-core machine, where the earlier
# bound of 20 million let the UI thread stall for up to a second.
SYNC_MAX_WORK = 1_000_000


def gpu_unknown(backend: str, n: int) -> bool:
    """Whether computing on ``backend`` would first import CuPy and try the GPU (0.7–1.1 s to
    import, more to compile the first kernels): only a worker thread may wait for that, never
    the UI thread (and never before the window's first paint)."""
    if backend == "numpy" or (backend == "auto" and n < AUTO_MIN_TOKENS):
        return False
    return cupy_status.cache_info().currsize == 0  # asked once per process, then remembered


class _Signals(QObject):
    first = Signal(object)  # the Result, with what the stage on view draws reduced for display
    done = Signal(object)  # the same Result at the thread's end, the rest reduced too (if wanted)


def _work(inputs: Inputs, view: View, signals: _Signals, wanted: Callable[[], bool]) -> None:
    """Compute, reduce for display what the stage on view draws and hand the Result over; then
    reduce what the thumbnails, the overview and the other heads' views draw, unless a newer
    request already waits (``wanted`` False): its Result replaces this one."""
    layer, head, stage = view
    res = compute_result(inputs, prefill=(layer, head), stage=stage)
    # Queued to the UI thread; RuntimeError: the window closed while this ran, nobody waits.
    with contextlib.suppress(RuntimeError):
        signals.first.emit(res)
    if res.display is not None and wanted():
        res.display.prefill(layer, head)
    with contextlib.suppress(RuntimeError):
        signals.done.emit(res)


class ComputeController(QObject):
    """Turns ``Inputs`` into ``Result``s; ``result`` fires only for the newest request, and
    ``filled`` after it once everything else the window shows of it is reduced for display
    (at once for a computation on the UI thread)."""

    result = Signal(object)
    filled = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, sync_max_tokens: int = SYNC_MAX_TOKENS, parent: QObject | None = None,
                 sync_max_work: int = SYNC_MAX_WORK) -> None:
        super().__init__(parent)
        self.sync_max_tokens = sync_max_tokens
        self.sync_max_work = sync_max_work
        self._signals = _Signals(self)
        self._signals.first.connect(self._on_first)
        self._signals.done.connect(self._on_done)
        self._latest = -1
        self._running: threading.Thread | None = None
        self._pending: tuple[Inputs, View] | None = None
        self._gpu_held = False  # hold_gpu: a request that would first try the GPU waits in _pending
        self.dropped = 0  # stale results thrown away (for tests and the curious)

    @property
    def busy(self) -> bool:
        """A computation runs, or one waits (for the one running, or for ``release_gpu``)."""
        return self._running is not None or self._pending is not None

    def hold_gpu(self) -> None:
        """Until ``release_gpu``, a request that would first import CuPy and try the GPU waits
        (the window holds it until its first paint: the import would compete with building and
        painting it for Python's lock)."""
        self._gpu_held = True

    def release_gpu(self) -> None:
        """Start the request held by ``hold_gpu``, if one waits (on the worker thread)."""
        self._gpu_held = False
        if self._running is None and self._pending is not None:
            (inputs, view), self._pending = self._pending, None
            self._start(inputs, view, announce=False)

    def _held(self, inputs: Inputs) -> bool:
        return self._gpu_held and gpu_unknown(inputs.settings.backend, inputs.n)

    def request(self, inputs: Inputs, view: tuple[int, int] | View = (0, 0, "")) -> None:
        """Compute ``inputs``; ``view`` = (layer, head, stage) on view: that stage's matrices are
        reduced for display first, the Result goes out, then the rest (stage "": all at once)."""
        self._latest = inputs.generation
        full: View = (*view, "")[:3]  # type: ignore[assignment]
        if self.at_once(inputs):
            # Instant; a computation still running for older input will be dropped on arrival.
            was_held = self._running is None and self._pending is not None
            self._pending = None
            res = compute_result(inputs)
            self.result.emit(res)
            if res.generation == self._latest:  # a slot of ``result`` may have asked for newer
                self.filled.emit(res)
            if was_held and not self.busy:
                self.busy_changed.emit(False)
            return
        if self._running is not None:
            self._pending = (inputs, full)
            return
        if self._held(inputs):
            announce = self._pending is None
            self._pending = (inputs, full)
            if announce:
                self.busy_changed.emit(True)
            return
        self._start(inputs, full)

    def at_once(self, inputs: Inputs) -> bool:
        """Whether ``inputs`` are small enough to compute on the calling (UI) thread (a real
        model's forward pass never is: 15–200 ms for 12 tokens, seconds for 256)."""
        if inputs.model is not None or gpu_unknown(inputs.settings.backend, inputs.n):
            return False
        return inputs.n <= self.sync_max_tokens and multiply_adds(inputs.n, inputs.settings) <= self.sync_max_work

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker thread has finished (its result is still delivered through the
        event loop); True when it is idle."""
        thread = self._running
        if thread is not None:
            thread.join(None if msecs < 0 else msecs / 1000.0)
            return not thread.is_alive()
        return True

    def _start(self, inputs: Inputs, view: View, announce: bool = True) -> None:
        # A daemon thread rather than a QThreadPool: closing the app mid-computation must not
        # wait for it (10,000 tokens take ~20 s); a pool's destructor would.
        self._running = threading.Thread(target=_work, args=(inputs, view, self._signals, self._wanted),
                                         name="attnstudio-compute", daemon=True)
        self._running.start()
        if announce:
            self.busy_changed.emit(True)

    def _wanted(self) -> bool:
        """(Asked on the worker thread.) Whether the running computation is still the newest."""
        return self._pending is None

    def _on_first(self, res: Result) -> None:
        if res.generation == self._latest:
            self.result.emit(res)
        else:
            self.dropped += 1

    def _on_done(self, res: Result) -> None:
        self._running = None
        if res.generation == self._latest:
            self.filled.emit(res)
        if self._pending is not None and not self._held(self._pending[0]):
            (nxt, view), self._pending = self._pending, None
            self._start(nxt, view, announce=False)
            return
        if self._pending is not None:
            return  # it waits for release_gpu, still busy
        self.busy_changed.emit(False)


class _ReleaseAfterPaint(QObject):
    """Releases the controllers' GPU hold once the widget it filters has painted (or after
    ``GPU_HOLD_MS``, for a window that is never shown)."""

    def __init__(self, widget: QWidget, controllers: tuple[ComputeController, ...]) -> None:
        super().__init__(widget)
        self._controllers = controllers
        widget.installEventFilter(self)
        QTimer.singleShot(GPU_HOLD_MS, self, self._release)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self, self._release)  # after the whole paint pass and its flush
        return False

    def _release(self) -> None:
        for c in self._controllers:
            c.release_gpu()


def hold_gpu_until_painted(widget: QWidget, *controllers: ComputeController) -> None:
    """Hold the controllers' first GPU computation (``hold_gpu``) until ``widget`` first
    paints: CuPy's import and first kernels then run on the worker while the window is up."""
    for c in controllers:
        c.hold_gpu()
    _ReleaseAfterPaint(widget, controllers)
