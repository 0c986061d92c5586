"""Whether the window has a display to open on, asked before Qt is: Qt's xcb platform
aborts the whole process (status 134, a core dump) when DISPLAY is unset or names an X
server that does not answer, so a person would get a crash instead of a sentence.

No Qt here: this runs before PySide6 is imported, and chooses the platform for headless
commands (export, the self-test) while the choice is still open.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Mapping

PLATFORM = "QT_QPA_PLATFORM"
# DISPLAY = [host]:number[.screen]; "unix" or no host is the local socket.
_X_DISPLAY = re.compile(r"^(?P<host>[^:]*):(?P<number>\d+)(?:\.\d+)?$")


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """None when the window can open (or when we cannot tell: Qt decides), else why not, one line.

    Only Linux without an explicit ``QT_QPA_PLATFORM`` is checked; a display that answers on
    its socket (Wayland or X) counts as usable.
    """
    env = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux") or env.get(PLATFORM):
        return None
    wayland, x_display = env.get("WAYLAND_DISPLAY", ""), env.get("DISPLAY", "")
    if not wayland and not x_display:
        return ("there is no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset); "
                "trace and export work without one, or set QT_QPA_PLATFORM=offscreen")
    if wayland and _wayland_answers(wayland, env):
        return None
    if x_display and _x_answers(x_display):
        return None
    shown = f"DISPLAY={x_display}" if x_display else f"WAYLAND_DISPLAY={wayland}"
    return (f"cannot reach the display {shown}: nothing answers there; trace and export work "
            f"without one, or set QT_QPA_PLATFORM=offscreen")


def use_offscreen_unless_chosen() -> None:
    """For commands that draw without showing a window: offscreen, unless the user chose a platform."""
    os.environ.setdefault(PLATFORM, "offscreen")


def _connects(family: int, address: object) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        try:
            s.connect(address)
        except OSError:
            return False
    return True


def _wayland_answers(name: str, env: Mapping[str, str]) -> bool:
    path = name if name.startswith("/") else os.path.join(env.get("XDG_RUNTIME_DIR", ""), name)
    return bool(env.get("XDG_RUNTIME_DIR") or name.startswith("/")) and _connects(socket.AF_UNIX, path)


def _x_answers(display: str) -> bool:
    m = _X_DISPLAY.match(display)
    if m is None:
        return True  # a form we do not know (a launchd path, …): let Qt try it
    host, number = m.group("host"), int(m.group("number"))
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        # The socket file, or Linux's abstract socket of the same name (servers open both;
        # a container may share only one of them).
        return _connects(socket.AF_UNIX, path) or _connects(socket.AF_UNIX, "\0" + path)
    try:  # a TCP display (ssh -X forwards localhost:10): X servers listen on 6000 + number
        socket.create_connection((host, 6000 + number), timeout=2.0).close()
    except OSError:
        return False
    return True
