"""Snapshots: exact, immutable, and restored exactly; a snapshot that does not fit together is
refused without changing anything."""

import dataclasses

import numpy as np
import pytest

from attnstudio.core.lessons import load_lesson
from attnstudio.studio import Snapshot, StudioError, StudioModel
from attnstudio.studio.snapshot import same


def busy_model() -> StudioModel:
    """A model where every field of the snapshot differs from its default."""
    m = StudioModel()
    m.set_weight_cell(0, 0, "w_q", 0, 0, 0.25)
    m.set_setting(d_model=8, heads=2)  # stashes the 4-wide edit
    m.set_weight_cell(0, 1, "w_o", 2, 3, -0.5)
    m.set_embedding_cell(0, 1, 1.5)
    m.set_direct(0, 1, "v", np.arange(40.0).reshape(10, 4) / 10)
    lesson = load_lesson("causal")
    m.open_lesson(lesson)
    m.go_to_step(2)  # the step that asks which weights are 0: mark one, then go back
    assert m.answer_cell(0, 1)
    m.prev_step()
    m.apply(sentence="a b c d", settings={"temperature": 0.5, "layers": 2, "d_model": 8, "heads": 2},
            stage="weights", layer=1, head=1, selected_row=2, highlight_rows=(1,), highlight_cells=((1, 0),),
            theme="light", zoom=1.5, weights_scale="row", embeddings=np.ones((4, 8)),
            direct={(1, 1, "q"): np.full((4, 4), 0.5)}, padding=(3,), mask_cells=((0, 1), (2, 2)))
    m.pin()
    return m


def test_every_field_differs_from_the_default_in_the_busy_model():
    snap, default = busy_model().snapshot(), Snapshot()
    differing = [f.name for f in dataclasses.fields(Snapshot)
                 if not same(getattr(snap, f.name), getattr(default, f.name))]
    assert differing == [f.name for f in dataclasses.fields(Snapshot)]


def test_restore_brings_back_every_field_exactly():
    m = busy_model()
    snap = m.snapshot()
    m.close_lesson()
    m.reset()
    m.apply(sentence="something else entirely", settings={"d_model": 4, "heads": 1, "layers": 1}, stage="tokens",
            theme="dark", zoom=1.0, weights_scale="unit")
    assert m.snapshot() != snap
    m.restore(snap)
    assert m.snapshot() == snap
    for f in dataclasses.fields(Snapshot):
        assert same(getattr(m.snapshot(), f.name), getattr(snap, f.name)), f.name
    assert snap.stash and snap.lesson is not None and snap.step == 1  # the round trip covered them


def test_a_snapshot_does_not_change_when_the_model_goes_on():
    m = StudioModel()
    snap = m.snapshot()
    w_q = snap.weights.layers[0].heads[0].w_q.copy()
    m.set_weight_cell(0, 0, "w_q", 0, 0, 9.0)
    m.set_sentence("other words")
    assert snap.sentence != m.sentence
    np.testing.assert_array_equal(snap.weights.layers[0].heads[0].w_q, w_q)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.sentence = "x"  # type: ignore[misc]


def test_equality_is_exact_down_to_the_last_bit():
    m = StudioModel()
    a = m.snapshot()
    m.set_weight_cell(0, 0, "w_k", 0, 0, float(m.matrix("w_k")[0, 0]) + 1e-15)
    assert m.snapshot() != a
    m.set_weight_cell(0, 0, "w_k", 0, 0, float(a.weights.layers[0].heads[0].w_k[0, 0]))
    assert m.snapshot() == a.__class__(**{f.name: getattr(m.snapshot(), f.name) for f in dataclasses.fields(a)})
    assert same(np.array([np.nan]), np.array([np.nan])) and not same(np.array([0.0]), np.array([-0.0 + 1e-300]))
    with pytest.raises(TypeError):
        hash(a)


@pytest.mark.parametrize("bad", [
    {"stage": "nope"},
    {"layer": 3},
    {"head": 1},
    {"selected_row": 10},
    {"highlight_rows": (99,)},
    {"theme": "neon"},
    {"zoom": 9.0},
    {"weights_scale": "log"},
    {"step": 0},  # a step without a lesson
])
def test_restore_refuses_a_snapshot_that_does_not_fit_and_changes_nothing(bad):
    m = StudioModel()
    before = m.snapshot()
    seen = []
    m.events.connect_any(seen.append)
    with pytest.raises(StudioError):
        m.restore(dataclasses.replace(before, **bad))
    assert m.snapshot() is before and seen == []


def test_restore_refuses_weights_of_another_size():
    m = StudioModel()
    other = StudioModel(settings=m.settings.with_(d_model=8, heads=2)).snapshot()
    with pytest.raises(StudioError, match="weights do not fit"):
        m.restore(dataclasses.replace(m.snapshot(), weights=other.weights))
