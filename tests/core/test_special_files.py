"""An export onto a device, pipe or socket is refused, not done by renaming a regular file
over it: as root that replaced /dev/full (or /dev/null) for every program. A FIFO made here
stands in for the device, so a regression cannot damage the machine running the tests."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from attnstudio.core.atomic import ExportError, write_bytes

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def test_writing_onto_a_pipe_is_refused_and_the_pipe_is_kept(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match=r"^cannot write .*pipe: it is a device, pipe or socket, not a file$"):
        write_bytes(fifo, b"1,2\n")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no temporary file left behind
