"""Recovery files without Qt: written whole, listed with time and sentence, locked by their owner.

The lock is an operating-system lock: a test process holds one and the file is "in use";
a child process that took one and was killed with SIGKILL leaves it free.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from attnstudio.studio import recovery, workspace
from attnstudio.studio.model import StudioModel
from attnstudio.studio.recovery import Lock
from attnstudio.studio.snapshot import WORK_FIELDS, same


def edited_work():
    model = StudioModel("the cat sat on the mat")
    model.set_weight_cell(0, 0, "w_q", 1, 2, 0.625)
    return model.snapshot()


def test_write_then_read_gives_the_work_back_exactly(tmp_path: Path) -> None:
    snap = edited_work()
    path = tmp_path / recovery.new_name()
    recovery.write(snap, path, "/home/me/lecture.attn")
    back = workspace.load(path)  # a recovery file is an ordinary workspace
    for f in WORK_FIELDS:
        assert same(getattr(back, f), getattr(snap, f)), f
    assert back.weights.layers[0].heads[0].w_q[1, 2] == 0.625
    entry = recovery.read_entry(path)
    assert entry.sentence == "the cat sat on the mat"
    assert entry.document == "/home/me/lecture.attn"
    assert not entry.in_use and entry.problem is None
    assert abs(entry.saved_at - time.time()) < 60
    line = entry.line()
    assert line.startswith(str(path)) and '"the cat sat on the mat"' in line and "lecture.attn" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, path.with_suffix(".json").name])


def test_names_differ_and_name_this_process() -> None:
    names = {recovery.new_name() for _ in range(50)}
    assert len(names) == 50
    assert all(n.startswith(f"recovery-{os.getpid()}-") and n.endswith(".attn") for n in names)


def test_entries_newest_first_and_unreadable_ones_listed_with_the_reason(tmp_path: Path) -> None:
    old, new = tmp_path / "recovery-1-a.attn", tmp_path / "recovery-2-b.attn"
    recovery.write(StudioModel("old words").snapshot(), old, None)
    recovery.write(StudioModel("new words").snapshot(), new, None)
    os.utime(old, (time.time() - 100, time.time() - 100))
    (tmp_path / "recovery-3-c.attn").write_bytes(b"\x00\xff not json")
    (tmp_path / "unrelated.attn").write_text("{}")
    found = recovery.entries(tmp_path)
    assert [e.path.name for e in found[:2]] == ["recovery-3-c.attn", "recovery-2-b.attn"]
    assert found[-1].sentence == "old words"
    assert len(found) == 3  # only recovery-*.attn
    bad = found[0]
    assert bad.problem and "cannot be read" in bad.line()
    assert recovery.entries(tmp_path / "absent") == []


def test_a_long_sentence_lists_on_one_short_line(tmp_path: Path) -> None:
    path = tmp_path / "recovery-1-a.attn"
    recovery.write(StudioModel("word\n" * 500).snapshot(), path, None)
    line = recovery.read_entry(path).line()
    assert "\n" not in line and len(line) < len(str(path)) + 120 and "…" in line


def test_remove_takes_the_file_its_sidecar_and_half_written_temporaries(tmp_path: Path) -> None:
    path = tmp_path / "recovery-1-a.attn"
    recovery.write(StudioModel().snapshot(), path, None)
    Path(f"{path}.saving").write_text("half")
    recovery.remove(path)
    assert list(tmp_path.iterdir()) == []


def test_a_lock_excludes_a_second_lock_even_in_one_process(tmp_path: Path) -> None:
    path = tmp_path / "recovery-1-a.attn"
    recovery.write(StudioModel().snapshot(), path, None)
    owner = Lock(path.with_suffix(".lock"))
    assert owner.acquire()
    assert recovery.read_entry(path).in_use
    assert not Lock(path.with_suffix(".lock")).acquire()
    owner.release()
    assert not recovery.read_entry(path).in_use
    other = Lock(path.with_suffix(".lock"))
    assert other.acquire()
    other.release(delete=True)
    assert not path.with_suffix(".lock").exists()


HOLDER = """
import sys, time
from pathlib import Path
from attnstudio.studio.recovery import Lock
lock = Lock(Path(sys.argv[1]))
print("held" if lock.acquire() else "refused", flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_a_killed_owner_leaves_its_file_free_a_living_one_does_not(tmp_path: Path) -> None:
    path = tmp_path / "recovery-1-a.attn"
    recovery.write(StudioModel("kept across a kill").snapshot(), path, None)
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path.with_suffix(".lock"))],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        assert recovery.read_entry(path).in_use  # alive: never offered, never removed
        assert not Lock(path.with_suffix(".lock")).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    entry = recovery.read_entry(path)
    assert not entry.in_use and entry.sentence == "kept across a kill"
    assert json.loads(path.with_suffix(".json").read_text())["document"] is None
