"""Runs the core's computation for the studio: at once for small inputs, off the UI thread
for large ones, and never lets a stale result overwrite a newer one.

Each request carries the state's generation. Small inputs (N ≤ ``sync_max_tokens`` and at
most ``SYNC_MAX_WORK`` multiply-adds, ``core.cost``) are computed synchronously: instant,
and no flicker. Larger ones (many tokens, or a large model) go to one worker thread; at
most one computation runs and at most one waits (the newest), so a person typing into a
10,000-token sentence never queues up gigabytes of work. A result whose generation is
older than the newest request is dropped. NumPy releases the GIL in its heavy loops, so the
UI thread keeps painting while the worker computes.
"""

from __future__ import annotations

import contextlib
import threading

from PySide6.QtCore import QObject, Signal

from attnstudio.core.cost import multiply_adds
from attnstudio.studio.inputs import Inputs
from attnstudio.studio.result import Result, compute_result

SYNC_MAX_TOKENS = 128
# About 10 ms of arithmetic: beyond it the UI thread would visibly stall (d_model 1024,
# 64 heads and 8 layers take ~0.5 s for 11 tokens).
SYNC_MAX_WORK = 20_000_000


class _Signals(QObject):
    done = Signal(object)


def _work(inputs: Inputs, view: tuple[int, int], signals: _Signals) -> None:
    res = compute_result(inputs, prefill=view)
    # Queued to the UI thread; RuntimeError: the window closed while this ran, nobody waits.
    with contextlib.suppress(RuntimeError):
        signals.done.emit(res)


class ComputeController(QObject):
    """Turns ``Inputs`` into ``Result``s; ``result`` fires only for the newest request."""

    result = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, sync_max_tokens: int = SYNC_MAX_TOKENS, parent: QObject | None = None,
                 sync_max_work: int = SYNC_MAX_WORK) -> None:
        super().__init__(parent)
        self.sync_max_tokens = sync_max_tokens
        self.sync_max_work = sync_max_work
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)
        self._latest = -1
        self._running: threading.Thread | None = None
        self._pending: tuple[Inputs, tuple[int, int]] | None = None
        self.dropped = 0  # stale results thrown away (for tests and the curious)

    @property
    def busy(self) -> bool:
        return self._running is not None

    def request(self, inputs: Inputs, view: tuple[int, int] = (0, 0)) -> None:
        """Compute ``inputs``; ``view`` = (layer, head) on view, whose matrices are prepared first."""
        self._latest = inputs.generation
        if self.at_once(inputs):
            # Instant; a computation still running for older input will be dropped on arrival.
            self._pending = None
            self.result.emit(compute_result(inputs))
            return
        if self._running is not None:
            self._pending = (inputs, view)
            return
        self._start(inputs, view)

    def at_once(self, inputs: Inputs) -> bool:
        """Whether ``inputs`` are small enough to compute on the calling (UI) thread (a real
        model's forward pass never is: 15–200 ms for 12 tokens, seconds for 256)."""
        if inputs.model is not None:
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

    def _start(self, inputs: Inputs, view: tuple[int, int], announce: bool = True) -> None:
        # A daemon thread rather than a QThreadPool: closing the app mid-computation must not
        # wait for it (10,000 tokens take ~20 s); a pool's destructor would.
        self._running = threading.Thread(target=_work, args=(inputs, view, self._signals),
                                         name="attnstudio-compute", daemon=True)
        self._running.start()
        if announce:
            self.busy_changed.emit(True)

    def _on_done(self, res: Result) -> None:
        self._running = None
        if res.generation == self._latest:
            self.result.emit(res)
        else:
            self.dropped += 1
        if self._pending is not None:
            (nxt, view), self._pending = self._pending, None
            self._start(nxt, view, announce=False)
            return
        self.busy_changed.emit(False)
