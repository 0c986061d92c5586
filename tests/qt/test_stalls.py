"""No setting stalls the window at the largest sizes the settings allow.

Each setting goes to its maximum in a real window (d_model 1024, 64 heads, 8 layers), then
the seed, Randomize, the temperature, the head and layer on view, the stages, a workspace
file and a lesson file at those sizes. While that happens, the test records

- every seeding and every computation, and the thread it ran on: the UI thread may seed at
  most a few milliseconds' worth (``AT_ONCE_VALUES``) and compute at most
  ``SYNC_MAX_WORK`` multiply-adds at a time: the rest runs on worker threads;
- the longest gap between ticks of a 10 ms timer: the longest the event loop stalled.

The gaps measured at these steps on a 2-core machine are 30–60 ms (before the worker threads:
2–23 s); the bound below is far above that, so a busy machine does not fail the test, and far
below what seeding or computing on the UI thread costs (1.5–2 s).
"""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QTimer
from studio_helpers import make_window

from attnstudio.core import seeded
from attnstudio.core.cost import multiply_adds
from attnstudio.core.settings import Settings
from attnstudio.core.weights import SEEDED_LAYERS, Weights
from attnstudio.qt import compute_worker
from attnstudio.qt.compute_worker import SYNC_MAX_WORK
from attnstudio.qt.controls import slider_to_temperature, temperature_to_slider
from attnstudio.qt.seeding import AT_ONCE_VALUES
from attnstudio.studio import workspace
from attnstudio.studio.inputs import Inputs
from attnstudio.studio.snapshot import Snapshot

LONGEST_STALL_MS = 750  # see the module docstring
MAX = {"d_model": 1024, "heads": 64, "layers": 8}


class Recorder:
    """Seedings and computations by thread, and the event loop's longest gap."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ui = threading.get_ident()
        self.ui_seeded: list[int] = []  # values hashed on the UI thread, per call
        self.worker_seeded = 0
        self.ui_work: list[int] = []  # multiply-adds computed on the UI thread, per result
        self.worker_work: list[int] = []
        self.gaps: list[float] = []
        uniform, compute = seeded.uniform, compute_worker.compute_result

        def recording_uniform(key: str, count: int, *args, **kwargs):
            if threading.get_ident() == self.ui:
                self.ui_seeded.append(count)
            else:
                self.worker_seeded += count
            return uniform(key, count, *args, **kwargs)

        def recording_compute(inputs: Inputs, *args, **kwargs):
            work = multiply_adds(inputs.n, inputs.settings)
            (self.ui_work if threading.get_ident() == self.ui else self.worker_work).append(work)
            return compute(inputs, *args, **kwargs)

        monkeypatch.setattr(seeded, "uniform", recording_uniform)
        monkeypatch.setattr(compute_worker, "compute_result", recording_compute)
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def longest_ms(self) -> float:
        self._timer.stop()
        return 1000.0 * max(self.gaps, default=0.0)


@pytest.fixture
def window(qtbot):
    return make_window(qtbot)


def finish(qtbot, w, **settings) -> None:
    """Wait until the window shows a trace computed with ``settings``."""
    def shown() -> bool:
        tr = w.trace
        return w.idle and tr is not None and all(getattr(tr.settings, k) == v for k, v in settings.items())

    qtbot.waitUntil(shown, timeout=120_000)


def test_no_setting_stalls_the_window_at_the_largest_sizes(window, qtbot, monkeypatch, tmp_path):
    # A workspace of the largest model, written before anything is recorded.
    settings = Settings(**MAX, seed=21)
    saved = tmp_path / "big.attn"
    workspace.save(Snapshot(sentence="the cat sat on the mat", settings=settings,
                            weights=Weights.seeded_read_only(settings)), saved)
    SEEDED_LAYERS.clear()  # what other tests (and the line above) seeded must not make this one easy
    rec = Recorder(monkeypatch)
    c, w = window.controls, window
    qtbot.wait(50)
    stalls: dict[str, float] = {}
    said: list[str] = []  # the busy line right after each action

    def act(name: str, action, **expect) -> None:
        rec.start()
        action()
        said.append(w.busy_label.text() if w.busy_label.isVisible() else "")
        finish(qtbot, w, **expect)
        qtbot.wait(100)  # what the result starts (repaints, thumbnails) belongs to this step
        stalls[name] = rec.longest_ms()

    act("d_model 1024", lambda: c.d_model.setValue(1024), d_model=1024)
    act("heads 64", lambda: c.heads.setCurrentIndex(c.heads.findData(64)), d_model=1024, heads=64)
    act("layers 8", lambda: c.layers.setValue(8), **MAX)
    assert said[-1] == "seeding 512 heads' weights…"  # while the worker seeds, the window says so
    act("seed + 1", lambda: c.seed.setValue(c.seed.value() + 1), **MAX, seed=1)
    act("Randomize", w.editor.randomize_btn.click, **MAX)
    assert w.studio.settings.seed not in (0, 1)
    act("temperature", lambda: c.set_temperature(0.5), **MAX,
        temperature=slider_to_temperature(temperature_to_slider(0.5)))
    act("head on view", lambda: c.head.setCurrentIndex(63), **MAX)
    act("layer on view", lambda: c.layer.setCurrentIndex(7), **MAX)
    for stage in ("projections", "scores", "weights", "output", "heads", "tokens"):
        act(f"stage {stage}", lambda stage=stage: w.go_to_stage(stage), **MAX)
    assert (w.studio.layer, w.studio.head) == (7, 63)

    act("open a workspace", lambda: w.document.open_path(saved), **MAX, seed=21)

    lesson = tmp_path / "big.toml"
    lesson.write_text(
        'format = 1\nid = "big"\ntitle = "Big"\nsummary = "The largest sizes."\n\n[defaults]\n'
        'sentence = "the cat sat on the mat"\nsettings = { d_model = 1024, heads = 64, layers = 8, seed = 7 }\n'
        + "".join(f'\n[[steps]]\ntitle = "Step {k}"\nnarration = "Seed {7 + k}."\n'
                  f'settings = {{ seed = {7 + k} }}\nstage = "weights"\n' for k in range(4)),
        encoding="utf-8",
    )
    act("open a lesson", lambda: w.lesson_player.open_lesson(lesson), **MAX, seed=7)
    act("next step", w.lesson_player.next_step, **MAX, seed=8)
    act("two steps at once", lambda: (w.lesson_player.next_step(), w.lesson_player.prev_step(),
                                      w.lesson_player.next_step()), **MAX, seed=9)
    assert w.lesson_player.step_index == 2
    act("the clicker's next", w.presentation.next, **MAX, seed=10)
    assert w.lesson_player.step_index == 3

    # Everything large ran on worker threads; the UI thread seeded and computed only crumbs.
    assert rec.worker_seeded >= 4 * 1024 * 1024 * 8  # at least one full set at the largest sizes
    assert max(rec.ui_seeded, default=0) <= AT_ONCE_VALUES
    assert max(rec.worker_work) >= multiply_adds(w.trace.n, w.studio.settings)
    assert max(rec.ui_work, default=0) <= SYNC_MAX_WORK
    print("longest stalls (ms):", {k: round(v) for k, v in stalls.items()})
    slow = {name: round(ms) for name, ms in stalls.items() if ms > LONGEST_STALL_MS}
    assert not slow, f"the event loop stalled (ms): {slow}; all: { {k: round(v) for k, v in stalls.items()} }"
