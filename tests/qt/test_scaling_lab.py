"""The scaling lab: the benchmark runs off the UI thread, every row it sends becomes points
on the plots and numbers in the table (checked against numpy.polyfit and a count written
here), Cancel and closing stop it, a second Run cannot start, and the menu and the
quadratic-cost lesson open it."""

from __future__ import annotations

import math
import re
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt
from studio_helpers import make_window, settle

from attnstudio.core.bench import bench_rows, contenders
from attnstudio.core.scaling import FIT_FROM, TARGETS
from attnstudio.qt.scaling_panel import ScalingLab

UNIT_MS = {"ms": 1, "s": 1e3, "min": 60e3, "h": 3.6e6, "day": 86.4e6, "days": 86.4e6, "year": 3.15576e10,
           "years": 3.15576e10}


class Counted:
    """bench_rows as the lab calls it, counting what it yields and on which thread."""

    def __init__(self) -> None:
        self.yielded = 0
        self.threads: set[str] = set()

    def __call__(self, sizes, **kwargs):
        self.threads.add(threading.current_thread().name)
        for row in bench_rows(sizes, **kwargs):
            self.yielded += 1
            yield row


class RecordedLab(ScalingLab):
    """The lab, with how each run ended recorded from the start (a run may end while a test
    clicks, before it starts to wait)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ended: list[str] = []
        self.run_finished.connect(self.ended.append)


def make_lab(qtbot, rows=None, repeat: int = 1) -> RecordedLab:
    lab = RecordedLab(rows=rows, repeat=repeat)
    qtbot.addWidget(lab)
    lab.show()
    qtbot.waitExposed(lab)
    return lab


def finish(qtbot, lab: RecordedLab, timeout: int = 60_000) -> str:
    qtbot.waitUntil(lambda: bool(lab.ended), timeout=timeout)
    return lab.ended.pop(0)


def duration_ms(text: str) -> float:
    """'≈ 4.6 min' → 276,000: the number a cell shows, in ms."""
    m = re.fullmatch(r"≈ ([\d,.]+) (\w+)", text)
    assert m, text
    return float(m.group(1).replace(",", "")) * UNIT_MS[m.group(2)]


SIZES = [16, 32, 64, 128, 256, 512, 1024]


def test_rows_arrive_from_a_worker_thread_and_become_the_plotted_points(qtbot):
    counted = Counted()
    lab = make_lab(qtbot, counted)
    lab.set_largest(1024)
    arrived, totals = [], []
    lab.row_added.connect(arrived.append)
    lab.row_added.connect(lambda _row: totals.append(lab.progress.total))
    assert lab.run()
    assert finish(qtbot, lab) == ""
    assert counted.threads == {"attnstudio-scaling-lab"}  # not the UI thread
    # The count knows every contender from the start: no "5/7" turning into "5/14".
    assert set(totals) == {len(SIZES) * len(contenders()[0])}
    assert arrived == lab.rows
    # One curve per contender (numpy, and PyTorch's peers where installed), each N in turn.
    names = [c.name for c in contenders()[0]]
    assert [(r["n"], r["backend"]) for r in arrived] == [(n, b) for n in SIZES for b in names]
    for name in names:
        mine = [r for r in arrived if r["backend"] == name]
        label = f"{name} ({mine[0]['device']})"
        xs, ys = lab.time_plot.curves[label].getOriginalDataset()
        assert list(xs) == SIZES and list(ys) == [r["min_ms"] for r in mine]
        xs, ys = lab.memory_plot.curves[label].getOriginalDataset()
        assert list(xs) == SIZES and list(ys) == [r["trace_bytes"] for r in mine]
    total = len(SIZES) * len(names)
    assert lab.status.text() == f"done: {total} timings" and lab.bar.value() == lab.bar.maximum() == total
    assert lab.run_button.isEnabled() and not lab.cancel_button.isEnabled()


def test_the_tables_numbers_are_the_fit_of_the_rows_computed_here(qtbot):
    lab = make_lab(qtbot)
    lab.set_largest(2048)
    lab.run()
    assert finish(qtbot, lab) == ""
    big = [r for r in lab.rows if r["n"] >= FIT_FROM and r["backend"] == "numpy"]
    slope, intercept = np.polyfit(np.log10([r["n"] for r in big]), np.log10([r["min_ms"] for r in big]), 1)
    cells = [[lab.table.item(r, c).text() for c in range(lab.table.columnCount())]
             for r in range(lab.table.rowCount())]
    numpy_row, scores, memory = cells[0], cells[-2], cells[-1]  # PyTorch's rows, where installed, between
    assert len(cells) == 2 + len(contenders()[0])
    assert numpy_row[0] == "numpy (CPU)"
    assert float(numpy_row[2]) == pytest.approx(slope, abs=0.005 + 1e-9)
    for cell, n in zip(numpy_row[3:], TARGETS):
        # Two significant digits: within half a unit of the last digit shown.
        assert duration_ms(cell) == pytest.approx(10 ** (intercept + slope * math.log10(n)), rel=0.051)
    assert scores[3:] == ["1.7×10¹⁰", "4×10¹⁰"] and scores[1] == f"{2048 * 2048:,}"
    for cell, n in zip(memory[3:], TARGETS):
        trace = 4 * (8 * n * 64 + 4 * n * n + 2 * n + 4 * 64 * 64 + 3 * n * 64)  # float32, one head of 64
        assert cell.startswith(f"{round(trace / 1e9):,} GB")
        assert ("does not fit" in cell) == (trace + 12 * n * n > lab.available)
    header = [lab.table.horizontalHeaderItem(c).text() for c in range(lab.table.columnCount())]
    assert header[2] == f"fitted exponent\n(N ≥ {FIT_FROM})"
    xs, ys = lab.time_plot.extensions["numpy (CPU)"].getOriginalDataset()
    assert list(xs) == [512, *TARGETS]
    np.testing.assert_allclose(np.log10(ys), intercept + slope * np.log10(xs), atol=1e-9)


def test_cancel_stops_within_one_timing_and_no_row_comes_after_it(qtbot):
    counted = Counted()
    lab = make_lab(qtbot, counted, repeat=3)
    lab.set_largest(4096)
    seen = []
    at_cancel = []

    def on_row(row):
        seen.append(row)
        if len(seen) == 1:
            at_cancel.append(counted.yielded)
            lab.cancel()

    lab.row_added.connect(on_row)
    lab.run()
    assert lab.running and not lab.run_button.isEnabled()
    assert lab.run() is False  # a second run cannot start while one goes
    assert finish(qtbot, lab) == "cancelled"
    assert lab.worker.wait(5)
    assert len(seen) == len(lab.rows) == 1
    # The timings done by the time Cancel came, and at most the one under way then.
    assert counted.yielded - at_cancel[0] <= 1 and counted.yielded < 9
    # 16 … 4,096: 9 sizes, each timed on every contender (PyTorch's too, where installed)
    assert lab.status.text() == f"cancelled after 1 of {9 * len(contenders()[0])} timings"
    qtbot.wait(100)
    assert len(lab.rows) == 1 and lab.run_button.isEnabled()


def test_closing_the_lab_cancels_the_run(qtbot):
    counted = Counted()
    lab = make_lab(qtbot, counted, repeat=3)
    lab.set_largest(4096)
    lab.run()
    qtbot.waitUntil(lambda: len(lab.rows) >= 1, timeout=30_000)
    qtbot.keyClick(lab.windowHandle(), Qt.Key.Key_Escape)  # Esc closes it, as the close button does
    assert not lab.isVisible()
    assert lab.worker.cancelled
    assert finish(qtbot, lab) == "cancelled"
    assert counted.yielded < 9


def test_a_run_that_cannot_fit_says_so_and_times_nothing(qtbot, monkeypatch):
    monkeypatch.setattr("attnstudio.core.memory.available_bytes", lambda: 10**6)
    monkeypatch.setattr("attnstudio.core.memory.CHECK_ABOVE", 0)
    lab = make_lab(qtbot)
    lab.run()
    assert [lab.largest.itemData(i) for i in range(lab.largest.count())] == [256]  # the least it offers
    message = finish(qtbot, lab)
    assert re.fullmatch(r"N = 256: 256 tokens × 1 layer × 1 head needs ≈ [\d.]+ MB; 1.0 MB available: "
                        r"choose a smaller largest N", message), message
    assert lab.rows == [] and lab.status.text() == message


def test_the_view_menu_opens_the_lab_and_closing_the_window_stops_it(qtbot):
    w = make_window(qtbot)
    settle(qtbot, w)
    assert w.lab.lab is None
    action = next(a for a in w.lab.menu.actions() if a.text() == "Scaling lab…")
    action.trigger()
    lab = w.lab.lab
    assert lab is not None and lab.isVisible()
    lab.worker.start([16, 32, 64, 128, 256, 512, 1024, 2048, 4096], 64, 3)
    w.close()
    assert not lab.isVisible() and lab.worker.cancelled
    assert lab.worker.wait(30)


def test_the_quadratic_cost_lesson_opens_the_lab_on_its_last_step(qtbot):
    w = make_window(qtbot)
    assert w.lesson_player.open_lesson("quadratic-cost")
    last = len(w.studio.lesson.steps) - 1
    w.lesson_player.go_to_step(last - 1)
    settle(qtbot, w, timeout=20_000)
    assert w.lab.lab is None  # the steps before it open nothing
    w.lesson_player.go_to_step(last)
    qtbot.waitUntil(lambda: w.lab.lab is not None and w.lab.lab.isVisible(), timeout=5000)
    assert not w.lab.lab.running  # Run is the lecturer's to press
    w.lab.lab.close()
    w.lesson_player.go_to_step(last - 1)
    w.lesson_player.go_to_step(last)
    qtbot.waitUntil(w.lab.lab.isVisible, timeout=5000)  # arriving again opens it again
    settle(qtbot, w, timeout=20_000)
