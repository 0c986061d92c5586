"""The command line against hostile input and a hostile environment, in real processes:
bytes that are not text, a full disk, a closed stdout. Each ends in one line on stderr and
exit status 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}


def attnstudio(*argv: str | bytes, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "attnstudio", *argv], env=kwargs.pop("env", ENV),
                          capture_output=kwargs.pop("capture_output", True), timeout=120, **kwargs)  # type: ignore[call-overload]


def one_line_error(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "Traceback" not in err and err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("attnstudio: error: "), err
    return err


def test_an_argument_that_is_not_utf8_is_one_line() -> None:
    err = one_line_error(attnstudio("trace", b"the \xff cat"))
    assert "the sentence holds bytes that are not UTF-8 text: byte 0xff at character 5" in err
