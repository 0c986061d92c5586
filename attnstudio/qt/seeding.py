"""Changes that need new seeded matrices wait for them on a worker thread, not on the UI.

Seeding draws every matrix value from Philox streams (core/seeded.py): 0.3–0.4 s at the
largest settings (d_model 1024, 64 heads, 8 layers) on a 2-core machine. A change of
size or seed, Randomize, opening a lesson or going to a step whose matrices are not in
memory yet would freeze the window that long. Instead the change is queued here: a worker
thread seeds what it needs (``Weights.seeded_read_only`` keeps it), then the change is
applied on the UI thread, where the studio model finds everything in memory.

- Changes run in the order they were asked for; a change with the same ``key`` as one still
  waiting replaces it (ten clicks on the seed arrow seed once, for the last seed).
- What a change needs is asked when its turn comes (``needed`` is a function), so a change
  of heads queued behind a change of d_model seeds for the new d_model.
- A change that needs little (at most ``AT_ONCE_VALUES`` values, a few milliseconds) runs
  at once when nothing waits: small models behave as if there were no queue.

See docs/architecture.md, "Seeding".
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, Signal

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.settings import Settings
from attnstudio.core.weights import Weights

Needed = Callable[[], Iterable[Settings]]
# Values seeded on the UI thread without a detour (~0.02 µs each: about 1.5 ms).
AT_ONCE_VALUES = 65_536


class SeedGate(QObject):
    """Queues changes until the seeded matrices they need are in memory. See the module docstring."""

    busy_changed = Signal(bool)
    _seeded = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: dict[str, _Waiting] = {}
        self._thread: threading.Thread | None = None
        self._for: _Waiting | None = None  # the change the worker seeds for
        self._was_busy = False
        self.seeding: tuple[Settings, ...] = ()  # what the worker seeds now (for the status bar)
        self._seeded.connect(self._on_seeded)

    @property
    def busy(self) -> bool:
        return bool(self._queue) or self._thread is not None

    def run(self, key: str, needed: Needed, change: Callable[[], object]) -> bool:
        """Apply ``change()`` once every Settings that ``needed()`` returns is seeded; True when
        it ran before returning (False: it waits for the worker)."""
        waiting = _Waiting(needed, change)
        self._queue.pop(key, None)
        self._queue[key] = waiting
        self._next()
        return key not in self._queue or self._queue[key] is not waiting

    def drop(self, key: str) -> None:
        """Forget the change waiting under ``key``, if any (a seeding under way finishes, and is
        kept)."""
        if self._queue.pop(key, None) is not None:
            self._tell_busy()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the worker has seeded (tests); the change still runs from the event loop."""
        thread = self._thread
        if thread is not None:
            thread.join(None if msecs < 0 else msecs / 1000.0)
            return not thread.is_alive()
        return True

    def _next(self, seeded_for: _Waiting | None = None) -> None:
        while self._queue and self._thread is None:
            key, waiting = next(iter(self._queue.items()))
            # The change the worker just seeded for runs without asking again: what it needs
            # may be more than memory keeps, and the model seeds the rest itself.
            missing = () if waiting is seeded_for else waiting.missing()
            if missing:
                self._start(missing, waiting)
                break
            del self._queue[key]
            waiting.change()
        self._tell_busy()

    def _tell_busy(self) -> None:
        if self.busy != self._was_busy:
            self._was_busy = self.busy
            self.busy_changed.emit(self.busy)

    def _start(self, missing: tuple[Settings, ...], waiting: _Waiting) -> None:
        self.seeding = missing
        self._for = waiting
        # A daemon thread: closing the window mid-seeding must not wait for it.
        self._thread = threading.Thread(target=self._seed, args=(missing,), name="attnstudio-seed", daemon=True)
        self._thread.start()

    def _seed(self, missing: tuple[Settings, ...]) -> None:
        try:
            for s in missing:
                Weights.seeded_read_only(s)
        except Exception:  # the change itself meets the same failure, and reports it
            traceback.print_exc()
        # Queued to the UI thread; RuntimeError: the window closed while this ran.
        with contextlib.suppress(RuntimeError):
            self._seeded.emit()

    def _on_seeded(self) -> None:
        seeded_for, self._for = self._for, None
        self._thread = None
        self.seeding = ()
        self._next(seeded_for)


class _Waiting:
    """A change waiting for its matrices (compared by identity: a newer one replaces it)."""

    def __init__(self, needed: Needed, change: Callable[[], object]) -> None:
        self.needed = needed
        self.change = change

    def missing(self) -> tuple[Settings, ...]:
        """The settings whose seeded matrices are not in memory; none when they are few (the
        change seeds them at once) or when the model refuses the settings (the change says
        why, at once)."""
        try:
            needed = [(s, Weights.unseeded_values(s.validated())) for s in self.needed()]
        except AttnStudioError:
            return ()
        if sum(count for _, count in needed) <= AT_ONCE_VALUES:
            return ()
        return tuple(s for s, count in needed if count)
