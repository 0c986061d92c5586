"""Change notification for the studio model: plain callbacks, grouped by a batching context.

A kind names what changed (``inputs``, ``view``, ``selection``, ``display``, ``lesson``);
``note`` carries a sentence for the status bar. Inside ``with events.batch():`` nothing is
called: the kinds are collected and each is announced once when the outermost batch ends,
so a lesson step that changes the sentence, the settings and the stage is one recompute.
``any`` callbacks get the set of kinds of each announcement (what undo and autosave need).

A callback that changes the model while being called starts a new announcement after
this one, never a nested one (the loop guard of ``_announcing``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

# In the order they are announced: the inputs first, so that a view callback can rely on
# the inputs being known when it runs.
KINDS = ("inputs", "view", "selection", "display", "lesson")


class Events:
    """Callbacks per kind, with batching. See the module docstring."""

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callable[[], None]]] = {k: [] for k in KINDS}
        self._any: list[Callable[[frozenset[str]], None]] = []
        self._notes: list[Callable[[str], None]] = []
        self._depth = 0
        self._pending: set[str] = set()
        self._pending_notes: list[str] = []
        self._announcing = False

    # ---- subscribing ---------------------------------------------------------------------
    def connect(self, kind: str, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever ``kind`` changed (once per batch)."""
        if kind not in self._callbacks:
            raise ValueError(f"unknown change kind {kind!r}: one of {', '.join(KINDS)}")
        self._callbacks[kind].append(callback)

    def connect_any(self, callback: Callable[[frozenset[str]], None]) -> None:
        """Call ``callback(kinds)`` once per announcement, with every kind that changed."""
        self._any.append(callback)

    def connect_note(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(text)`` for each note (a sentence for the status bar)."""
        self._notes.append(callback)

    def disconnect(self, callback: Callable[..., None]) -> None:
        """Remove ``callback`` wherever it is connected."""
        groups: list[list[Callable[..., None]]] = [*self._callbacks.values(), self._any, self._notes]
        for group in groups:
            while callback in group:
                group.remove(callback)

    # ---- announcing ----------------------------------------------------------------------
    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold every announcement until the outermost batch ends."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._flush()

    def changed(self, *kinds: str) -> None:
        """Record that ``kinds`` changed; announce now unless a batch is open."""
        for kind in kinds:
            if kind not in self._callbacks:
                raise ValueError(f"unknown change kind {kind!r}")
        self._pending.update(kinds)
        if self._depth == 0:
            self._flush()

    def note(self, text: str) -> None:
        """A sentence for the status bar, delivered with the batch it belongs to."""
        self._pending_notes.append(text)
        if self._depth == 0:
            self._flush()

    def discard(self) -> None:
        """Forget what the open batch collected (a change that was refused part-way)."""
        self._pending.clear()
        self._pending_notes.clear()

    def _flush(self) -> None:
        if self._announcing:
            return  # the loop below picks the new changes up when this announcement ends
        self._announcing = True
        try:
            while self._pending or self._pending_notes:
                kinds = frozenset(self._pending)
                notes = list(self._pending_notes)
                self._pending.clear()
                self._pending_notes.clear()
                for kind in KINDS:
                    if kind in kinds:
                        for callback in list(self._callbacks[kind]):
                            callback()
                if kinds:
                    for any_callback in list(self._any):
                        any_callback(kinds)
                for text in notes:
                    for note_callback in list(self._notes):
                        note_callback(text)
        finally:
            self._announcing = False
