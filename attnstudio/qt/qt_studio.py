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
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from attnstudio.core.errors import AttnStudioError
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
        self.pending_step: int | None = None  # the lesson step on its way while its matrices are seeded
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

    # ---- lesson steps, through the seeding queue ------------------------------------------------
    def go_to_step(self, index: int, on_error: Callable[[str], object] | None = None) -> None:
        """Apply lesson step ``index`` (0-based, clamped); nothing without a lesson.

        A step whose matrices are not in memory is applied once a worker thread has seeded
        them (qt/seeding.py); steps asked for meanwhile count from the one on its way (three
        presses of → go three steps on) and the last one asked for is shown. ``on_error``
        gets the message of a step the model refuses (else the status bar does)."""
        lesson = self.model.lesson
        if lesson is None:
            return
        index = max(0, min(int(index), len(lesson.steps) - 1))
        self.pending_step = index

        def change() -> None:
            self.pending_step = None
            if self.model.lesson is lesson:
                try:
                    self.model.go_to_step(index)
                except AttnStudioError as exc:
                    (on_error or self.note.emit)(str(exc))

        self.seeding.run("step", lambda: [lesson.steps[index].state.settings], change)

    def step_by(self, delta: int, on_error: Callable[[str], object] | None = None) -> None:
        """The lesson's next (+1) or previous (-1) step, counted from the one on its way; past
        either end, nothing (the step on view keeps what was done on it)."""
        lesson = self.model.lesson
        if lesson is None:
            return
        here = self.model.step_index if self.pending_step is None else self.pending_step
        there = max(0, min(here + delta, len(lesson.steps) - 1))
        if there != here:
            self.go_to_step(there, on_error)

    def forget_steps(self) -> None:
        """Drop a step still waiting for its matrices (a lesson opened or closed meanwhile)."""
        self.seeding.drop("step")
        self.pending_step = None
