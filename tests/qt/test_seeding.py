"""SeedGate: changes that need many new seeded matrices wait for a worker thread, in order."""

from __future__ import annotations

import threading

import pytest

from attnstudio.core import seeded
from attnstudio.core.settings import Settings
from attnstudio.core.weights import SEEDED_LAYERS, Weights
from attnstudio.qt.seeding import AT_ONCE_VALUES, SeedGate

SMALL = Settings(d_model=8, heads=2, layers=1, seed=5)
LARGE = Settings(d_model=256, heads=4, layers=2, seed=5)  # 524,288 values: a worker's job


@pytest.fixture
def gate(qtbot):
    SEEDED_LAYERS.clear()
    g = SeedGate()
    yield g
    g.wait()


def settle(qtbot, gate: SeedGate) -> None:
    qtbot.waitUntil(lambda: not gate.busy, timeout=30_000)


def test_small_changes_run_at_once_and_large_ones_after_a_worker_seeded(gate, qtbot, monkeypatch):
    assert Weights.unseeded_values(SMALL) <= AT_ONCE_VALUES < Weights.unseeded_values(LARGE)
    threads: set[str] = set()
    uniform = seeded.uniform
    monkeypatch.setattr(seeded, "uniform",
                        lambda *a, **k: threads.add(threading.current_thread().name) or uniform(*a, **k))
    ran: list[str] = []
    assert gate.run("small", lambda: [SMALL], lambda: ran.append("small"))
    assert ran == ["small"] and not gate.busy
    busy: list[bool] = []
    gate.busy_changed.connect(busy.append)
    assert not gate.run("large", lambda: [LARGE], lambda: ran.append("large"))
    assert ran == ["small"] and gate.busy and gate.seeding == (LARGE,)
    settle(qtbot, gate)
    assert ran == ["small", "large"] and busy == [True, False]
    assert Weights.unseeded_values(LARGE) == 0
    assert "attnstudio-seed" in threads  # the large set was hashed on the worker thread


def test_changes_keep_their_order_and_a_newer_one_replaces_a_waiting_one_with_its_key(gate, qtbot):
    ran: list[str] = []
    gate.run("seed", lambda: [LARGE], lambda: ran.append("seed 5"))
    gate.run("view", lambda: [SMALL], lambda: ran.append("view"))  # small, but waits its turn
    gate.run("seed", lambda: [LARGE.with_(seed=6)], lambda: ran.append("seed 6"))
    gate.run("gone", lambda: [SMALL], lambda: ran.append("gone"))
    gate.drop("gone")
    assert ran == []
    settle(qtbot, gate)
    assert ran == ["view", "seed 6"]
    assert Weights.unseeded_values(LARGE.with_(seed=6)) == 0


def test_what_a_change_needs_is_asked_when_its_turn_comes(gate, qtbot):
    current = {"d_model": 8}
    ran: list[Settings] = []
    gate.run("d_model", lambda: [LARGE], lambda: current.update(d_model=256))
    # Asked for now, this would name d_model 8; asked when its turn comes, it names 256.
    need = lambda: [LARGE.with_(d_model=current["d_model"], heads=8)]  # noqa: E731
    gate.run("heads", need, lambda: ran.extend(need()))
    settle(qtbot, gate)
    assert ran == [LARGE.with_(heads=8)] and Weights.unseeded_values(ran[0]) == 0


def test_settings_the_model_refuses_reach_the_change_at_once(gate):
    said: list[str] = []
    bad = Settings(d_model=6, heads=4)  # not divisible: the change reports it
    assert gate.run("settings:heads", lambda: [bad], lambda: said.append("refused"))
    assert said == ["refused"] and not gate.busy
