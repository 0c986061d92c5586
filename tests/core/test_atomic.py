"""Files are written whole or not at all: a writer that fails, a full disk or ``ulimit -f``
leaves neither a partial file nor a temporary one, and the old file stays as it was."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from attnstudio.core.atomic import ExportError, write_atomic, write_bytes

ROOT = Path(__file__).resolve().parents[2]


def test_writes_whole_files_with_ordinary_permissions(tmp_path):
    target = tmp_path / "m.csv"
    write_bytes(target, b"1,2\n")
    assert target.read_bytes() == b"1,2\n"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert os.listdir(tmp_path) == ["m.csv"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "slides.pdf"
    target.write_bytes(b"old")

    def half(tmp):
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match=r"slides.pdf: the disk is full"):
        write_atomic(target, half)
    with pytest.raises(ExportError, match="nothing was written"):
        write_atomic(target, lambda tmp: None)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["slides.pdf"]


@pytest.mark.parametrize(("path", "says"), [("", "empty"), ("  ", "empty"), (".", "is a folder"),
                                             ("no/such/dir/f.csv", "does not exist")])
def test_bad_targets_are_refused_before_writing(tmp_path, monkeypatch, path, says):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExportError, match=says):
        write_bytes(path, b"x")
    assert os.listdir(tmp_path) == []


def test_ulimit_f_gives_an_error_and_no_file(tmp_path):
    """A process allowed 50 blocks of 512 bytes (as `ulimit -f 50`) writing 1 MB."""
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (50 * 512, 50 * 512))
        from attnstudio.core.atomic import ExportError, write_bytes
        try:
            write_bytes({str(tmp_path / "big.npy")!r}, b"x" * 1_000_000)
        except ExportError as exc:
            print(exc)
            sys.exit(2)
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert run.returncode == 2, run.stderr
    assert "larger than the system allows" in run.stdout
    assert os.listdir(tmp_path) == []
