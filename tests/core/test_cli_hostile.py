"""The command line against hostile input and a hostile environment, in real processes:
bytes that are not text, a full disk, a closed stdout, a reader that stops early. Each ends in one line on stderr and
exit status 2, never a traceback."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}


def attnstudio(*argv: str | bytes, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "attnstudio", *argv], env=kwargs.pop("env", ENV),
                          capture_output=kwargs.pop("capture_output", True), timeout=120, **kwargs)  # type: ignore[call-overload]


def one_line_error(proc: subprocess.CompletedProcess[bytes], after_progress: bool = False) -> str:
    """The error line; stderr must hold nothing else (bar bench's progress lines before it)."""
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "Traceback" not in err and "Exception" not in err and err.endswith("\n"), err
    lines = err.splitlines()
    assert len(lines) == 1 or after_progress, err
    assert lines[-1].startswith("attnstudio: error: "), err
    return lines[-1]


def test_an_argument_that_is_not_utf8_is_one_line() -> None:
    err = one_line_error(attnstudio("trace", b"the \xff cat"))
    assert "the sentence holds bytes that are not UTF-8 text: byte 0xff at character 5" in err


COMMANDS = (("trace", "a b"), ("lessons",), ("bench", "--sizes", "4", "--repeat", "1", "--d-k", "4"))


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_a_full_disk_is_one_line_not_a_traceback(argv: tuple[str, ...]) -> None:
    with open("/dev/full", "wb") as full:
        proc = attnstudio(*argv, stdout=full, stderr=subprocess.PIPE, capture_output=False)
    err = one_line_error(proc, after_progress=argv[0] == "bench")
    assert "cannot write to standard output: No space left on device" in err


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: a[0])
def test_a_closed_stdout_is_one_line_not_a_traceback_nor_silence(argv: tuple[str, ...]) -> None:
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "attnstudio", *argv))
    proc = subprocess.run(["bash", "-c", f"{command} >&-"], env=ENV, capture_output=True, timeout=120)
    assert "standard output is closed" in one_line_error(proc)


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    words = " ".join(["w"] * 200)
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "attnstudio", "trace", words, "--d-model", "64"))
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {command} | head -1 >/dev/null"], env=ENV,
                          capture_output=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == b""


def test_a_trace_too_large_for_memory_is_refused_at_once() -> None:
    """50,000 tokens in 8 layers of 64 heads need tens of TB: refused before allocating."""
    words = " ".join(["w"] * 50_000)
    proc = attnstudio("trace", words, "--layers", "8", "--heads", "64", "--d-model", "1024")
    err = one_line_error(proc)
    assert re.search(r"50,000 tokens × 8 layers × 64 heads needs ≈ [\d,.]+ GB; [\d,.]+ [kMG]?B available$", err), err


def test_an_error_with_stderr_closed_is_the_status_alone() -> None:
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "attnstudio", "trace", "  "))
    proc = subprocess.run(["bash", "-c", f"{command} 2>&-"], env=ENV, capture_output=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == b""
