"""Autosave in the window: unsaved work is written aside, saving or closing removes it, and
two windows never touch each other's files. (A killed process: test_recovery_process.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from studio_helpers import settle

from attnstudio.qt.recovery import DEFAULT_INTERVAL_S, INTERVAL_ENV, interval_s
from attnstudio.studio import workspace
from attnstudio.studio.snapshot import WORK_FIELDS, same


@pytest.fixture
def folder(window, tmp_path: Path) -> Path:
    """The window's recovery folder, moved to this test's tmp_path, with a 0.1 s interval."""
    window.recovery.folder = tmp_path / "recovery"
    window.recovery.set_interval(0.1)
    return window.recovery.folder


def recovery_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("recovery-*.attn")) if folder.exists() else []


def same_work(a, b) -> bool:
    return all(same(getattr(a, f), getattr(b, f)) for f in WORK_FIELDS)


def test_unsaved_edits_are_written_aside_and_saving_removes_them(window, qtbot, folder, tmp_path):
    assert recovery_files(folder) == []  # nothing to keep yet: nothing written
    window.studio.set_sentence("the lecture example")
    window.studio.set_weight_cell(0, 0, "w_q", 0, 1, 0.25)
    qtbot.waitUntil(lambda: window.recovery.writes >= 1, timeout=5000)
    (path,) = recovery_files(folder)
    assert path == window.recovery.path and path.with_suffix(".lock").exists()
    assert same_work(workspace.load(path), window.studio.snapshot())

    window.studio.set_weight_cell(0, 0, "w_q", 0, 1, 0.5)  # a later edit: the file follows
    qtbot.waitUntil(lambda: workspace.load(path).weights.layers[0].heads[0].w_q[0, 1] == 0.5, timeout=5000)

    assert window.document.save_to(tmp_path / "kept.attn")
    assert recovery_files(folder) == []
    window.studio.set_sentence("edited after saving")
    qtbot.waitUntil(lambda: len(recovery_files(folder)) == 1, timeout=5000)
    window.undo.stack.undo()  # back to what is saved: nothing unsaved, nothing aside
    qtbot.waitUntil(lambda: recovery_files(folder) == [], timeout=5000)


def test_continuous_editing_is_written_at_the_interval_not_only_when_idle(window, qtbot, folder):
    window.recovery.set_interval(0.3)
    window.recovery._idle.setInterval(60_000)  # never idle: only the interval can write
    for i in range(30):
        window.studio.set_weight_cell(0, 0, "w_k", 0, 0, 0.01 * i)
        qtbot.wait(30)
        if window.recovery.writes:
            break
    assert window.recovery.writes >= 1, "an edit every 30 ms for 0.9 s was never written aside"


def test_a_clean_close_removes_the_file_and_its_lock(window, qtbot, folder):
    window.studio.set_sentence("about to close")
    qtbot.waitUntil(lambda: window.recovery.writes >= 1, timeout=5000)
    path = window.recovery.path
    window.close()
    assert not path.exists() and not path.with_suffix(".lock").exists() and not path.with_suffix(".json").exists()


def test_a_lesson_open_keeps_the_users_own_work_aside(window, qtbot, folder):
    window.studio.set_sentence("my own sentence")
    window.lesson_player.open_lesson("it-cat")
    settle(qtbot, window)
    window.recovery.write_now(wait=True)
    assert workspace.load(window.recovery.path).sentence == "my own sentence"


def test_two_windows_never_offer_or_remove_each_others_files(window, qtbot, folder):
    from studio_helpers import make_window

    other = make_window(qtbot)
    other.recovery.folder = folder
    window.studio.set_sentence("first window's work")
    assert window.recovery.write_now(wait=True)
    other.studio.set_sentence("second window's work")
    assert other.recovery.write_now(wait=True)
    assert len(recovery_files(folder)) == 2
    assert other.recovery.orphans() == [] and window.recovery.orphans() == []
    other.close()
    assert recovery_files(folder) == [window.recovery.path]


def test_restore_makes_the_work_the_windows_unsaved_and_tied_to_its_file(window, qtbot, folder, tmp_path):
    from attnstudio.studio import recovery
    from attnstudio.studio.model import StudioModel

    doc = tmp_path / "lecture.attn"
    workspace.save(StudioModel("saved at home").snapshot(), doc)
    orphan = folder / "recovery-1-dead.attn"
    folder.mkdir(parents=True)
    recovery.write(StudioModel("edited after the save").snapshot(), orphan, str(doc))
    ((entry, lock),) = window.recovery.orphans()
    assert entry.path == orphan
    assert window.recovery.restore(entry, lock)
    assert window.studio.sentence == "edited after the save"
    assert window.document.path == doc and window.document.modified
    assert window.windowTitle().startswith("lecture.attn •")
    assert not orphan.exists() and not orphan.with_suffix(".lock").exists()
    window.recovery.write_now(wait=True)  # the restored, unsaved work is this window's to keep now
    assert recovery_files(folder) == [window.recovery.path]


def test_a_folder_that_cannot_be_made_is_one_message_and_the_work_stays(window, qtbot, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the data folder should be")
    window.recovery.folder = blocker / "recovery"
    window.studio.set_sentence("still here")
    assert not window.recovery.write_now(wait=True)
    assert str(blocker) in window.recovery.last_error and window.studio.sentence == "still here"
    assert str(blocker) in window.statusBar().currentMessage()


def test_a_file_that_cannot_be_written_is_told_once_and_the_work_stays(window, qtbot, folder, monkeypatch):
    from attnstudio.studio import recovery

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(recovery, "write", full)
    window.studio.set_sentence("a full disk")
    window.recovery.write_now(wait=True)
    assert window.recovery.last_error == "[Errno 28] No space left on device"
    assert "No space left" in window.statusBar().currentMessage()
    assert window.studio.sentence == "a full disk" and recovery_files(folder) == []


def test_the_interval_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "2.5")
    assert interval_s() == 2.5
    for bad in ("", "soon", "-1", "0", "nan", "1e9"):
        monkeypatch.setenv(INTERVAL_ENV, bad)
        assert interval_s() == DEFAULT_INTERVAL_S, bad
