"""Recovery files: unsaved work written aside, so that a killed app loses (almost) nothing.

A recovery file is an ordinary workspace (``recovery-<pid>-<token>.attn``, the format of
``studio.workspace``, so ``attnstudio PATH`` opens it too) beside a small sidecar
``<same name>.json`` that names the document it belongs to, and a lock file
``<same name>.lock`` that the running app holds with an operating-system lock (``flock`` /
``LockFileEx``). The system drops such a lock when its process ends however it ends, so:

- a file whose lock can be taken belongs to nobody (its app was killed): offer to restore it;
- a file whose lock cannot be taken belongs to a running app: never offered, never removed.

Folder, timing and dialogs are the window's business (``qt/recovery.py``); this module is
the files alone, without Qt. docs/architecture.md, "Keeping the work", tells the whole path.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from attnstudio.studio import workspace
from attnstudio.studio.snapshot import Snapshot

__all__ = ["PREFIX", "Lock", "RecoveryEntry", "entries", "new_name", "read_entry", "remove", "write"]

PREFIX = "recovery-"
SIDECAR = ".json"
LOCK = ".lock"
SENTENCE_SHOWN = 60  # characters of the sentence a listing shows


@dataclass(frozen=True)
class RecoveryEntry:
    """One recovery file as a listing shows it; ``problem`` says why it cannot be read."""

    path: Path
    saved_at: float  # seconds since the epoch (the file's modification time)
    sentence: str
    document: str | None  # the workspace file the work came from; None when it was untitled
    in_use: bool  # a running app holds it
    problem: str | None = None

    def line(self) -> str:
        """``PATH  2026-12-01 23:41:07  "the cat sat…"  (document: lecture.attn)``, one line."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.saved_at))
        text = " ".join(self.sentence.split())
        if len(text) > SENTENCE_SHOWN:
            text = text[: SENTENCE_SHOWN - 1] + "…"
        parts = [str(self.path), when, json.dumps(text, ensure_ascii=False)]
        if self.document:
            parts.append(f"(from {self.document})")
        if self.in_use:
            parts.append("(in use by a running attnstudio)")
        if self.problem:
            parts.append(f"(cannot be read: {self.problem})")
        return "  ".join(parts)


def new_name() -> str:
    """A recovery file name no other running app uses: the process id and a random token."""
    return f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}{workspace.SUFFIX}"


def _companion(path: Path, suffix: str) -> Path:
    return path.with_suffix(suffix)


class Lock:
    """An exclusive, non-blocking operating-system lock on ``path`` (created if missing).

    Held while this object is open: ``acquire`` says whether it got it; the system releases
    it when the process dies, however it dies. Two Locks on one file in one process also
    exclude each other (a lock belongs to an open file, not to the process).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fh: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._fh is not None

    def acquire(self) -> bool:
        if self._fh is not None:
            return True
        try:
            fh = open(self.path, "a+b")  # noqa: SIM115  (kept open: the lock lives with it)
        except OSError:
            return False
        if not _try_lock(fh):
            fh.close()
            return False
        self._fh = fh
        with contextlib.suppress(OSError):
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n".encode())
            fh.flush()
        return True

    def release(self, delete: bool = False) -> None:
        """Let go; ``delete`` also removes the lock file (while still holding it, so no other
        app can take it in between)."""
        if self._fh is None:
            return
        if delete:
            with contextlib.suppress(OSError):
                self.path.unlink()
        with contextlib.suppress(OSError):
            self._fh.close()
        self._fh = None


def _try_lock(fh: IO[bytes]) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def in_use(path: Path) -> bool:
    """Whether a running app holds the recovery file at ``path`` (tries its lock, lets go)."""
    lock_path = _companion(path, LOCK)
    if not lock_path.exists():
        return False
    probe = Lock(lock_path)
    if probe.acquire():
        probe.release()
        return False
    return True


def write(snap: Snapshot, path: Path, document: str | None) -> None:
    """Write the work in ``snap`` to the recovery file ``path`` whole or not at all, then its
    sidecar. Raises WorkspaceError (the work cannot be written) or OSError (the disk)."""
    workspace.save(snap, path)
    side = _companion(path, SIDECAR)
    tmp = Path(f"{side}.saving")
    tmp.write_text(json.dumps({"document": document, "pid": os.getpid()}), encoding="utf-8")
    os.replace(tmp, side)


def remove(path: Path) -> None:
    """Remove a recovery file, its sidecar and any half-written temporary of either (not its
    lock: whoever holds it releases it)."""
    side = _companion(path, SIDECAR)
    for p in (path, side, Path(f"{path}.saving"), Path(f"{side}.saving")):
        with contextlib.suppress(OSError):
            p.unlink()


def _sidecar(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_companion(path, SIDECAR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_entry(path: Path, check_lock: bool = True) -> RecoveryEntry:
    """What a listing says of ``path``: its time and sentence, read without building the work
    (a large model's file lists as fast as a small one's)."""
    path = Path(path)
    document = _sidecar(path).get("document")
    document = document if isinstance(document, str) and document else None
    busy = in_use(path) if check_lock else False
    try:
        saved_at = path.stat().st_mtime
        size = path.stat().st_size
        if size > workspace.MAX_BYTES:
            raise ValueError(f"{size:,} bytes, more than a workspace may hold")
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
        sentence = doc.get("sentence") if isinstance(doc, dict) else None
        if not isinstance(sentence, str):
            raise ValueError("it holds no sentence")
    except (OSError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return RecoveryEntry(path, _mtime(path), "", document, busy, reason.splitlines()[0] if reason else "unreadable")
    return RecoveryEntry(path, saved_at, sentence, document, busy)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def entries(folder: Path) -> list[RecoveryEntry]:
    """Every recovery file in ``folder``, newest first; an absent folder has none."""
    try:
        paths = [p for p in Path(folder).iterdir()
                 if p.name.startswith(PREFIX) and p.suffix == workspace.SUFFIX and p.is_file()]
    except OSError:
        return []
    found = [read_entry(p) for p in paths]
    return sorted(found, key=lambda e: e.saved_at, reverse=True)
