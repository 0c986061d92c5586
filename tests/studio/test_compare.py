"""Compare: the state pinned as A beside the live B, and B − A (studio.compare). The
difference is checked against a plain loop; pinning through the model, undo and lessons."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import softmax

from attnstudio.core.lessons import parse_lesson
from attnstudio.studio.compare import compare_stage, difference, what_differs
from attnstudio.studio.model import StudioModel
from attnstudio.studio.result import compute_result
from attnstudio.studio.rules import StudioError
from attnstudio.studio.snapshot import WORK_FIELDS, same


def loop_difference(a: np.ndarray, b: np.ndarray) -> list[list[float]]:
    out = []
    for i in range(a.shape[0]):
        row = []
        for j in range(a.shape[1]):
            x, y = float(a[i, j]), float(b[i, j])
            row.append(0.0 if x == y else y - x)
        out.append(row)
    return out


def weights_ref(model: StudioModel, temperature: float) -> np.ndarray:
    """softmax(X·W_Q (X·W_K)ᵀ / √d_k / T) from the model's own matrices, by scipy."""
    x = model.embeddings_matrix()
    q, k = x @ model.matrix("w_q"), x @ model.matrix("w_k")
    return softmax(q @ k.T / math.sqrt(q.shape[1]) / temperature, axis=1)


def test_the_difference_is_b_minus_a_cell_for_cell():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=(7, 5))
    b[2, 3] = a[2, 3]
    a[0, 0] = b[0, 0] = -np.inf  # masked in both: unchanged
    a[1, 1] = -np.inf  # masked in A only
    got = difference(a, b)
    want = loop_difference(a, b)
    assert got[0, 0] == 0.0 and got[2, 3] == 0.0 and got[1, 1] == np.inf
    assert got.tolist() == want
    with pytest.raises(ValueError, match="A is 7 × 5 and B is 6 × 5"):
        difference(a, b[:6])


def test_pin_then_temperature_compares_the_two_weights():
    m = StudioModel()
    m.set_stage("weights")
    m.pin()
    m.set_setting(temperature=0.5)
    a_res, b_res = compute_result(m.pinned_inputs()), compute_result(m.inputs())
    cmp = compare_stage(a_res, b_res, "weights", 0, 0)
    ref_a, ref_b = weights_ref(m, 1.0), weights_ref(m, 0.5)
    np.testing.assert_allclose(cmp.a[0], ref_a, rtol=1e-12)
    np.testing.assert_allclose(cmp.b[0], ref_b, rtol=1e-12)
    np.testing.assert_allclose(cmp.diff, np.array(loop_difference(ref_a, ref_b)), atol=1e-12)
    assert what_differs(a_res.inputs, b_res.inputs) == "T 1 → 0.5"


def test_another_token_count_says_why_there_is_no_difference():
    m = StudioModel()
    m.pin()
    m.set_sentence("the dog sat")
    cmp = compare_stage(compute_result(m.pinned_inputs()), compute_result(m.inputs()), "weights", 0, 0)
    assert cmp.diff is None and "A is 10 × 10 and B is 3 × 3" in cmp.reason
    assert cmp.a is not None and cmp.b is not None


def test_a_head_that_a_lacks_is_said_in_words():
    m = StudioModel()
    m.pin()
    m.set_setting(heads=2)
    m.set_view(head=1)
    cmp = compare_stage(compute_result(m.pinned_inputs()), compute_result(m.inputs()), "weights", 0, 1)
    assert cmp.a is None and cmp.diff is None and cmp.reason.startswith("A has no layer 1, head 2")


def test_pinning_is_a_view_change_not_a_change_of_the_work():
    m = StudioModel()
    seen: list[frozenset[str]] = []
    m.events.connect_any(seen.append)
    before, gen = m.snapshot(), m.generation
    m.pin()
    assert seen == [frozenset({"view"})] and m.generation == gen
    assert all(same(getattr(before, f), getattr(m.snapshot(), f)) for f in WORK_FIELDS)
    assert m.pinned is not None and same(m.pinned_inputs().weights, before.weights)
    first = m.pinned_inputs().generation
    m.set_setting(temperature=2.0)
    assert m.pinned.settings.temperature == 1.0  # A never follows B
    m.pin()  # pinned again: a new A, told apart from the old one
    assert m.pinned.settings.temperature == 2.0 and m.pinned_inputs().generation != first
    m.unpin()
    assert m.pinned is None and m.pinned_inputs() is None


def test_restore_keeps_the_pin_of_the_snapshot_and_refuses_a_nested_one():
    m = StudioModel()
    m.pin()
    snap = m.snapshot()
    from dataclasses import replace
    with pytest.raises(StudioError, match="pinned as A holds no pin"):
        m.restore(replace(snap, pinned=snap))
    m.restore(replace(snap, pinned=None))
    assert m.pinned is None


LESSON = '''id = "t"
title = "T"
summary = "S"
[defaults]
sentence = "the cat sat"
[[steps]]
title = "one"
narration = "n"
[[steps]]
title = "two"
narration = "n"
settings = { temperature = 0.5 }
compare = "previous"
[[steps]]
title = "three"
narration = "n"
settings = { temperature = 2.0 }
compare = { with_step = 1 }
'''


def test_a_lesson_step_that_compares_pins_the_state_of_the_step_it_names():
    les = parse_lesson(LESSON, "t.toml")
    m = StudioModel()
    m.pin()
    m.open_lesson(les)
    assert m.pinned is None  # a step without compare shows none
    m.next_step()
    assert m.pinned is not None and m.pinned.settings.temperature == 1.0 and m.settings.temperature == 0.5
    m.next_step()
    assert m.pinned.settings.temperature == 1.0 and m.settings.temperature == 2.0
    m.close_lesson()
    assert m.pinned is not None and m.pinned.lesson is None  # the user's own pin is back
