"""Malformed workspace files opened in a real window, over work in progress: each is refused
with one line naming the file, and the work, the title, the undo steps and the screen stay
exactly as they were; the window goes on working.

tests/studio/test_workspace_fuzz.py refuses its corpus in ``workspace.load`` alone; this
opens the same corpus (every kind of damage: truncations, flipped bytes, a wrong type at
every field, missing and extra keys, future versions, NaN and huge numbers, wrong shapes,
binary files, deep nesting) through ``window.document.open_path``, plus what only a real
path can be: a 100 MB file, a folder, a FIFO, a missing file, a symlink loop, a name with
a line break, and a file of huge arrays. Files that do load after random damage must open
cleanly (no exception between ``load`` and the screen).
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from studio_helpers import settle

from attnstudio.studio.inputs import run

FUZZ = Path(__file__).parents[1] / "studio" / "test_workspace_fuzz.py"


def fuzz_module():
    """The corpus generator of the model-level fuzz test, loaded under a name of its own (it
    is a test module of another folder, not a package)."""
    spec = importlib.util.spec_from_file_location("workspace_fuzz_corpus", FUZZ)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("workspace_fuzz_corpus", module)
    spec.loader.exec_module(module)
    return module


FUZZ_MODULE = fuzz_module()


def path_files(tmp: Path) -> list[Path]:
    """Bad files that only a file system can make."""
    big = tmp / "hundred-megabytes.attn"
    with big.open("wb") as fh:
        fh.truncate(100 * 1000 * 1000)  # sparse: 100 MB long, nothing written
    folder = tmp / "a-folder.attn"
    folder.mkdir()
    fifo = tmp / "a-pipe.attn"
    os.mkfifo(fifo)  # reading it would wait forever
    loop = tmp / "loop.attn"
    loop.symlink_to(loop)
    odd = tmp / "two\nlines.attn"
    odd.write_bytes(b"{")
    doc = FUZZ_MODULE.base_doc()
    huge = tmp / "huge-arrays.attn"  # ~12 MB of rows that fit no token
    huge.write_text(json.dumps({**doc, "embeddings": {"tokens": ["the", "cat", "sat"],
                                                      "rows": [[0.5] * 8] * 200_000}}))
    return [big, folder, fifo, loop, odd, huge, tmp / "missing.attn"]


def make_work(window, qtbot, rng: random.Random) -> None:
    """Some work of the user's: a sentence, a cell, a setting, a direct K, maybe a lesson."""
    s = window.studio
    s.set_sentence(rng.choice(("my own words", "the cat sat on the mat", "dog bites man today")))
    s.set_weight_cell(0, 0, "w_q", rng.randrange(4), rng.randrange(4), rng.choice((0.25, -1.5, 2.0)))
    s.set_setting(temperature=rng.choice((0.5, 1.0, 2.0)))
    if rng.random() < 0.5:
        s.set_direct(0, 0, "k", np.full((len(s.tokens()), s.settings.d_k), 0.125))
    s.apply(stage=rng.choice(("scores", "weights", "heads")))
    if rng.random() < 0.25:
        window.lesson_player.open_lesson(rng.choice(("causal", "temperature", "multi-head")))
    settle(qtbot, window)


def assert_responsive(window, qtbot) -> None:
    """The window still steps on a key and recomputes an edit, showing the fresh numbers."""
    studio = window.studio
    central = window.centralWidget()
    central.setFocus()
    qtbot.keyClick(central, Qt.Key.Key_End)
    if studio.lesson is None:
        assert studio.stage == "heads"
    else:
        assert studio.step_index == len(studio.lesson.steps) - 1
    window.studio.set_setting(temperature=3.0)
    tr = settle(qtbot, window)
    fresh = run(window.studio.inputs())
    np.testing.assert_array_equal(np.asarray(tr.head().weights), np.asarray(fresh.head().weights))


def test_malformed_workspaces_never_touch_the_open_work(window, qtbot, tmp_path):
    rng = random.Random(1444)
    doc = window.document
    make_work(window, qtbot, rng)
    files = list(FUZZ_MODULE.CORPUS)
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    paths: list[Path] = []
    for i, (_kind, data) in enumerate(files):
        path = corpus_dir / f"{i:04d}.attn"
        path.write_bytes(data)
        paths.append(path)
    paths += path_files(tmp_path)
    assert len(paths) >= 200
    refused = 0
    for i, path in enumerate(paths):
        if i % 150 == 149:  # new work now and then, and a check that the window still works
            assert_responsive(window, qtbot)
            make_work(window, qtbot, rng)
        before, title, modified = window.studio.snapshot(), window.windowTitle(), doc.modified
        steps, shown = window.undo.stack.count(), window.trace
        doc.last_error = ""
        kind = files[i][0] if i < len(files) else path.name
        assert not doc.open_path(path), f"{kind}: opened"
        refused += 1
        assert window.studio.snapshot() is before, f"{kind}: the work changed"
        assert window.windowTitle() == title and doc.modified == modified, f"{kind}: the title changed"
        assert window.undo.stack.count() == steps, f"{kind}: the undo steps changed"
        assert window.trace is shown, f"{kind}: the screen changed"
        message = doc.last_error
        name = str(path).replace("\n", " ")  # a line break in the name is written as a space
        assert message.startswith(name), f"{kind}: the message does not name the file: {message!r}"
        assert "\n" not in message and len(message) < 1200 + len(name), f"{kind}: not one line: {message!r}"
        assert window.statusBar().currentMessage() == message, f"{kind}: not on the status bar"
    assert refused == len(paths)
    assert_responsive(window, qtbot)
    print(f"malformed workspaces refused in the window: {refused} ({len(files)} from the fuzz corpus)")


def test_damaged_files_that_still_load_open_cleanly(window, qtbot, tmp_path):
    """A random JSON value put at a random place in a valid workspace: either refused as above,
    or opened with the window showing exactly what it computes (no exception between the
    file and the screen: a snapshot the reader accepts that the model refuses would escape
    open_path)."""
    rng = random.Random(7)
    doc = window.document
    base = FUZZ_MODULE.base_doc()
    where = [p for p, _ in FUZZ_MODULE.paths(base)]
    values = (None, True, False, 0, 1, 2, -1, 0.5, 3.0, 1e-300, "", "x", "scores", "light", "dark", [], [[]], {},
              "seeded", [[0.0]], 8, 64)
    opened = 0
    for k in range(150):
        path = tmp_path / f"damaged-{k}.attn"
        path.write_bytes(FUZZ_MODULE.text_of(FUZZ_MODULE.replaced(base, rng.choice(where), rng.choice(values))))
        before = window.studio.snapshot()
        if doc.open_path(path):
            opened += 1
            tr = settle(qtbot, window)
            fresh = run(window.studio.inputs())
            assert tr.tokens == fresh.tokens and tr.settings == fresh.settings
            np.testing.assert_array_equal(np.asarray(tr.layers[-1].output), np.asarray(fresh.layers[-1].output))
            assert window.windowTitle() == f"{path.name} — Attention Studio"
        else:
            assert window.studio.snapshot() is before and doc.last_error.startswith(str(path))
    assert opened > 0, "no damaged file loaded: the sample says nothing about that path"
    print(f"damaged workspaces that still load, opened in the window: {opened} of 150")
