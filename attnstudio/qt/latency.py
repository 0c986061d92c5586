"""How fast the studio answers: edit-to-repaint latency and cold start to the first paint.

    python -m attnstudio.qt.latency [--sizes 8 64 512 2048] [--edits 20] [--cold 3]

Edit-to-repaint: one W_Q cell is set (as a typed edit or one scrub step would) with the
weights stage on view, and the clock stops when the large heatmap's viewport has painted
the new result; edits are spaced out so the per-frame coalescing never merges two. Cold
start: ``python -m attnstudio`` in a subprocess with ATTNSTUDIO_EXIT_AFTER_PAINT=1, which
prints the time from process start to the first paint of the window. Both run offscreen.
Timings depend on the machine, so no test asserts them (tests/qt/test_latency.py only runs
the measurement); a benchmark can call these functions.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@dataclass(frozen=True)
class EditLatency:
    """Edit-to-repaint times (ms) at N tokens, and the computation's own share."""

    n: int
    median_ms: float
    p90_ms: float
    compute_median_ms: float
    edits: int


_WORDS = "the cat sat on the mat because it was tired and then a dog came by to see what all of this noise was about"


def _sentence(n: int) -> str:
    words = _WORDS.split()
    return " ".join(words[i % len(words)] for i in range(n))


def measure_edit_latency(sizes=(8, 64, 512, 2048), edits: int = 20, size=(1280, 720)) -> list[EditLatency]:
    """Median edit-to-repaint latency of a W_Q cell edit at each N (NumPy backend)."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from attnstudio.qt.app import application, create_window

    app = application(["attnstudio-latency"])
    window = create_window(interactive=False)
    window.resize(*size)
    window.show()
    viewport = window.heatmap.plot_viewport()

    class PaintClock(QObject):
        armed = False
        painted_at = 0.0

        def eventFilter(self, obj, ev) -> bool:
            if self.armed and ev.type() == QEvent.Type.Paint:
                self.painted_at = time.perf_counter()
                self.armed = False
            return False

    clock = PaintClock()
    viewport.installEventFilter(clock)
    arrived: list = []
    window.compute.result.connect(lambda res: (arrived.append(res), setattr(clock, "armed", True)))

    def pump_until(cond, timeout: float = 120.0) -> None:
        end = time.perf_counter() + timeout
        while not cond():
            app.processEvents()
            if time.perf_counter() > end:
                raise TimeoutError("no repaint within the time limit")
            time.sleep(0.0002)

    out = []
    for n in sizes:
        window.studio.set_sentence(_sentence(n))
        window.go_to_stage("weights")
        window.studio_qt.flush()
        pump_until(lambda n=n: window.trace is not None and window.trace.n == n and not window.compute.busy)
        for _ in range(20):
            app.processEvents()
        times, computes = [], []
        base = float(window.studio.matrix("w_q")[0, 0])
        for i in range(edits):
            time.sleep(0.03)  # past the frame window: each edit is measured alone
            app.processEvents()
            arrived.clear()
            clock.painted_at = 0.0
            t0 = time.perf_counter()
            window.studio.set_weight_cell(0, 0, "w_q", 0, 0, base + 0.01 * (i + 1))
            pump_until(lambda: bool(arrived) and clock.painted_at > 0)
            times.append((clock.painted_at - t0) * 1000.0)
            computes.append(arrived[-1].elapsed_ms)
        times.sort()
        out.append(EditLatency(n, statistics.median(times), times[int(0.9 * (len(times) - 1))],
                               statistics.median(computes), edits))
    window.close()
    QApplication.processEvents()
    return out


def measure_cold_start(runs: int = 3, timeout: float = 60.0) -> list[float]:
    """Seconds from process start to the first painted window of ``python -m attnstudio``."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ATTNSTUDIO_EXIT_AFTER_PAINT="1")
    ages = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "attnstudio"], env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        wall = time.perf_counter() - t0
        m = re.search(r"first paint: ([0-9.]+) s", proc.stdout)
        if proc.returncode != 0 or m is None:
            raise RuntimeError(f"cold start run failed (exit {proc.returncode}): {proc.stdout}{proc.stderr}")
        ages.append(min(float(m.group(1)), wall))
    return ages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 64, 512, 2048])
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--cold", type=int, default=3, help="cold-start runs (0: skip)")
    args = parser.parse_args(argv)
    print("edit → repaint (one W_Q cell, weights stage on view, offscreen 1280×720, NumPy)")
    print(f"{'N':>6} {'median ms':>10} {'p90 ms':>8} {'compute ms':>11}")
    for r in measure_edit_latency(args.sizes, args.edits):
        print(f"{r.n:>6} {r.median_ms:>10.1f} {r.p90_ms:>8.1f} {r.compute_median_ms:>11.1f}")
    if args.cold:
        ages = measure_cold_start(args.cold)
        print(f"cold start to first paint (python -m attnstudio): median {statistics.median(ages):.2f} s "
              f"over {len(ages)} runs ({', '.join(f'{a:.2f}' for a in ages)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
