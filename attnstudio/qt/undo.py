"""Undo and redo of every change to the user's work, as snapshots of the studio model.

A feature of the window (``MainWindow.install``): the Edit menu with Undo (Ctrl+Z) and
Redo (Ctrl+Shift+Z, Ctrl+Y). Every announced change of the model's inputs or lesson (a
cell, the sentence, a setting, a direct matrix, Randomize, Reset, a lesson opened or
closed) becomes one QUndoCommand holding the snapshot before and after it; undo restores
the one before. Changes that follow each other within MERGE_S seconds and touch the same
part of the work (a drag or a wheel-scrub over a cell, typing the sentence, dragging the
temperature slider) merge into one step. The presenter's display choices (theme, zoom,
colour scale) and the pin of a comparison are never undone.
"""

from __future__ import annotations

import time
from dataclasses import replace

from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QMenu

from attnstudio.qt.feature import AddsNothing, Host
from attnstudio.studio.snapshot import WORK_FIELDS, Snapshot, same

MERGE_S = 0.8
STEP_NAMES = {
    frozenset({"sentence"}): "typing",
    frozenset({"settings"}): "settings change",
    frozenset({"weights"}): "matrix edit",
    frozenset({"embeddings"}): "X edit",
    frozenset({"direct"}): "direct Q/K/V edit",
}


def changed_work(before: Snapshot, after: Snapshot) -> frozenset[str]:
    """Which parts of the work differ between two snapshots."""
    return frozenset(f for f in WORK_FIELDS if not same(getattr(before, f), getattr(after, f)))


class _Change(QUndoCommand):
    """One change of the work: the snapshots before and after it."""

    def __init__(self, feature: UndoFeature, before: Snapshot, after: Snapshot, key: frozenset[str],
                 text: str) -> None:
        super().__init__(text)
        self._feature = feature
        self.before, self.after, self.key = before, after, key
        self.at = time.monotonic()
        self._done = True  # pushed after the model changed: the first redo() is a no-op

    def absorb(self, other: _Change) -> bool:
        """Take ``other`` into this step when it continues it (same part of the work, soon
        after); True when it did.

        Done here rather than by QUndoStack's id()/mergeWith(): PySide6 (6.11) never frees a
        Python command that the stack deletes after merging it, so every merged keystroke or
        scrub kept two snapshots alive for good (the soak test found 67 MB in 2,000 actions).
        """
        if other.key != self.key or self.key not in STEP_NAMES or other.at - self.at > MERGE_S:
            return False
        self.after, self.at = other.after, other.at
        return True

    def undo(self) -> None:
        self._feature.restore(self.before)

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self._feature.restore(self.after)


class UndoFeature(AddsNothing):
    """The window's undo stack and Edit menu (see the module docstring)."""

    def __init__(self, host: Host) -> None:
        window = host.window_widget()
        self._host = host
        self.studio = host.studio
        self.stack = QUndoStack(window)
        self._last = self.studio.snapshot()
        self._restoring = False
        self.menu = QMenu("&Edit", window)
        self.undo_action = self.stack.createUndoAction(window, "Undo")
        self.undo_action.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Undo))
        self.redo_action = self.stack.createRedoAction(window, "Redo")
        # Ctrl+Y once: where the platform's Redo keys hold it already (Linux), a second copy
        # made it ambiguous to Qt, and Ctrl+Y did nothing.
        redo_keys = [*QKeySequence.keyBindings(QKeySequence.StandardKey.Redo), QKeySequence("Ctrl+Y")]
        self.redo_action.setShortcuts(list(dict.fromkeys(redo_keys)))
        self.menu.addAction(self.undo_action)
        self.menu.addAction(self.redo_action)
        self.studio.events.connect_any(self._on_change)

    # ---- what the window installs ------------------------------------------------------------
    def menus(self) -> list[QMenu]:
        return [self.menu]

    def actions(self) -> list[QAction]:
        return [self.undo_action, self.redo_action]


    # ---- recording -----------------------------------------------------------------------------
    def _on_change(self, kinds: frozenset[str]) -> None:
        now = self.studio.snapshot()
        before, self._last = self._last, now
        if self._restoring or not kinds & {"inputs", "lesson"}:
            return
        key = changed_work(before, now)
        if not key and "lesson" not in kinds:  # a real model opened, closed or edited: not the work
            return
        if before.lesson is not now.lesson:
            name = "open lesson" if now.lesson is not None and before.lesson is None else (
                "close lesson" if now.lesson is None else "lesson step")
            key = frozenset({"lesson"})
        else:
            name = STEP_NAMES.get(key, "change")
        change = _Change(self, before, now, key, name)
        top = self._top()
        if top is None or not top.absorb(change):
            self.stack.push(change)

    def _top(self) -> _Change | None:
        """The step that undo would take back now, when no undone step waits to be redone
        (after an undo, the next change is a step of its own)."""
        i = self.stack.index()
        if i == 0 or i != self.stack.count():
            return None
        command = self.stack.command(i - 1)
        return command if isinstance(command, _Change) else None

    def restore(self, snap: Snapshot) -> None:
        """Put ``snap`` back, keeping the presenter's theme, zoom and colour scale."""
        now = self.studio.snapshot()
        # The pin too: pinning is not a change of the work, and undo neither pins nor unpins
        # (an undo after pinning changes B, the live state; A stays). In a lesson the steps
        # say what is compared: there the snapshot's own pin comes back with its step.
        pinned = snap.pinned if snap.lesson is not None or now.lesson is not None else now.pinned
        # The layer and head fitted into what is computed now: a step recorded while a real
        # model was open names its layers, and one recorded before it the toy's.
        target = self.studio.fit_view(replace(snap, theme=now.theme, zoom=now.zoom, weights_scale=now.weights_scale,
                                              pinned=pinned))
        self._restoring = True
        try:
            self.studio.restore(target)
        finally:
            self._restoring = False
        self._last = self.studio.snapshot()

    def clear(self) -> None:
        """Forget every step (a workspace was opened or a new one started)."""
        self.stack.clear()
        self._last = self.studio.snapshot()
