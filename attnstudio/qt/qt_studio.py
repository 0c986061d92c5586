"""QtStudio: the studio model's changes as Qt signals, for the widgets.

The model (``attnstudio.studio.StudioModel``) announces its changes through plain
callbacks; this adapter turns them into signals and adds what only a GUI needs:

- ``changed`` (the inputs changed: recompute) is coalesced: changes made in the same turn of
  the event loop, or within one frame (16 ms) of the last signal, give ONE signal, so a drag
  over a cell costs at most one recompute per frame;
- ``seeding`` (a SeedGate, qt/seeding.py): changes of size or seed, Randomize and lesson
  steps wait there while a worker thread seeds the matrices they need;
- ``view_changed`` (stage, layer, head), ``selection_changed`` (selected row, highlights),
  ``display_changed`` (theme, zoom, colour scale), ``lesson_changed`` (lesson or step) and
  ``note`` (a sentence for the status bar) are delivered at once.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from attnstudio.qt.seeding import SeedGate
from attnstudio.studio.model import StudioModel

FRAME_MS = 16


class QtStudio(QObject):
    """Signals for one StudioModel (``model``). See the module docstring."""

    changed = Signal()
    view_changed = Signal()
    selection_changed = Signal()
    display_changed = Signal()
    lesson_changed = Signal()
    note = Signal(str)

    def __init__(self, model: StudioModel | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model or StudioModel()
        self.seeding = SeedGate(self)
        self._last_emit = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._emit_changed)
        events = self.model.events
        events.connect("inputs", self._schedule)
        events.connect("view", self.view_changed.emit)
        events.connect("selection", self.selection_changed.emit)
        events.connect("display", self.display_changed.emit)
        events.connect("lesson", self.lesson_changed.emit)
        events.connect_note(self.note.emit)

    def _schedule(self) -> None:
        if self._timer.isActive():
            return
        since = (time.perf_counter() - self._last_emit) * 1000.0
        self._timer.start(int(max(0.0, FRAME_MS - since)) if since < FRAME_MS else 0)

    def _emit_changed(self) -> None:
        self._last_emit = time.perf_counter()
        self.changed.emit()

    @property
    def pending(self) -> bool:
        """Whether a ``changed`` signal is waiting for its frame."""
        return self._timer.isActive()

    def flush(self) -> None:
        """Emit a pending ``changed`` now (tests, the self-test and exports use it)."""
        if self._timer.isActive():
            self._timer.stop()
            self._emit_changed()
