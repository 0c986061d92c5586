"""The scaling lab's benchmark, run on a worker thread; its rows come back as Qt signals.

``core.bench.bench_rows`` times one (N, backend) after another and asks ``should_stop``
before every timing, so Cancel takes effect within one timing. The rows reach the UI thread
through queued signals (emitted from the worker, received by objects of the UI thread), as
the computation's results do (qt/compute_worker.py). docs/architecture.md, "The scaling lab".
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Signal

from attnstudio.core.bench import bench_rows, contenders
from attnstudio.core.errors import AttnStudioError
from attnstudio.core.scaling import check_sizes

Rows = Callable[..., Iterator[dict[str, Any]]]


class _Signals(QObject):
    planned = Signal(int, list)  # the run, the backends it will time
    row = Signal(int, dict)  # the run, one row of bench_rows
    ended = Signal(int, str)  # the run, why it ended early ("" when complete)


class BenchWorker(QObject):
    """Runs one benchmark at a time. ``planned``, ``row`` and ``finished`` arrive on the UI
    thread. After ``cancel()`` no row comes; the run ends (``finished("cancelled")``) when the
    timing under way is done, and only then may another start, so two runs never share the
    processor."""

    planned = Signal(list)
    row = Signal(dict)
    finished = Signal(str)  # "" complete, "cancelled", or the message of what went wrong

    def __init__(self, parent: QObject | None = None, rows: Rows = bench_rows) -> None:
        super().__init__(parent)
        self._rows = rows
        self._signals = _Signals(self)
        self._signals.planned.connect(self._on_planned)
        self._signals.row.connect(self._on_row)
        self._signals.ended.connect(self._on_ended)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._run = 0  # counts runs: a signal of an older run is dropped

    @property
    def running(self) -> bool:
        """A run's thread has not reported its end yet (cancelled or not)."""
        return self._thread is not None

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def start(self, sizes: list[int], d_k: int, repeat: int) -> bool:
        """Start timing ``sizes``; False (and nothing starts) while a run is going."""
        if self._thread is not None:
            return False
        self._run += 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, args=(self._run, self._stop, sizes, d_k, repeat),
                                        name="attnstudio-scaling-lab", daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Stop before the next timing; from now on no row of this run is delivered."""
        self._stop.set()

    def wait(self, secs: float | None = None) -> bool:
        """Block until the worker thread has ended (True) or ``secs`` passed (False); its end
        still reaches ``finished`` through the event loop."""
        thread = self._thread
        if thread is not None:
            thread.join(secs)
            return not thread.is_alive()
        return True

    def _work(self, run: int, stop: threading.Event, sizes: list[int], d_k: int, repeat: int) -> None:
        message = ""
        try:
            check_sizes(sizes, d_k)  # in the lab's words, before the first timing
            # Every contender bench_rows will time, PyTorch's peers included, so that the
            # progress counts them all from the start. The first look may import CuPy (~1 s).
            found, _ = contenders()
            self._emit(self._signals.planned, run, [c.name for c in found])
            for row in self._rows(sizes, d_k=d_k, repeat=repeat, should_stop=stop.is_set, found=found):
                if stop.is_set():
                    break
                self._emit(self._signals.row, run, row)
        except AttnStudioError as exc:
            message = str(exc)
        except Exception as exc:  # a benchmark must never take the window down
            traceback.print_exc()
            message = f"the benchmark failed: {type(exc).__name__}: {exc}"
        self._emit(self._signals.ended, run, message)

    @staticmethod
    def _emit(signal: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the window closed while this ran
            signal.emit(*args)

    def _on_planned(self, run: int, backends: list) -> None:
        if run == self._run and not self.cancelled:
            self.planned.emit(backends)

    def _on_row(self, run: int, row: dict) -> None:
        if run == self._run and not self.cancelled:
            self.row.emit(row)

    def _on_ended(self, run: int, message: str) -> None:
        if run != self._run:
            return
        self._thread = None
        self.finished.emit("cancelled" if self.cancelled and not message else message)
