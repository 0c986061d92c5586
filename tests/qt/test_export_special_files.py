"""`attnstudio export --out` onto a pipe (standing in for a device such as /dev/full) is
refused in one line; the pipe stays."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def test_export_onto_a_pipe_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from attnstudio.cli import main

    fifo = tmp_path / "weights.csv"
    os.mkfifo(fifo)
    code = main(["export", "--sentence", "a b", "--matrix", "weights", "--out", str(fifo)])
    err = capsys.readouterr().err
    assert code == 2 and "it is a device, pipe or socket, not a file" in err and err.count("\n") == 1
    assert stat.S_ISFIFO(fifo.stat().st_mode)
