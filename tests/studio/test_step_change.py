"""Side summaries that teach: each row's winner, and "what changed since the step before" in
words, checked against weights computed here (scipy, from the lessons' own matrices)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import softmax

from attnstudio.core.explain import row_winner, row_winners
from attnstudio.core.lessons import compute_step, load_lesson
from attnstudio.studio.compare import row_change
from attnstudio.studio.model import StudioModel, step_change


def loop_winner(row, masked=None):
    best, where, count = -math.inf, None, 0
    for j, v in enumerate(row):
        if (masked is not None and masked[j]) or not math.isfinite(v) or v <= 0:
            continue
        if v > best:
            best, where, count = v, j, 1
        elif v == best:
            count += 1
    return where if count == 1 else None


def test_row_winners_equal_a_loop_and_an_even_row_has_none():
    rng = np.random.default_rng(5)
    w = softmax(rng.normal(size=(6, 6)), axis=1)
    w[2] = 1 / 6  # even
    w[3, :] = 0.0  # every key masked
    masked = np.zeros((6, 6), dtype=bool)
    masked[3] = True
    masked[4, int(np.argmax(w[4]))] = True  # the largest is masked: the next one wins
    got = row_winners(w, masked)
    assert got == [loop_winner(w[i], masked[i]) for i in range(6)]
    assert got[2] is None and got[3] is None and got[4] is not None
    assert row_winner(np.array([0.2, np.nan, 0.7, 0.1])) == 2


def test_row_winners_of_rows_with_nan_inf_and_ties_equal_the_loop():
    rng = np.random.default_rng(11)
    for _ in range(50):
        w = rng.choice([0.0, 0.25, 0.5, np.nan, np.inf, -np.inf, 0.125], size=(7, 5))
        masked = rng.random((7, 5)) < 0.2
        assert row_winners(w, masked) == [loop_winner(w[i], masked[i]) for i in range(7)]
        assert row_winners(w) == [loop_winner(w[i], np.zeros(5, dtype=bool)) for i in range(7)]
    assert row_winners(np.zeros((3, 0))) == [None, None, None]


def weights_of(state, mask_cells=()):
    """softmax(Q·Kᵀ / √d_k / T) from the step's direct Q and K, masked cells −∞: by scipy."""
    q, k = state.direct[(0, 0, "q")], state.direct[(0, 0, "k")]
    s = q @ k.T / (math.sqrt(q.shape[1]) if state.settings.scale else 1.0) / state.settings.temperature
    for r, c in mask_cells:
        s[r, c] = -np.inf
    return softmax(s, axis=1)


def test_adding_a_key_is_said_with_the_winners_weights_computed_here():
    les = load_lesson("it-cat")
    a, b = les.steps[5], les.steps[6]  # the three keys; the fourth key unmasked
    wa, wb = weights_of(a.state, a.state.mask_cells), weights_of(b.state, b.state.mask_cells)
    top = loop_winner(wb[0])
    word = b.state.tokens[top]
    want = f"row of 'it': {word} {wa[0, top]:.2f} → {wb[0, top]:.2f} after adding key it"
    assert row_change(compute_step(a), compute_step(b), 0, 0, "it") == want
    assert step_change(les, 6) == f"Since step 6: {want}"


def test_a_temperature_step_says_its_cause_and_the_model_hides_it_while_asking():
    les = load_lesson("temperature")
    m = StudioModel()
    m.open_lesson(les)
    assert m.step_change() is None  # the first step follows none
    m.next_step()
    assert m.asking and m.step_change() is None  # it would give the answer away
    m.reveal()
    st1 = les.steps[1].state
    head = compute_step(les.steps[0]).head()  # Q and K are the same in both steps: only T changes
    q, k = np.asarray(head.q), np.asarray(head.k)
    s = q @ k.T / math.sqrt(q.shape[1])
    row = st1.tokens.index("chased")
    w0, w1 = softmax(s[row] / 1.0), softmax(s[row] / 0.25)
    top = loop_winner(w1)
    assert m.step_change() == (f"Since step 1: row of 'chased': {st1.tokens[top]} {w0[top]:.2f} → "
                               f"{w1[top]:.2f} after T 1 → 0.25")


def test_nothing_is_said_where_the_row_did_not_change():
    les = load_lesson("causal")
    assert all(step_change(les, i) is None for i in range(len(les.steps)))
