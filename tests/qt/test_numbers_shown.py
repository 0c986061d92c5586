"""The numbers the lecture screen shows stay readable and add up (findings 7 and 8).

Each test reads what is really painted or written (the texts the heatmap draws in its cells,
the Σ column, one token's view) and checks it as a student with a calculator would.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from studio_helpers import settle

from attnstudio.core.explain import explain_cell, token_view
from attnstudio.core.numbers import ELIDED, format_cell, format_column, parse_shown, reads_as
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import Settings
from attnstudio.qt.heatmap import HeatmapView
from attnstudio.qt.stage_text import formula, masked_cells
from attnstudio.qt.token_view import TokenViewPanel
from attnstudio.qt.weights_side import WeightsSide

ELEVEN = "The cat sat on the mat because it was very tired"
NEGATIVE_ZERO = re.compile(r"[−-]0(?:\.0*)?(?![\d.e])")  # "−0.00", "−0", not "−0.009"


def drawn(view: HeatmapView) -> list[list[str]]:
    """The text painted in each cell of ``view`` now ("" where none)."""
    rows, cols = view.values().shape
    rect = view._vb.boundingRect()  # the cells' area, as cell_text_visible measures it
    return view._cells.shown_texts(rect.width() / cols, rect.height() / rows)


def value_of(text: str) -> float:
    """What a student reads from a cell: ".26" is 0.26, "<0.01", "—" and "0" count as 0."""
    if text in ("—", "<0.01", "<.01"):
        return 0.0
    return parse_shown(re.sub(r"^(−?)\.", r"\g<1>0.", text))


def test_masked_weights_exact_zeros_and_small_weights_read_differently(view, qtbot):
    """Finding 7: a masked weight, sparsemax's exact 0 and 0.004 all printed 0.00."""
    w = np.array([[1.0, 0.0, 0.0], [0.004, 0.996, 0.0], [0.0, 0.256, 0.744]])
    masked = np.triu(np.ones((3, 3), dtype=bool), k=1)
    view.set_matrix(w, list("abc"), list("abc"), scale="unit", masked=masked)
    qtbot.wait(10)
    texts = drawn(view)
    assert texts == [["1.00", "—", "—"], ["<0.01", "1.00", "—"], ["0", "0.26", "0.74"]]
    # A masked weight is filled and hatched as the masked stage's −∞ cell, not coloured as 0.
    view.set_matrix(np.array([[0.5, -np.inf]]), ["a"], ["a", "b"])
    qtbot.wait(10)
    minus_inf = _pixel(view, 0, 1)
    view.set_matrix(w, list("abc"), list("abc"), scale="unit", masked=masked)
    qtbot.wait(10)
    zero = _pixel(view, 2, 0)
    for r, c in ((0, 1), (1, 2)):
        px = _pixel(view, r, c)
        assert _distance(px, minus_inf) < 30 and _distance(px, zero) > 80, (r, c, px.name())
    # Weights without a mask still tell an exact 0 from a small weight; other matrices are as before.
    view.set_matrix(w, list("abc"), list("abc"), scale="unit", masked=np.zeros((3, 3), dtype=bool))
    assert drawn(view)[0][1] == "0" and drawn(view)[1][0] == "<0.01"
    view.set_matrix(w, list("abc"), list("abc"), scale="unit")
    assert drawn(view)[0][1] == "0.00"


def _pixel(view, r, c):
    """The mean colour of a cell's top-left quarter (fill and hatching, no number)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor

    img = view.grab().toImage()
    rgb = []
    for fx in np.linspace(0.05, 0.3, 8):
        for fy in np.linspace(0.05, 0.25, 6):
            scene = view._vb.mapViewToScene(QPointF(c + fx, r + fy))
            p = img.pixelColor(view._glw.mapTo(view, view._glw.mapFromScene(scene)))
            rgb.append((p.red(), p.green(), p.blue()))
    return QColor(*(round(x) for x in np.mean(rgb, axis=0)))


def _distance(a, b) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def test_never_negative_zero_for_a_matrix_of_tiny_negatives(view, qtbot):
    """Finding 7: "−0.00" appeared. Cells, hovers, one token's view and the Σ column of a
    trace whose every number is about −1e-9."""
    view.set_matrix(np.full((4, 4), -1e-9), list("abcd"), list("abcd"))
    qtbot.wait(10)
    assert {t for row in drawn(view) for t in row} == {"0.00"}
    tiny = np.full((4, 4), -1e-9)
    tr = compute(["a", "b", "c", "d"], Settings(mask="causal"), direct={(0, 0, m): tiny for m in "qkv"})
    texts = [explain_cell(tr, 0, 0, name, i, j) for name in ("q", "scores", "scaled", "masked", "weights", "output")
             for i in range(4) for j in range(4)]
    panel = TokenViewPanel()
    qtbot.addWidget(panel)
    side = WeightsSide()
    qtbot.addWidget(side)
    h = tr.head()
    for row in range(4):
        panel.set_view(token_view(tr, 0, 0, row))
        texts += [panel.table_text(j, c) for j in range(4) for c in range(8)]
        texts += [panel._output.text(), panel._rule.text(), panel._query.text()]
    side.set_rows(list("abcd"), np.asarray(h.row_sums), np.asarray(h.row_entropy), 4, cells=np.asarray(h.weights),
                  masked=masked_cells("weights", np.isneginf(np.asarray(h.masked)), (4, 4)))
    texts += side.lines() + side.key()
    for text in texts:
        assert not NEGATIVE_ZERO.search(text), text


def test_huge_values_are_drawn_compactly_never_left_blank(view, qtbot):
    """Finding 7: a W_Q cell of 999999 left the scores stage blank (one wide number made the
    font too small, and then no number was drawn at all)."""
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(11, 11)) * 5e5
    scores[3, 4] = 7021.82  # "7021.82" is wider than the exponent forms around it
    labels = [str(i) for i in range(11)]
    for width in (800, 560, 470):  # 560: 37 px per cell, "−1.46e5" does not fit; 470: 29 px
        view.resize(width, 600)
        qtbot.wait(10)
        view.set_matrix(scores, labels, labels)
        qtbot.wait(10)
        assert view.cell_text_visible(), width
        texts = drawn(view)
        for r in range(11):
            for c in range(11):
                t = texts[r][c]
                assert t, (width, r, c)  # never blank
                if t != ELIDED:  # each shown form is an honest rounding of the cell
                    assert re.fullmatch(r"−?\d*\.?\d+(e−?\d+)?", t), t
                    assert abs(value_of(t) - scores[r, c]) <= 0.5 * 10 ** math.floor(
                        math.log10(abs(scores[r, c]))) + 1e-9, (t, scores[r, c])
        elided = sum(t == ELIDED for row in texts for t in row)
        assert elided == 0 if width >= 560 else elided < 121 / 2, (width, elided)


def test_a_wq_of_999999_keeps_the_scores_stage_readable(window, qtbot):
    window.studio.apply(sentence=ELEVEN)
    window.studio.set_weight_cell(0, 0, "w_q", 0, 0, 999999)
    settle(qtbot, window)
    window.go_to_stage("scores")
    qtbot.wait(30)
    heat = window.heatmap
    assert heat.cell_text_visible()
    m = heat.values()
    assert np.abs(m).max() > 1e5
    for r, row in enumerate(drawn(heat)):
        for c, t in enumerate(row):
            assert t and t != ELIDED, (r, c)
            assert reads_as(m[r, c], t) or abs(value_of(t) - m[r, c]) <= 0.05 * abs(m[r, c]), (t, m[r, c])


def test_sparsemax_weights_on_the_lecture_screen(window, qtbot):
    """The eleven-token causal sparsemax sentence at 1280 × 720: numbers printed, masked cells
    "—", exact zeros "0", and every row's shown cells add up to its Σ or the row says ≈."""
    # Seed 1: the row of "on" is 0.027 + 0.337 + 0.636, drawn 0.03 + 0.34 + 0.64 = 1.01.
    window.studio.apply(sentence=ELEVEN, settings={"normalizer": "sparsemax", "mask": "causal", "seed": 1})
    settle(qtbot, window)
    window.go_to_stage("weights")
    qtbot.wait(30)
    heat, side = window.heatmap, window.stage_view.side
    assert heat.cell_text_visible()
    a = np.asarray(window.trace.head().weights)
    texts = drawn(heat)
    n = a.shape[0]
    for i in range(n):
        for j in range(n):
            if j > i:
                assert texts[i][j] == "—"
            elif a[i, j] == 0:
                assert texts[i][j] == "0"
            else:
                assert texts[i][j] not in ("0", "0.00", "—")
    assert "0.00" not in {t for row in texts for t in row}
    sums = np.asarray(window.trace.head().row_sums)
    off = set(side.off_rows())
    lines = side.lines()
    marked = 0
    for i in range(n):
        adds = math.fsum(value_of(t) for t in texts[i])  # the calculator, on the cells as drawn
        if reads_as(adds, format_column(sums[i], 3)):
            assert i not in off and "≈" not in lines[i]
        else:
            marked += 1
            assert i in off and f"≈ (its rounded cells add to {format_column(adds, 2)})" in lines[i], lines[i]
    assert marked  # the row of "on": 0.03 + 0.34 + 0.64 beside Σ 1.000
    key = "\n".join(side.key())
    assert "—  masked" in key and "0  exactly zero" in key and "≈  its rounded cells add to" in key
    assert "each row sums to 1" in window.stage_view.formula.text()


def test_no_header_claims_rows_sum_to_1_above_rows_of_nan(window, qtbot):
    """Finding 8: "each row sums to 1" stood above the NaN rows of an overflowed naive softmax."""
    window.studio.apply(sentence=ELEVEN, settings={"normalizer": "naive-softmax"})
    window.studio.set_weight_cell(0, 0, "w_q", 0, 0, 999999)
    settle(qtbot, window)
    window.go_to_stage("weights")
    qtbot.wait(20)
    assert window.trace.head().nonfinite_weights > 0
    line = window.stage_view.formula.text()
    assert "each row sums to 1" not in line and "overflow" in line
    s = Settings(normalizer="naive-softmax")
    assert formula("weights", s, 0, nonfinite=0).endswith("each row sums to 1")
    assert "each row sums to 1" not in formula("weights", s, 0, nonfinite=3)


def test_no_header_claims_rows_sum_to_1_above_rows_whose_sum_overflowed(window, qtbot):
    """Scores 709.78 and 708.78: every exp is finite, their sum is ∞, every weight is 0."""
    q = np.zeros((2, 4))
    q[:, 0] = 1.0
    k = np.zeros((2, 4))
    k[:, 0] = [709.78, 708.78]
    window.studio.apply(sentence="a b", settings={"normalizer": "naive-softmax", "scale": False})
    window.studio.set_direct(0, 0, "q", q)
    window.studio.set_direct(0, 0, "k", k)
    settle(qtbot, window)
    window.go_to_stage("weights")
    qtbot.wait(20)
    head = window.trace.head()
    assert head.nonfinite_weights == 0 and head.row_sums.tolist() == [0.0, 0.0]
    line = window.stage_view.formula.text()
    assert "each row sums to 1" not in line and "overflows" in line
    assert "the sum of exp overflowed to ∞ in rows 0–1 of head 1" in window.stage_view.warning.text()


@pytest.mark.parametrize("settings", [Settings(mask="causal"), Settings(normalizer="sparsemax", mask="causal"),
                                      Settings(normalizer="entmax15", temperature=0.5),
                                      Settings(d_model=16, heads=2)], ids=lambda s: s.normalizer)
def test_one_tokens_view_adds_up(qtbot, settings):
    """Finding 8: a column of a_j·v_j added to 0.15 while z showed 0.12. Either the shown rows
    add up to z as shown, or the z line says what they add to."""
    panel = TokenViewPanel()
    qtbot.addWidget(panel)
    tr = compute(ELEVEN, settings)
    notes = 0
    for row in range(tr.n):
        tv = token_view(tr, 0, 0, row)
        panel.set_view(tv)
        column = [panel.table_text(j, 7) for j in range(tr.n)]
        entries = [re.findall(r"−?\d+\.\d+|…", c.split("] (")[0]) for c in column]
        z_line = panel._output.text()
        z_shown = re.findall(r"−?\d+\.\d+|…", z_line.split("\n")[0].split(" = ")[-1].split("] (")[0])
        adds = [math.fsum(parse_shown(e[k]) for e in entries) for k in range(len(z_shown)) if z_shown[k] != "…"]
        z_vals = [z for z in z_shown if z != "…"]
        if all(reads_as(x, z) for x, z in zip(adds, z_vals, strict=True)):
            continue
        notes += 1
        note = z_line.split("\n")[1]
        assert note.startswith("(the rounded rows above add to ")
        noted = [t for t in re.findall(r"−?\d+\.\d+|…", note.split("]")[0]) if t != "…"]
        assert [format_cell(x) for x in adds] == noted, (z_line, adds)
    if settings.normalizer == "softmax":
        assert notes  # these sentences do have columns that rounding moves off z
        # And the softmax rule line: the exp column adds up to its Σ (enough digits).
        tv = token_view(tr, 0, 0, 5)
        panel.set_view(tv)
        total = panel._rule.text().split("Σ_k = ")[1].split()[0]
        exps = [panel.table_text(j, 4) for j in range(tr.n)]
        assert reads_as(math.fsum(parse_shown(e.split()[0]) for e in exps), total)
        weights = [panel.table_text(j, 5) for j in range(6)]
        for e, w in zip(exps, weights):
            assert reads_as(parse_shown(e) / parse_shown(total), w), (e, total, w)


def test_masked_cells_match_the_masked_stage_also_when_reduced():
    tr = compute([f"t{i}" for i in range(40)], Settings(mask="causal"))
    from attnstudio.studio.display_cache import DisplayCache

    d = DisplayCache(tr, max_side=16)
    for name in ("weights",):
        shown, f = d.get(0, 0, name)
        masked, _ = d.get(0, 0, "masked")
        assert f > 1
        # a reduced block is masked exactly when it lies right of the diagonal (J > I)
        np.testing.assert_array_equal(masked_cells(name, np.isneginf(masked), shown.shape),
                                      np.triu(np.ones(shown.shape, dtype=bool), k=1))
    assert masked_cells("scores", np.isneginf(masked), (4, 4)) is None
    assert not masked_cells("weights", None, (4, 4)).any()
