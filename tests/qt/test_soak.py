"""Soak: a seeded random walk of ≥ 2,000 user actions on one real window, checked as it goes.

Each action acts as a person would where that is practical: typing in the sentence bar,
typing into a cell of the Matrices panel, the Settings panel's widgets, the stepper's keys
and buttons, a click and a hover on the large heatmap, the zoom keys, the editor's buttons,
Ctrl+Z / Ctrl+Shift+Z, saving and opening a workspace, a built-in lesson opened, stepped
and closed, presentation toggles. After every action the window must agree with its model
(see ``check_window``); some actions carry their own check (undo then redo, save then open).

The walk's sizes stay small (short sentences, d_model ≤ 8, the small built-in lessons) so
the default 2,000 actions take about a minute on two shared cores. Memory is measured from
action 200 on (tracemalloc, RSS, live Python objects, QObjects, widgets, scene items) and
printed with ``-s``. A longer soak by hand (past pytest's 300 s timeout):

    ATTNSTUDIO_SOAK_ACTIONS=10000 ATTNSTUDIO_SOAK_SEED=7 QT_QPA_PLATFORM=offscreen \
        python -m pytest tests/qt/test_soak.py -q -s -o timeout=0

``ATTNSTUDIO_SOAK_ALL_LESSONS=1`` opens the large lessons too; ``ATTNSTUDIO_SOAK_FRAMES=25``
records deeper tracebacks of the memory that grew (much slower). A failure names the seed,
the action's number and the last actions taken: the same seed replays the same walk.
"""

from __future__ import annotations

import gc
import os
import random
import resource
import sys
import time
import tracemalloc
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QGraphicsView
from studio_helpers import expected_stage, viewport, viewport_pos

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.lessons import builtin_lessons
from attnstudio.core.tokenize import tokenize
from attnstudio.core.trace import STAGE_KEYS, STAGES, Trace
from attnstudio.qt import undo as undo_module
from attnstudio.qt.document import work_of
from attnstudio.studio import workspace
from attnstudio.studio.inputs import run
from attnstudio.studio.result import compute_result
from attnstudio.studio.snapshot import WORK_FIELDS, Snapshot, same

ACTIONS = int(os.environ.get("ATTNSTUDIO_SOAK_ACTIONS", "2000"))
SEED = int(os.environ.get("ATTNSTUDIO_SOAK_SEED", "20261201"))
WARM_UP = 200  # memory is measured from here: caches, fonts and lazily built widgets exist by then
SIZE = (1280, 720)
# Generous bounds: a leak of one snapshot, one scene item or one widget per action over
# 1,800 actions crosses them; caches that settle do not.
MAX_TRACED_GROWTH_MB = 50
MAX_QOBJECT_GROWTH = 200
MAX_SCENE_ITEM_GROWTH = 200
MAX_PYTHON_OBJECT_GROWTH = 20_000  # the caches of text widths and cell forms settle well below



def small(lesson) -> bool:
    return all(len(tokenize(step.state.sentence)) <= 16 and step.state.settings.d_model <= 8 for step in lesson.steps)


# The built-in lessons the walk opens: the small ones (all of them with ATTNSTUDIO_SOAK_ALL_LESSONS=1;
# the scaling lesson's d_model = 512 and the quadratic-cost lesson's 128 tokens make every
# action inside them slow).
LESSONS = {lesson.id for lesson in builtin_lessons() if small(lesson) or os.environ.get("ATTNSTUDIO_SOAK_ALL_LESSONS")}
WORDS = ("the", "cat", "sat", "on", "a", "mat", "it", "was", "tired", "dog", "bites", "man", "The", "cat's",
         "über", "naïve", "42", "—", "tea", "hot")
CELL_TEXTS = ("0.5", "-1.25", "0", "2", "0.001", "-0.3", "1e-3", "abc", "nan", "inf", "1e400", "", "  7 ")


@dataclass
class Walk:
    """The soak's state: the window, the random source, where files go and what happened."""

    window: object
    qtbot: object
    rng: random.Random
    tmp: Path
    log: deque = field(default_factory=lambda: deque(maxlen=25))
    counts: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)  # oddities seen on the way that fail nothing
    saves: int = 0
    clock: float = 0.0  # seconds, as undo's merging sees them

    @property
    def studio(self):
        return self.window.studio

    def key(self, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        """A key pressed with the keyboard on the window (as after a click on its background)."""
        central = self.window.centralWidget()
        central.setFocus()
        self.qtbot.keyClick(central, key, modifier)  # through the window's shortcuts, as typed

    def settle(self) -> Trace | None:
        w = self.window
        w.sentence.flush()
        w.studio_qt.flush()
        if w.compute.busy:  # only above 128 tokens, which the walk never types
            self.qtbot.waitUntil(lambda: not w.compute.busy, timeout=5000)
        return w.trace


# ---------------------------------------------------------------- the actions


def type_sentence(walk: Walk) -> None:
    """Select the sentence field's text and type a new short sentence; Enter, or just a pause."""
    rng, field_ = walk.rng, walk.window.sentence.field
    n = rng.choice((0, 1, 2, 3, 4, 5, 6)) if rng.random() < 0.1 else rng.randint(1, 6)
    text = " ".join(rng.choice(WORDS) for _ in range(n))
    field_.setFocus()
    field_.selectAll()
    if not text:
        walk.qtbot.keyClick(field_, Qt.Key.Key_Backspace)
    for k, word in enumerate(text.split(" ")):
        part = word if k == 0 else " " + word
        if part.isascii():
            walk.qtbot.keyClicks(field_, part)
        else:
            field_.insert(part)  # QTest types ASCII only: "über" arrives as pasted (an input method's way)
    if rng.random() < 0.6:
        walk.qtbot.keyClick(field_, Qt.Key.Key_Return)


def _editor_on(walk: Walk, key: str):
    w = walk.window
    if not w.panels_action.isChecked():
        w.panels_action.trigger()
    w.show_dock(w.editor_dock)
    w.editor.select(key)
    return w.editor


def edit_cell(walk: Walk) -> None:
    """Type a number (or something refused) into a cell of X, a weight matrix or a direct Q/K/V."""
    rng = walk.rng
    ed = _editor_on(walk, rng.choice(("w_q", "w_k", "w_v", "w_o", "x", "q", "k", "v")))
    table = ed.table
    model = table.model()
    if model.rowCount() == 0 or not model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsEditable:
        return  # Q/K/V that follow X·W, or no tokens: nothing a person could type into
    row, col = rng.randrange(model.rowCount()), rng.randrange(model.columnCount())
    index = model.index(row, col)
    table.setCurrentIndex(index)
    table.edit(index)
    from PySide6.QtWidgets import QLineEdit

    editors = [e for e in table.viewport().findChildren(QLineEdit) if e.isVisible()]
    assert len(editors) == 1, "the cell did not open one editor"
    editors[0].selectAll()
    text = rng.choice(CELL_TEXTS)
    if text:
        walk.qtbot.keyClicks(editors[0], text)
    else:
        editors[0].clear()
    walk.qtbot.keyClick(editors[0], Qt.Key.Key_Return)
    walk.qtbot.waitUntil(lambda: table.state() != table.State.EditingState, timeout=2000)


def wheel_cell(walk: Walk) -> None:
    """Scrub the selected cell of a weight matrix with the mouse wheel (Shift: ×10)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent

    rng = walk.rng
    table = _editor_on(walk, rng.choice(("w_q", "w_k", "w_v", "w_o"))).table
    model = table.model()
    index = model.index(rng.randrange(model.rowCount()), rng.randrange(model.columnCount()))
    table.setCurrentIndex(index)
    vp = table.viewport()
    pos = QPointF(table.visualRect(index).center())
    mods = Qt.KeyboardModifier.ShiftModifier if rng.random() < 0.3 else Qt.KeyboardModifier.NoModifier
    ev = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(), QPoint(0, 120 * rng.choice((-2, -1, 1, 3))),
                     Qt.MouseButton.NoButton, mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, ev)


def toggle_direct(walk: Walk) -> None:
    """Tick or untick "give directly" for Q, K or V of the head on view."""
    ed = _editor_on(walk, walk.rng.choice(("q", "k", "v")))
    if ed.direct.isVisible():
        walk.qtbot.mouseClick(ed.direct, Qt.MouseButton.LeftButton, pos=QPoint(8, ed.direct.height() // 2))


def editor_button(walk: Walk) -> None:
    """Randomize, Reset or Identity in the Matrices panel."""
    ed = _editor_on(walk, walk.rng.choice(("w_q", "w_k", "w_v", "w_o", "x", "q", "k", "v")))
    button = walk.rng.choice((ed.randomize_btn, ed.reset_btn, ed.identity_btn, ed.identity_btn))
    if button.isEnabled():
        walk.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def change_setting(walk: Walk) -> None:
    """One widget of the Settings panel, changed as a person would (a combo's item, a spin box's
    value, a box ticked, the slider moved)."""
    rng, w = walk.rng, walk.window
    c = w.controls
    if not w.panels_action.isChecked():
        w.panels_action.trigger()
    w.show_dock(w.controls_dock)
    what = rng.choice(("d_model", "heads", "layers", "temperature", "scale", "mask", "normalizer", "positional",
                       "seed", "layer", "head", "theme", "weights_scale", "backend"))
    widget = getattr(c, what)
    if what == "d_model":
        widget.setValue(rng.choice((2, 4, 4, 6, 8)))
    elif what == "layers":
        widget.setValue(rng.choice((1, 1, 2)))
    elif what == "seed":
        widget.setValue(rng.choice((0, 1, 2, 7, 1234)))
    elif what == "temperature":
        widget.setValue(rng.randrange(widget.maximum() + 1))
    elif what in ("scale", "positional"):
        walk.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))
    elif what == "backend":
        widget.setCurrentText(rng.choice(("numpy", "numpy", "auto")))
    elif widget.count():
        widget.setCurrentIndex(rng.randrange(widget.count()))


def step_keys(walk: Walk) -> None:
    """The stepper's keys: → ← PgDn PgUp Space Home End or a digit (a lesson step inside a lesson)."""
    key = walk.rng.choice((Qt.Key.Key_Right, Qt.Key.Key_Left, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp,
                           Qt.Key.Key_Space, Qt.Key.Key_Home, Qt.Key.Key_End,
                           *(getattr(Qt.Key, f"Key_{d}") for d in range(1, 10))))
    walk.key(key)


def step_buttons(walk: Walk) -> None:
    """Back / Next under the thumbnails, or a thumbnail clicked where it is on screen."""
    w, rng = walk.window, walk.rng
    strip = w.stage_strip
    if rng.random() < 0.5 or strip.compact:
        button = rng.choice((strip.back_btn, strip.next_btn))
        if button.isEnabled() and button.isVisible():
            walk.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        return
    thumb = strip.thumbs[rng.choice(STAGE_KEYS)]
    if not thumb.isVisible():
        return
    pos = thumb.mapTo(w, thumb.rect().center())
    target = w.childAt(pos)
    if target is thumb or thumb.isAncestorOf(target):
        walk.qtbot.mouseClick(w.windowHandle(), Qt.MouseButton.LeftButton, pos=pos)
    else:  # something covers it: a click there would open, say, a menu button's modal popup
        cover = f"{type(target).__name__} {target.objectName()!r}" if target is not None else "nothing"
        walk.notes.append(f"{walk.log[-1]}: thumbnail {thumb.toolTip()!r} at {pos.toTuple()} is covered by "
                          f"{cover}; zoom {walk.studio.zoom:.2f}, strip at {strip.geometry().getRect()} in a "
                          f"central widget {w.centralWidget().height()} px high")


def _heatmap_cell(walk: Walk):
    w = walk.window
    if w.stage_view.stack.currentIndex() != 0 or w.presentation.blanked:
        return None
    rows, cols = w.heatmap.values().shape
    if rows == 0 or cols == 0:
        return None
    return walk.rng.randrange(rows), walk.rng.randrange(cols)


def click_heatmap(walk: Walk) -> None:
    """Click a cell of the large heatmap (on a token × token stage this opens one token's view)."""
    cell = _heatmap_cell(walk)
    if cell is not None:
        w = walk.window
        walk.qtbot.mouseClick(viewport(w.heatmap), Qt.MouseButton.LeftButton, pos=viewport_pos(w.heatmap, *cell))


def hover_heatmap(walk: Walk) -> None:
    """Move the pointer onto a cell of the large heatmap (from elsewhere first, so it is a move)."""
    cell = _heatmap_cell(walk)
    if cell is not None:
        w = walk.window
        vp = viewport(w.heatmap)
        walk.qtbot.mouseMove(vp, QPoint(1, 1))
        walk.qtbot.mouseMove(vp, viewport_pos(w.heatmap, *cell))


def zoom_keys(walk: Walk) -> None:
    """Ctrl+= / Ctrl+- / Ctrl+0: larger, smaller, normal text."""
    key = walk.rng.choice((Qt.Key.Key_Equal, Qt.Key.Key_Equal, Qt.Key.Key_Minus, Qt.Key.Key_Minus, Qt.Key.Key_0))
    walk.key(key, Qt.KeyboardModifier.ControlModifier)


def undo_redo_keys(walk: Walk) -> None:
    """Ctrl+Z or Ctrl+Shift+Z (Ctrl+Y) with the keyboard on the window."""
    rng = walk.rng
    if rng.random() < 0.6:
        walk.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    elif rng.random() < 0.7:
        walk.key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    else:
        walk.key(Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)


def undo_then_redo(walk: Walk) -> None:
    """Edit ▸ Undo then Edit ▸ Redo: the work and the lesson step come back exactly.

    Catches an undo step whose "after" is not the state it was recorded from (a change the
    stack missed or merged wrongly), and a restore that loses part of the work."""
    u = walk.window.undo
    if not u.undo_action.isEnabled():
        return
    walk.settle()
    before = walk.studio.snapshot()
    u.undo_action.trigger()
    walk.settle()
    check_window(walk)
    assert u.redo_action.isEnabled(), "undo left nothing to redo"
    u.redo_action.trigger()
    walk.settle()
    after = walk.studio.snapshot()
    assert_same_work(after, before, "undo then redo")
    assert (after.lesson is before.lesson and after.step == before.step), "undo then redo: the lesson step differs"


def save_and_open(walk: Walk) -> None:
    """File ▸ Save to a tmp .attn, then (mostly) open it back: the work comes back as saved, the title
    names the file and says nothing unsaved, and undo has forgotten the old steps.

    Catches a field that does not round-trip through the file in the window (the format's
    own tests use the model alone), and a title or undo stack that disagrees after opening."""
    w, doc = walk.window, walk.window.document
    walk.settle()
    walk.saves += 1
    path = walk.tmp / f"soak-{walk.saves % 3}.attn"
    saved = walk.studio.snapshot()
    assert doc.save_to(path), doc.last_error
    # Inside a lesson the file holds its screen, and the own work stays unsaved.
    assert w.windowTitle().startswith(path.name) and (saved.lesson is not None or not doc.modified), w.windowTitle()
    r = walk.rng.random()
    if r < 0.3:
        return  # just saved: check_window holds the file to the work from now on
    if r < 0.6:  # go on working, then open what was saved over it
        walk.rng.choice((type_sentence, edit_cell, lesson))(walk)
        walk.settle()
    assert doc.open_path(path), doc.last_error
    walk.settle()
    now = walk.studio.snapshot()
    assert_same_work(now, saved, "save then open")  # the screen as it was (a lesson's too)
    for f in ("stage", "layer", "head", "theme", "zoom", "weights_scale"):
        assert same(getattr(now, f), getattr(saved, f)), f"save then open: {f} differs"
    assert now.lesson is None and not doc.modified
    assert w.windowTitle() == f"{path.name} — Attention Studio"
    assert not w.undo.undo_action.isEnabled()


def open_bad_file(walk: Walk) -> None:
    """Open a file that is not a workspace: one line naming it; nothing on screen changes."""
    w, doc = walk.window, walk.window.document
    walk.settle()
    path = walk.tmp / "bad.attn"
    path.write_bytes(walk.rng.choice((b"", b"{", b"[]", b'{"format": "attnstudio-workspace", "version": 99}',
                                      b"\x89PNG\r\n", b"null")))
    before, title = walk.studio.snapshot(), w.windowTitle()
    assert not doc.open_path(path)
    assert walk.studio.snapshot() is before and w.windowTitle() == title
    assert doc.last_error.startswith(str(path)) and "\n" not in doc.last_error


def new_workspace(walk: Walk) -> None:
    """File ▸ New workspace (no question asked: the window is not interactive)."""
    walk.window.document.new_action.trigger()


def lesson(walk: Walk) -> None:
    """Lessons ▸ a built-in lesson; or, inside one, its next / previous step or Close lesson."""
    w, rng = walk.window, walk.rng
    player = w.lesson_player
    if player.lesson is None or rng.random() < 0.15:
        rng.choice([a for a in player.lesson_actions if a.data() in LESSONS]).trigger()
        return
    r = rng.random()
    if r < 0.25:
        player.close_action.trigger()
    elif r < 0.6:
        button = player.panel.next_btn
        if button.isVisible() and not button.visibleRegion().isEmpty() and not w.presentation.blanked:
            walk.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        else:
            walk.key(Qt.Key.Key_PageDown)
    elif r < 0.8:
        player.prev_step()
    else:
        player.go_to_step(rng.randrange(len(player.lesson.steps)))


def presentation(walk: Walk) -> None:
    """B (blank), F5 twice (full screen and back), N (narration), F9 (side panels)."""
    w, rng = walk.window, walk.rng
    r = rng.random()
    if r < 0.3:
        walk.key(Qt.Key.Key_B)
    elif r < 0.45:
        w.presentation.fullscreen_action.trigger()
        walk.qtbot.wait(1)
        w.presentation.fullscreen_action.trigger()
        walk.qtbot.wait(1)
    elif r < 0.7:
        walk.key(Qt.Key.Key_N)
    else:
        walk.key(Qt.Key.Key_F9)


def head_layer(walk: Walk) -> None:
    """The Settings panel's "Layer on view" / "Head on view" combos."""
    w = walk.window
    combo = walk.rng.choice((w.controls.layer, w.controls.head))
    if combo.count():
        combo.setCurrentIndex(walk.rng.randrange(combo.count()))


def autosave(walk: Walk) -> None:
    """The autosave fires (as its timer would): the recovery file holds the work exactly,
    or, with nothing unsaved, there is none. Catches a recovery file that lags the work, or
    one left behind after a save."""
    w = walk.window
    walk.settle()
    rec = w.recovery
    rec.folder = walk.tmp / "recovery"
    wrote = rec.write_now(wait=True)
    if w.document.modified:
        assert wrote and rec.path is not None, rec.last_error
        assert_same_work(workspace.load(rec.path), work_of(walk.studio.snapshot()), "the recovery file")
    else:
        assert not wrote
        assert not (rec.folder.exists() and list(rec.folder.glob("recovery-*.attn"))), "left after a save"


def export_stage(walk: Walk) -> None:
    """File ▸ Export ▸ Stage as PNG or SVG: a whole file of the stage view's size."""
    w = walk.window
    walk.settle()
    if w.trace is None:
        return
    if walk.rng.random() < 0.5:
        path = walk.tmp / "stage.png"
        assert w.exports.save_stage_png(path), w.exports.last_error
        image = QImage(str(path))
        assert (image.width(), image.height()) == (w.stage_view.width(), w.stage_view.height())
    else:
        path = walk.tmp / "stage.svg"
        assert w.exports.save_stage_svg(path), w.exports.last_error
        assert path.read_text(encoding="utf-8").rstrip().endswith("</svg>")


def author_step(walk: Walk) -> None:
    """Lessons ▸ Author a lesson: record the screen as a step (or delete one); the step
    holds the screen's sentence and stage."""
    w = walk.window
    author = w.author
    author.interactive = False
    walk.settle()
    if author.draft.steps and walk.rng.random() < 0.3:
        assert author.delete_step(walk.rng.randrange(len(author.draft.steps)))
        return
    before = len(author.draft.steps)
    if author.add_step():
        assert len(author.draft.steps) == before + 1
        assert any(step.state.sentence == walk.studio.sentence and step.state.stage == walk.studio.stage
                   for step in author.draft.steps)


# (action, weight): how often each is drawn.
TABLE = (
    (type_sentence, 10), (edit_cell, 14), (wheel_cell, 4), (toggle_direct, 3), (editor_button, 4),
    (change_setting, 12), (head_layer, 4), (step_keys, 12), (step_buttons, 5), (click_heatmap, 6),
    (hover_heatmap, 6), (zoom_keys, 1), (undo_redo_keys, 8), (undo_then_redo, 5), (save_and_open, 3),
    (open_bad_file, 1), (new_workspace, 1), (lesson, 6), (presentation, 3), (autosave, 2), (export_stage, 1),
    (author_step, 1),
)


# ---------------------------------------------------------------- the invariants


def assert_same_work(a: Snapshot, b: Snapshot, what: str) -> None:
    diff = [f for f in WORK_FIELDS if not same(getattr(a, f), getattr(b, f))]
    assert not diff, f"{what}: the work differs in {diff}"


def assert_equal(shown, fresh, what: str) -> None:
    """Bit for bit (NaN equal to NaN), and quick when equal (np.testing is slow per call)."""
    shown, fresh = np.asarray(shown), np.asarray(fresh)
    if not (shown.shape == fresh.shape and np.array_equal(shown, fresh, equal_nan=True)):
        np.testing.assert_array_equal(shown, fresh, err_msg=what)


def assert_same_trace(shown: Trace, fresh: Trace) -> None:
    assert shown.tokens == fresh.tokens, "the shown trace is of other tokens"
    assert shown.settings == fresh.settings, f"the shown trace has other settings: {shown.settings} ≠ {fresh.settings}"
    for name in ("embeddings", "x"):
        assert_equal(getattr(shown, name), getattr(fresh, name), name)
    for li, (a, b) in enumerate(zip(shown.layers, fresh.layers, strict=True)):
        for name in ("input", "concat", "output", "residual"):
            assert_equal(getattr(a, name), getattr(b, name), f"layer {li + 1} {name}")
        for hi, (ha, hb) in enumerate(zip(a.heads, b.heads, strict=True)):
            for name in ("q", "k", "v", "scores", "scaled", "masked", "weights", "output"):
                assert_equal(ha.stage(name), hb.stage(name), f"layer {li + 1} head {hi + 1} {name}")


def _inputs_text(inputs) -> str:
    return f"{inputs.sentence!r} {inputs.settings} direct={sorted(inputs.direct)}"


def check_window(walk: Walk) -> None:
    """The window agrees with its model once the pending edits are in:

    - what it shows was computed from the model's inputs now (a fresh computation gives the
      same numbers bit for bit): catches a dropped or stale recompute, an edit that reached
      the model but not the screen, a result applied to the wrong generation;
    - the large heatmap shows the stage, layer and head on view, and the title names the stage;
    - with no tokens, the empty page; with input the core refuses, its message;
    - the sentence field, the Settings panel and the title show the model's values;
    - a title that says nothing is unsaved has the work in its file (else closing the window
      would lose work without asking);
    - the window is still 1280×720 (a zoom, a lesson or a label must never grow it), and the
      stage strip (Back, Next, the thumbnails) lies whole inside it.
    """
    w = walk.window
    walk.settle()
    st = w.studio
    inputs = st.inputs()
    if not inputs.tokens:
        assert w.stage_view.stack.currentIndex() == 1, "no tokens, but a matrix is on view"
    else:
        try:
            fresh = run(inputs)
        except AttnStudioError:
            assert w.stage_view.stack.currentIndex() == 1, "input the core refuses, but no message"
            fresh = None
        if fresh is not None:
            assert w.result is not None and w.result.generation == st.generation, (
                f"the shown result is stale: generation {w.result.generation if w.result else None} shown, "
                f"{st.generation} in the model; a change still waiting: {w.studio_qt.pending}; shown inputs "
                f"{_inputs_text(w.result.inputs) if w.result else None}, the model's {_inputs_text(inputs)}; "
                f"computing those: {compute_result(inputs).error or 'fine'}")
            assert_same_trace(w.trace, fresh)
            assert w.stage_view.stack.currentIndex() == 0
            layer, head = w.view_index()
            assert (layer, head) == (st.layer, st.head)
            want = np.array(expected_stage(fresh, st.stage, layer, head), dtype=np.float64)
            hidden = st.covered_weights(layer, head)
            if st.stage == "weights" and hidden is not None and hidden.shape == want.shape:
                want[hidden] = np.nan  # a lesson's question waits: those weights are not shown
            assert_equal(w.heatmap.values(), want, f"the large heatmap on {st.stage}")
            i = STAGE_KEYS.index(st.stage)
            assert w.stage_view.title.text() == f"{i + 1} · {STAGES[i][1]}"
            assert w.stage_strip.stage_list.currentData() == st.stage
    assert w.sentence.text() == st.sentence, "the sentence field and the model disagree"
    c, s = w.controls, st.settings
    assert (c.d_model.value(), c.heads.currentData(), c.layers.value(), c.seed.value()) == (
        s.d_model, s.heads, s.layers, s.seed), "the Settings panel shows other sizes than the model"
    assert (c.scale.isChecked(), c.mask.currentText(), c.normalizer.currentText(), c.positional.isChecked()) == (
        s.scale, s.mask, s.normalizer, s.positional), "the Settings panel shows other switches than the model"
    assert (c.layer.currentIndex(), c.head.currentIndex()) == (st.layer, st.head)
    assert w.windowTitle() == w.document.title()
    doc = w.document
    if doc.path is not None and not doc.modified:  # nothing unsaved: the file holds the work
        assert_same_work(workspace.load(doc.path), work_of(st.snapshot()), "the title says saved, but the file")
    if not w.isFullScreen():
        assert (w.width(), w.height()) == SIZE, f"the window is {w.width()}×{w.height()}"
    strip, central = w.stage_strip, w.centralWidget()
    assert strip.geometry().bottom() < central.height() and strip.height() == strip.maximumHeight(), (
        f"the stage strip ({strip.geometry().getRect()}, fixed at {strip.maximumHeight()}) leaves the "
        f"{central.height()} px central area: Back, Next and the thumbnails are under the status bar")


# ---------------------------------------------------------------- measuring


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def counts(window) -> dict[str, int]:
    """Live objects that a leak would pile up: Python objects, the window's QObjects, widgets,
    and the items of every graphics scene in the window (the heatmaps and thumbnails)."""
    gc.collect()
    scenes = {id(v.scene()): len(v.scene().items()) for v in window.findChildren(QGraphicsView) if v.scene()}
    return {
        "python objects": len(gc.get_objects()),
        "QObjects in the window": len(window.findChildren(QObject)),
        "widgets": len(QApplication.allWidgets()),
        "scene items": sum(scenes.values()),
        "undo steps": window.undo.stack.count(),
    }


# ---------------------------------------------------------------- the soak


@pytest.fixture
def collected_exceptions(monkeypatch):
    """Every exception that reaches sys.excepthook (a slot, a Qt virtual), kept for the test
    and still passed on to pytest-qt's own hook."""
    seen: list[str] = []
    previous = sys.excepthook

    def hook(kind, value, tb):
        import traceback

        seen.append("".join(traceback.format_exception(kind, value, tb)))
        previous(kind, value, tb)

    monkeypatch.setattr(sys, "excepthook", hook)
    return seen


# Qt's own warnings that say nothing about the app: the offscreen platform cannot resize to hints.
HARMLESS_QT_WARNINGS = ("This plugin does not support propagateSizeHints()",)


@pytest.fixture
def qt_warnings():
    """Qt warnings printed while the test runs: "Ambiguous shortcut overload", a painter on a
    dead device, a connection that failed… each a real fault that Qt only prints. (pytest-qt's
    qtlog sees nothing under ``-s``: this handler does, and passes every message on.)"""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    seen: list[str] = []

    def handler(kind, context, message):
        if kind not in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg) and message not in HARMLESS_QT_WARNINGS:
            seen.append(message)
        if previous is not None:
            previous(kind, context, message)

    previous = qInstallMessageHandler(handler)
    yield seen
    qInstallMessageHandler(previous)


def test_soak_random_user_actions(window, qtbot, qt_warnings, tmp_path, collected_exceptions, record_property,
                                  monkeypatch, request):
    request.addfinalizer(tracemalloc.stop)  # also when the walk fails: the rest of the suite runs untraced
    rng = random.Random(SEED)
    # Randomize draws its seed from an unseeded generator: drawn from the walk's, the walk replays.
    unseeded = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng",
                        lambda seed=None, *a: unseeded(rng.randrange(2**32) if seed is None else seed, *a))
    walk = Walk(window, qtbot, rng, tmp_path)
    # Undo merges changes less than MERGE_S apart: on the walk's own clock (0.5 s an action)
    # rather than the wall clock, so that the same seed makes the same steps on any machine.
    monkeypatch.setattr(undo_module, "time", SimpleNamespace(monotonic=lambda: walk.clock))
    window.studio.set_sentence("the cat sat on the mat")  # the default's 10 tokens, but shorter
    window.undo.clear()
    actions = [a for a, _ in TABLE]
    weights = [n for _, n in TABLE]
    figures: dict[str, object] = {}
    spent: dict[str, float] = {}
    t0 = time.perf_counter()
    for i in range(ACTIONS):
        if i == WARM_UP:
            check_window(walk)
            # What the window builds on first use (K's and V's heatmaps, the comparison's, the
            # Lessons menu's entries) is built once: made now if the walk has not yet, it is no
            # growth to find later.
            window.stage_view.views(), window.compare_view.views(), window.lesson_player.lesson_actions
            tracemalloc.start(int(os.environ.get("ATTNSTUDIO_SOAK_FRAMES", "1")))
            figures["before"] = counts(window)
            figures["rss before MB"] = rss_mb()
            traced0 = tracemalloc.get_traced_memory()[0]
            first = tracemalloc.take_snapshot()
        action = rng.choices(actions, weights)[0]
        walk.clock += 0.5
        walk.log.append(f"{i}: {action.__name__}")
        walk.counts[action.__name__] = walk.counts.get(action.__name__, 0) + 1
        started = time.perf_counter()
        try:
            action(walk)
            check_window(walk)
        except Exception as exc:
            raised = f"\nan exception reached sys.excepthook first:\n{collected_exceptions[0]}" \
                if collected_exceptions else ""
            raise AssertionError(f"soak seed {SEED}, action {i} ({action.__name__}) failed: {exc}\n"
                                 f"last actions: {list(walk.log)}{raised}") from exc
        if i % 10 == 9:
            qtbot.wait(1)  # an event loop turn: pending paints and deferred deletes run, as between keys
        spent[action.__name__] = spent.get(action.__name__, 0.0) + time.perf_counter() - started
        assert not qt_warnings, (f"soak seed {SEED}, action {i} ({action.__name__}): Qt warned {qt_warnings}\n"
                                 f"last actions: {list(walk.log)}")
        assert not collected_exceptions, (f"soak seed {SEED}, action {i} ({action.__name__}) raised:\n"
                                          f"{collected_exceptions[0]}\nlast actions: {list(walk.log)}")
    traced = (tracemalloc.get_traced_memory()[0] - traced0) / 2**20 if ACTIONS > WARM_UP else 0.0
    grown = tracemalloc.take_snapshot().compare_to(first, "traceback")[:8] if ACTIONS > WARM_UP else []
    tracemalloc.stop()
    seconds = time.perf_counter() - t0
    figures.update({"actions": ACTIONS, "seed": SEED, "seconds": round(seconds, 1),
                    "exceptions": len(collected_exceptions), "after": counts(window),
                    "rss after MB": rss_mb(), "max rss MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "traced growth MB": round(traced, 2), "notes": [*walk.notes[:5], f"… {len(walk.notes)} in all"],
                    "actions drawn": dict(sorted(walk.counts.items())),
                    "ms per action": {k: round(1000 * v / walk.counts[k]) for k, v in sorted(spent.items())}})
    where = "\n".join(f"{g.size_diff / 2**20:+.2f} MB in {g.count_diff:+,} blocks at\n  "
                      + "\n  ".join(g.traceback.format()) for g in grown)
    for k, v in figures.items():
        record_property(k, v)
        print(f"soak {k}: {v}")
    print(f"soak traced memory grown most:\n{where}")
    if ACTIONS > WARM_UP:
        before, after = figures["before"], figures["after"]
        assert traced < MAX_TRACED_GROWTH_MB, (f"{traced:.1f} MB more traced memory after {ACTIONS - WARM_UP} "
                                               f"actions; grown most:\n{where}")
        assert after["QObjects in the window"] - before["QObjects in the window"] < MAX_QOBJECT_GROWTH
        assert after["widgets"] - before["widgets"] < MAX_QOBJECT_GROWTH
        assert after["scene items"] - before["scene items"] < MAX_SCENE_ITEM_GROWTH
        assert after["python objects"] - before["python objects"] < MAX_PYTHON_OBJECT_GROWTH
