"""Without a usable display the window says so in one line (Qt would abort the process),
and the headless commands draw offscreen whatever DISPLAY says. The display is controlled:
the environment is passed in, and "answering" servers are sockets opened here."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from attnstudio.qt.display_check import display_problem

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = ":4711"  # an X display number nothing on a test machine serves


def headless_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


@pytest.fixture
def x_server() -> Iterator[str]:
    """A DISPLAY whose socket answers (Linux's abstract X socket, so no file is made)."""
    number = 4000 + os.getpid() % 1000
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(f"\0/tmp/.X11-unix/X{number}")
        s.listen(1)
        yield f":{number}.0"


def test_no_display_at_all_is_named() -> None:
    problem = display_problem({}, platform="linux")
    assert problem is not None and "no display" in problem and "QT_QPA_PLATFORM=offscreen" in problem


def test_a_display_nothing_answers_is_named() -> None:
    problem = display_problem({"DISPLAY": NOWHERE}, platform="linux")
    assert problem is not None and f"cannot reach the display DISPLAY={NOWHERE}" in problem
    assert "\n" not in problem


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux's")
def test_a_display_that_answers_is_usable(x_server: str) -> None:
    assert display_problem({"DISPLAY": x_server}, platform="linux") is None


def test_a_tcp_display_that_answers_is_usable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        if port < 6000:
            pytest.skip("the system gave a port below X's 6000")
        assert display_problem({"DISPLAY": f"127.0.0.1:{port - 6000}"}, platform="linux") is None
    assert display_problem({"DISPLAY": f"127.0.0.1:{port - 6000}"}, platform="linux") is not None


def test_a_chosen_platform_or_another_system_is_not_second_guessed() -> None:
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, platform="linux") is None
    assert display_problem({}, platform="darwin") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is Linux's")
@pytest.mark.parametrize("display", [None, NOWHERE])
def test_the_window_without_a_display_is_one_line_and_exit_2(display: str | None) -> None:
    env = headless_env(**({} if display is None else {"DISPLAY": display}))
    proc = subprocess.run([sys.executable, "-m", "attnstudio"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("attnstudio: error: ") and proc.stderr.count("\n") == 1, proc.stderr


def test_export_draws_offscreen_whatever_display_says(tmp_path: Path) -> None:
    out = tmp_path / "weights.png"
    proc = subprocess.run([sys.executable, "-m", "attnstudio", "export", "--sentence", "the cat sat",
                           "--stage", "weights", "--out", str(out)],
                          env=headless_env(DISPLAY=NOWHERE), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0


def test_the_self_test_chooses_offscreen_when_the_display_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from attnstudio.qt.selftest import _choose_platform

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", NOWHERE)
    _choose_platform()
    assert os.environ.get("QT_QPA_PLATFORM") == ("offscreen" if sys.platform.startswith("linux") else None)
