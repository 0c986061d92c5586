"""Lesson steps share the seeded matrices instead of each holding (and seeding) a full set.

A lesson within the limits (200 steps at d_model 1024, 64 heads, 8 layers) once took
minutes to open and tens of GB: every step that gave one matrix built its own full set.
"""

from __future__ import annotations

import numpy as np

from attnstudio.core import Settings, Weights
from attnstudio.core.lesson_steps import StepWeights
from attnstudio.core.lessons import compute_step, parse_lesson
from attnstudio.core.weights import SEEDED_LAYERS


def big_lesson(steps: int, d: int, heads: int, layers: int, *, new_seed_each_step: bool) -> str:
    dk = d // heads
    rows = ",".join("[" + ",".join("1" if (i + j) % 3 == 0 else "0" for j in range(dk)) + "]" for i in range(d))
    parts = [
        'format = 1\nid = "big"\ntitle = "Big"\nsummary = "Many steps."\n\n[defaults]\n'
        f'sentence = "the cat sat on the mat"\nsettings = {{ d_model = {d}, heads = {heads}, layers = {layers} }}\n\n'
        f"[defaults.weights.layer1.head1]\nw_q = [{rows}]\n"
    ]
    for k in range(steps):
        change = f"seed = {k}" if new_seed_each_step else f"temperature = {1 + k / 10}"
        parts.append(f'\n[[steps]]\ntitle = "Step {k}"\nnarration = "Step {k}."\n'
                     f'settings = {{ {change} }}\nstage = "weights"\n')
    return "".join(parts)


def test_forty_steps_with_their_own_seeds_open_without_seeding() -> None:
    SEEDED_LAYERS.clear()
    before = SEEDED_LAYERS.misses
    lesson = parse_lesson(big_lesson(40, 512, 8, 4, new_seed_each_step=True), "big.toml")
    assert SEEDED_LAYERS.misses == before  # seeded when a step is shown, not when opened
    w = lesson.steps[5].state.weights
    assert isinstance(w, StepWeights) and len(w.layers) == 4
    assert SEEDED_LAYERS.misses == before + 4  # its four layers


def test_steps_with_equal_settings_share_every_matrix_but_the_given_one() -> None:
    lesson = parse_lesson(big_lesson(40, 512, 8, 4, new_seed_each_step=False), "big.toml")
    states = [s.state for s in lesson.steps]
    seeded = Weights.seeded_read_only(states[0].settings)
    given = states[0].weights.layers[0].heads[0].w_q
    assert given[0, 0] == 1.0 and not np.shares_memory(given, seeded.layers[0].heads[0].w_q)
    for st in states:
        w = st.weights
        assert w is not None
        assert w.layers[0].heads[0].w_q is given  # the file's matrix, one array for all steps
        assert w.layers[0].heads[0].w_k is seeded.layers[0].heads[0].w_k
        assert w.layers[3].heads[7].w_v is seeded.layers[3].heads[7].w_v
        assert w.layers[2].w_o is seeded.layers[2].w_o


def test_step_weights_are_the_seeded_ones_with_the_given_matrix_in_place() -> None:
    lesson = parse_lesson(big_lesson(3, 16, 4, 2, new_seed_each_step=True), "big.toml")
    for step in lesson.steps:
        st = step.state
        plain = Weights.seeded(st.settings)
        w = st.weights
        assert w is not None
        plain.layers[0].heads[0].w_q = np.array(w.layers[0].heads[0].w_q)
        for a, b in zip(w.layers, plain.layers, strict=True):
            assert np.array_equal(a.w_o, b.w_o)
            for ha, hb in zip(a.heads, b.heads, strict=True):
                for p in ("w_q", "w_k", "w_v"):
                    assert np.array_equal(getattr(ha, p), getattr(hb, p))
        trace = compute_step(step)
        assert trace.settings.seed == st.settings.seed


def test_step_weights_are_read_only_and_copy_to_an_editable_set() -> None:
    lesson = parse_lesson(big_lesson(1, 8, 2, 1, new_seed_each_step=False), "big.toml")
    w = lesson.steps[0].state.weights
    assert w is not None
    for m in (w.layers[0].w_o, w.layers[0].heads[0].w_q, w.layers[0].heads[1].w_k):
        assert not m.flags.writeable
    editable = w.copy()
    assert type(editable) is Weights
    editable.layers[0].heads[1].w_k[0, 0] = 5.0
    assert w.layers[0].heads[1].w_k[0, 0] != 5.0
    assert Settings(d_model=8, heads=2, layers=1).d_k == w.layers[0].heads[0].w_q.shape[1]
