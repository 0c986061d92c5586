"""Compare in the window: pin the state as A (F8), change the temperature, and the three panes
show A's weights, B's and B − A, each checked against a computation here (scipy); unpinning
gives the stage back; undo changes B and keeps the pin; the comparison exports as PNG and CSV."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtGui import QImage
from scipy.special import softmax
from studio_helpers import settle

from attnstudio.core.lessons import parse_lesson


def weights_ref(window, temperature: float) -> np.ndarray:
    st = window.studio
    x = st.embeddings_matrix()
    q, k = x @ st.matrix("w_q", 0, 0), x @ st.matrix("w_k", 0, 0)
    return softmax(q @ k.T / math.sqrt(q.shape[1]) / temperature, axis=1)


def pin_and_cool(window, qtbot):
    window.studio.set_stage("weights")
    window.pin_action.trigger()
    settle(qtbot, window)
    window.studio.set_setting(temperature=0.5)
    settle(qtbot, window)


def test_pin_then_temperature_shows_a_b_and_their_difference(window, qtbot):
    panels_before = window.panels_action.isChecked()
    pin_and_cool(window, qtbot)
    assert window.comparing and not window.stage_view.isVisible()
    cv = window.compare_view
    a, b = weights_ref(window, 1.0), weights_ref(window, 0.5)
    np.testing.assert_allclose(cv.a_view.values(), a, rtol=1e-12)
    np.testing.assert_allclose(cv.b_view.values(), b, rtol=1e-12)
    diff = np.array([[b[i, j] - a[i, j] for j in range(a.shape[1])] for i in range(a.shape[0])])
    np.testing.assert_allclose(cv.diff_view.values(), diff, atol=1e-12)
    lo, hi = cv.diff_view.color_limits()
    assert lo == -hi and hi == np.abs(diff).max()  # diverging, centred on 0
    assert cv.what.text() == "B changed: T 1 → 0.5"
    # The three panes print their numbers at 1280×720 (the side panels make room for them).
    assert all(v.cell_text_visible() for v in cv.views())
    assert not window.panels_action.isChecked()
    window.pin_action.trigger()  # unpin
    settle(qtbot, window)
    assert not window.comparing and window.stage_view.isVisible()
    assert window.panels_action.isChecked() == panels_before
    np.testing.assert_allclose(window.heatmap.values(), b, rtol=1e-12)


def test_another_sentence_says_why_there_is_no_difference(window, qtbot):
    window.studio.set_stage("weights")
    window.studio.pin()
    window.studio.set_sentence("a dog ran")
    settle(qtbot, window)
    cv = window.compare_view
    assert window.comparing and cv.diff_stack.currentWidget() is cv.reason
    assert "A is 10 × 10 and B is 3 × 3" in cv.reason.text()
    assert cv.b_view.values().shape == (3, 3)


def test_undo_changes_b_and_keeps_the_pin(window, qtbot):
    pin_and_cool(window, qtbot)
    window.undo.stack.undo()
    settle(qtbot, window)
    assert window.studio.settings.temperature == 1.0 and window.studio.pinned is not None
    assert window.comparing
    assert not window.compare_view.diff_view.values().any()  # B is A again
    window.undo.stack.redo()
    settle(qtbot, window)
    assert window.studio.settings.temperature == 0.5 and window.studio.pinned is not None


def test_a_comparison_exports_its_three_panes_and_its_difference(window, qtbot, tmp_path):
    pin_and_cool(window, qtbot)
    assert window.exports.save_stage_png(tmp_path / "c.png")
    image = QImage(str(tmp_path / "c.png"))
    assert (image.width(), image.height()) == (window.compare_view.width(), window.compare_view.height())
    assert window.exports.save_difference(tmp_path / "d.csv")
    rows = [line for line in (tmp_path / "d.csv").read_text().splitlines() if not line.startswith("#")]
    got = np.array([[float(v) for v in r.split(",")] for r in rows])
    a, b = weights_ref(window, 1.0), weights_ref(window, 0.5)
    np.testing.assert_allclose(got, b - a, atol=1e-15)


def test_a_lesson_step_with_compare_shows_the_step_it_names_as_a(window, qtbot):
    les = parse_lesson('''id = "t"
title = "T"
summary = "S"
[defaults]
sentence = "the cat sat on the mat"
[[steps]]
title = "one"
narration = "n"
[[steps]]
title = "two"
narration = "n"
settings = { temperature = 0.5 }
compare = "previous"
''', "t.toml")
    window.studio.open_lesson(les)
    settle(qtbot, window)
    assert not window.comparing
    window.studio.next_step()
    settle(qtbot, window)
    assert window.comparing
    np.testing.assert_allclose(window.compare_view.a_view.values(), weights_ref(window, 1.0), rtol=1e-12)
    np.testing.assert_allclose(window.compare_view.b_view.values(), weights_ref(window, 0.5), rtol=1e-12)
