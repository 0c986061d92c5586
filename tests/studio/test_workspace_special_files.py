"""Saving a workspace onto a pipe (standing in for a device such as /dev/null) is refused;
the rename would have replaced it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def test_saving_a_workspace_onto_a_pipe_is_refused(tmp_path: Path) -> None:
    from attnstudio.studio import StudioModel
    from attnstudio.studio.workspace import WorkspaceError, save

    fifo = tmp_path / "work.attn"
    os.mkfifo(fifo)
    with pytest.raises(WorkspaceError, match="it is a device, pipe or socket, not a file"):
        save(StudioModel("a b").snapshot(), fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
