"""Large inputs compute off the UI thread, show a busy indicator, and arrive reduced for display."""

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel
from studio_helpers import viewport, viewport_pos

N = 2000
F = 8  # 2000 tokens shown in 250 rows: blocks of 8



def test_2000_tokens_keep_the_event_loop_running_and_arrive_reduced(window, qtbot):
    ticks = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(window.compute.busy))
    timer.start()
    window.sentence.field.setText(" ".join(f"w{i % 97}" for i in range(N)))
    qtbot.waitUntil(lambda: window.compute.busy, timeout=3000)
    assert window.busy.isVisible() and "2,000 tokens" in window.busy_label.text()
    qtbot.waitUntil(lambda: window.trace.n == N, timeout=60_000)
    # The stage on view comes first; the busy bar stays until the worker has also reduced
    # what the thumbnails and other views show.
    qtbot.waitUntil(lambda: not window.compute.busy, timeout=60_000)
    timer.stop()
    assert sum(ticks) >= 3  # the timer kept firing while the worker computed
    assert not window.busy.isVisible()

    tr = window.trace
    window.go_to_stage("weights")
    shown = window.heatmap.values()
    assert shown.shape == (N // F, N // F)
    a = np.asarray(tr.head().weights)
    np.testing.assert_allclose(shown, a.reshape(N // F, F, N // F, F).mean(axis=(1, 3)), atol=1e-12)
    notes = [lab.text() for lab in window.heatmap.findChildren(QLabel) if lab.isVisible()]
    assert any("reduced for display: 2,000 → 250 rows (block means of 8 × 8)" in t for t in notes)
    assert not window.heatmap.cell_text_visible()
    # Tall, narrow matrices are pooled along the tokens only: Q keeps its d_k columns.
    window.go_to_stage("projections")
    q = np.asarray(tr.head().q)
    np.testing.assert_allclose(window.heatmap.values(), q.reshape(N // F, F, 4).mean(axis=1), atol=1e-12)
    notes = [lab.text() for lab in window.heatmap.findChildren(QLabel) if lab.isVisible()]
    assert any("(block means of 8 rows)" in t for t in notes), notes  # not "8 × 8": columns stay whole
    # A reduced cell says what it stands for instead of a formula.
    window.go_to_stage("scores")
    qtbot.wait(20)
    view = window.heatmap
    with qtbot.waitSignal(view.cellHovered, timeout=1000):
        qtbot.mouseMove(viewport(view), viewport_pos(view, 3, 5))
    assert view.hover_text().startswith(
        "reduced for display: this cell is the mean of rows 24–31 × columns 40–47 (64 cells) = ")


def test_a_newer_small_sentence_wins_over_a_large_one_still_computing(window, qtbot):
    results = []
    window.compute.result.connect(results.append)
    window.studio.set_sentence(" ".join(f"w{i}" for i in range(1500)))
    window.studio_qt.flush()
    assert window.compute.busy
    window.studio.set_sentence("short again")
    window.studio_qt.flush()
    assert window.trace.tokens == ("short", "again")  # small inputs are computed at once
    qtbot.waitUntil(lambda: not window.compute.busy, timeout=60_000)
    assert window.trace.tokens == ("short", "again")  # the stale large result was dropped
    assert window.compute.dropped == 1
    assert [r.inputs.n for r in results] == [2]
