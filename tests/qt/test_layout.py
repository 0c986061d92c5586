"""The lecture screen's geometry: the window fits each screen, the matrix keeps its room.

For 1024×768, 1280×720 and 1920×1080, both themes and N = 4, 11, 24 tokens, every stage is
shown idle, with a cell hovered, with a row selected and with one token's view in front, at
zoom 1, 1.5 and 2; the matrix's cell size must not change between those states, must not
shrink as the zoom grows, the numbers must be drawn wherever the cells have room for them,
and the window must keep the size of its screen. The window really opening inside a screen
of each size is checked in a child process with an offscreen screen of that size.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from studio_helpers import make_window, settle

from attnstudio.core.trace import STAGE_KEYS

SCREENS = ((1024, 768), (1280, 720), (1920, 1080))
ZOOMS = (1.0, 1.5, 2.0)
WORDS = ("the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired", "and", "then", "a", "dog",
         "came", "by", "to", "see", "what", "all", "of", "this", "noise", "was", "about")
ROOMY = (44, 26)  # px: a cell this size has room for "0.00" at a readable size


def cell_size(view) -> tuple[int, int]:
    a, b = view.cell_viewport_pos(0, 0), view.cell_viewport_pos(1, 1)
    return b.x() - a.x(), b.y() - a.y()


def pump() -> None:
    for _ in range(6):
        QApplication.processEvents()


def states(window, qtbot, where=""):
    """Yield the state name after putting the window in it: idle, hovering a cell, a row
    selected, one token's view in front."""
    view = window.heatmap
    yield "idle"
    n = min(view.values().shape[0], 3) - 1
    qtbot.mouseMove(view.plot_viewport(), view.cell_viewport_pos(0, 1))  # a move the viewport sees
    qtbot.mouseMove(view.plot_viewport(), view.cell_viewport_pos(n, 0))
    pump()
    assert view.hover_text() and not view.hover_text().startswith("Hover"), f"{where}: the hover missed the cell"
    yield "hover"
    window.studio.select_row(1)
    pump()
    yield "selected"
    window.show_token_view(2)
    pump()
    yield "token view"
    qtbot.mouseMove(window.stage_strip, QPoint(5, 5))
    window.studio.select_row(-1)
    pump()


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("n", [4, 11, 24])
def test_the_matrix_keeps_its_room(qtbot, screen, theme, n):
    window = make_window(qtbot, screen)
    window.studio.apply(sentence=" ".join(WORDS[:n]), theme=theme)
    settle(qtbot, window)
    sizes: dict[tuple[str, float], tuple[int, int]] = {}
    problems: list[str] = []
    for zoom in ZOOMS:
        window.studio.apply(zoom=zoom)
        for stage in STAGE_KEYS:
            window.go_to_stage(stage)
            settle(qtbot, window)
            pump()
            idle = None
            for state in states(window, qtbot, f"{stage}, zoom {zoom}"):
                where = f"{stage}, zoom {zoom}, {state}"
                size = cell_size(window.heatmap)
                idle = idle or size
                if size != idle:
                    problems.append(f"{where}: cells {size} px, {idle} px when idle")
                if (window.width(), window.height()) != screen:
                    problems.append(f"{where}: the window is {window.width()}×{window.height()}")
                if size[0] >= ROOMY[0] and size[1] >= ROOMY[1] and not window.heatmap.cell_text_visible():
                    problems.append(f"{where}: cells of {size} px show no numbers")
            sizes[(stage, zoom)] = idle
    for stage in STAGE_KEYS:
        for lo, hi in itertools.pairwise(ZOOMS):
            (w0, h0), (w1, h1) = sizes[(stage, lo)], sizes[(stage, hi)]
            if w1 < w0 or h1 < h0:
                problems.append(f"{stage}: zoom {lo} → {hi} shrank the cells {w0}×{h0} → {w1}×{h1}")
    assert not problems, "\n".join(problems[:40])


def test_zoomed_for_the_hall_a_ten_token_matrix_prints_every_number_large(qtbot):
    window = make_window(qtbot, (1280, 720))
    assert window.lesson_player.open_lesson("temperature")
    window.studio.apply(sentence=" ".join(WORDS[:10]), stage="weights", zoom=2.0)
    settle(qtbot, window)
    pump()
    assert window.lesson_player.narration_in_front()
    w, h = cell_size(window.heatmap)
    assert window.heatmap.cell_text_visible()
    assert window.heatmap.number_px() >= 18, f"cells {w}×{h} px print numbers at {window.heatmap.number_px()} px"


def test_a_click_after_a_long_hover_selects_the_row_under_the_pointer(qtbot):
    window = make_window(qtbot, (1280, 720))
    window.studio.apply(sentence=" ".join(WORDS[:11]), stage="weights")
    settle(qtbot, window)
    view = window.heatmap
    viewport = view.plot_viewport()
    before = cell_size(view)
    qtbot.mouseMove(viewport, view.cell_viewport_pos(9, 4))  # a softmax weight: three lines of arithmetic
    pump()
    assert view.hover_text().startswith("weight[")
    assert cell_size(view) == before
    it = WORDS.index("it")
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view.cell_viewport_pos(it, 2))
    pump()
    assert window.studio.selected_row == it


def _probe(screen: tuple[int, int], tmp_path: Path) -> dict:
    config = tmp_path / f"screen-{screen[0]}x{screen[1]}.json"
    config.write_text(json.dumps({"synchronousWindowSystem": True, "windowFrameMargins": False, "screens": [
        {"name": "projector", "x": 0, "y": 0, "width": screen[0], "height": screen[1], "logicalDpi": 96,
         "logicalBaseDpi": 96, "dpr": 1}]}))
    code = r"""
import json
from PySide6.QtWidgets import QApplication, QTabBar
from attnstudio.qt.app import application, create_window
app = application(["layout-probe"])
w = create_window()
w.show()
for _ in range(20):
    app.processEvents()
def inside(widget):
    r = widget.rect().translated(widget.mapTo(w, widget.rect().topLeft()))
    return w.rect().contains(r) and widget.isVisible()
tabs = []
for bar in w.findChildren(QTabBar):
    if bar.isVisible():
        fm = bar.fontMetrics()
        tabs += [(bar.tabText(i), bar.tabRect(i).width(), fm.horizontalAdvance(bar.tabText(i)))
                 for i in range(bar.count())]
area = app.primaryScreen().availableGeometry()
w.studio.apply(zoom=2.0)
for _ in range(20):
    app.processEvents()
widths = {text: text_w for text, _, text_w in tabs}  # the tabs' text keeps its size at any zoom
for bar in w.findChildren(QTabBar):
    if bar.isVisible():
        tabs += [(bar.tabText(i) + " at 2x", bar.tabRect(i).width(), widths.get(bar.tabText(i), 1e9))
                 for i in range(bar.count())]
print(json.dumps({"frame": w.frameGeometry().getRect(), "area": area.getRect(),
                  "back": inside(w.stage_strip.back_btn), "next": inside(w.stage_strip.next_btn),
                  "status": inside(w.statusBar()), "tabs": tabs}))
"""
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_window_opens_inside_each_screen_with_readable_tabs(tmp_path, screen):
    got = _probe(screen, tmp_path)
    x, y, w, h = got["frame"]
    ax, ay, aw, ah = got["area"]
    assert ax <= x and ay <= y and x + w <= ax + aw and y + h <= ay + ah, got
    assert got["back"] and got["next"] and got["status"], got
    # Every tab shows its whole title (Qt elides a tab's text when its tab is too narrow).
    assert got["tabs"] and all(width >= text_w for _, width, text_w in got["tabs"]), got["tabs"]


@pytest.mark.parametrize("sentence", ["The trophy doesn't fit in the suitcase because it's too big",
                                      "The cat sat on the mat because it was tired"])
def test_the_tokens_stage_shows_every_token_and_the_previews_numbers(qtbot, sentence):
    window = make_window(qtbot, (1280, 720))
    window.studio.apply(sentence=sentence, stage="tokens")
    trace = settle(qtbot, window)
    pump()
    chips = window.stage_view.tokens
    assert chips.visible_count() == trace.n, "a token hid behind '+N more'"
    assert not window.token_strip.isVisible()  # the chips are the stage: no second strip above
    assert window.heatmap.cell_text_visible(), f"the preview's cells of {window.heatmap.cell_px()} px show no numbers"
    rows, _ = window.heatmap.labels()
    assert len(rows) == trace.n


@pytest.mark.parametrize("zoom", [1.0, 2.0])
@pytest.mark.parametrize("mask", ["none", "causal"])
def test_one_tokens_view_fits_its_band_without_scrolling_or_squeezing(qtbot, mask, zoom):
    window = make_window(qtbot, (1280, 720))
    window.studio.apply(sentence="The trophy doesn't fit in the suitcase because it's too big small",
                        stage="weights", settings={"mask": mask})
    trace = settle(qtbot, window)
    assert trace.n == 12
    before = cell_size(window.heatmap)
    window.studio.apply(zoom=zoom)
    pump()
    before = cell_size(window.heatmap)
    window.show_token_view(8)
    pump()
    panel = window.token_panel
    table = panel._table
    assert window.dock_in_front(window.token_dock)
    assert not table.horizontalScrollBar().isVisible(), "the table scrolls sideways"
    assert not table.verticalScrollBar().isVisible()
    assert cell_size(window.heatmap) == before, "opening the view squeezed the matrix"
    key = panel.vectors_text().split(" ")[1]
    assert f"k_{key} = [" in panel.vectors_text() and f"v_{key} = [" in panel.vectors_text()
    table.selectRow(1)
    pump()
    assert panel.vectors_text().startswith(f"key {trace.tokens[1]} ")
