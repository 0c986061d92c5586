"""Files written whole or not at all: every export goes through here.

A writer fills a temporary file next to the target (same folder, so the rename cannot
cross file systems) and only a complete, non-empty file is renamed over the target with
``os.replace``. Any failure on the way (a full disk, ``ulimit -f``, a writer that reports
an error) removes the temporary file and raises ``ExportError`` with one line naming the
file and the reason, so a lecturer never finds a half-written slide deck that looks whole.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from attnstudio.core.errors import AttnStudioError


class ExportError(AttnStudioError):
    """A file could not be written (whole); the message names the file and why."""


def check_target(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path when it names a file we could create, else ExportError.

    An empty name is refused rather than read as the current folder, and an existing
    device, pipe or socket rather than replaced by a file.
    """
    text = os.fspath(path)
    if not str(text).strip():
        raise ExportError("the output path is empty: give a file name")
    target = Path(text)
    if target.is_dir():
        raise ExportError(f"{target} is a folder: give a file name")
    if target.exists() and not target.is_file():
        # The rename would put a regular file in place of the device (as root, /dev/null
        # or /dev/full would be gone for every program), and a pipe's reader would get nothing.
        raise ExportError(f"cannot write {target}: it is a device, pipe or socket, not a file")
    folder = target.parent
    if not folder.is_dir():
        raise ExportError(f"cannot write {target}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {target}: the folder {folder} is not writable")
    return target


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        if exc.errno == errno.EFBIG:
            return "the file is larger than the system allows (ulimit -f)"
        if exc.errno == errno.ENOSPC:
            return "the disk is full"
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__


@contextmanager
def temporary_beside(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary path in ``path``'s folder; on a clean exit rename it over
    ``path`` (it must exist and be non-empty), on any exception remove it.

    For writers that want a file name (QPdfWriter, QSvgGenerator, QImage.save); they must
    close the file before the block ends.
    """
    target = check_target(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.stat().st_size == 0:
            raise ExportError(f"cannot write {target}: nothing was written")
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary new file, not mkstemp's 0600
        os.replace(tmp, target)
    except ExportError:
        _remove(tmp)
        raise
    except (OSError, ValueError, RuntimeError) as exc:
        _remove(tmp)
        raise ExportError(f"cannot write {target}: {_reason(exc)}") from None
    except BaseException:
        _remove(tmp)
        raise


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary_path)`` and put the result at ``path`` whole; returns ``path``."""
    with temporary_beside(path) as tmp:
        write(tmp)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` whole or not at all (flushed to disk before the rename)."""

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    return write_atomic(path, _write)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(tmp: Path) -> None:
    with suppress(FileNotFoundError):
        tmp.unlink()
