"""QtStudio and ComputeController: one changed signal per frame of edits, none for a refused
change, stale results dropped, failures turned into messages. The model's own rules (all or
nothing, overrides that follow their tokens, snapshots) are tested without Qt in tests/studio."""

import numpy as np
import pytest

from attnstudio.core import MatrixError, Settings, SettingsError, Weights, compute
from attnstudio.qt.compute_worker import ComputeController
from attnstudio.qt.qt_studio import QtStudio
from attnstudio.studio.inputs import run


class Watched:
    """A model with its Qt adapter and the changed signals seen so far."""

    def __init__(self) -> None:
        self.qt = QtStudio()
        self.model = self.qt.model
        self.changes: list[int] = []
        self.qt.changed.connect(lambda: self.changes.append(1))


@pytest.fixture
def state(qtbot):
    return Watched()


def test_many_edits_in_one_turn_make_one_changed_signal(state, qtbot):
    for i in range(30):
        state.model.set_weight_cell(0, 0, "w_q", 0, 0, i / 100)
    state.model.set_setting(temperature=2.0)
    qtbot.waitUntil(lambda: len(state.changes) == 1, timeout=1000)
    qtbot.wait(40)
    assert len(state.changes) == 1
    assert state.model.matrix("w_q")[0, 0] == 0.29


def test_apply_sets_everything_with_one_recompute(state, qtbot):
    views = []
    state.qt.view_changed.connect(lambda: views.append(1))
    m = state.model
    q = np.arange(12.0).reshape(3, 4) / 10
    w = Weights.seeded(Settings(d_model=8, heads=2, seed=5))
    m.apply(sentence="a b c", settings={"d_model": 8, "heads": 2, "temperature": 0.5}, weights=w,
            direct={(0, 1, "q"): q}, stage="weights", layer=0, head=1)
    qtbot.waitUntil(lambda: len(state.changes) == 1, timeout=1000)
    qtbot.wait(40)
    assert len(state.changes) == 1 and len(views) == 1
    assert (m.stage, m.layer, m.head) == ("weights", 0, 1)
    tr = run(m.inputs())
    ref = compute(["a", "b", "c"], Settings(d_model=8, heads=2, temperature=0.5), w, direct={(0, 1, "q"): q})
    np.testing.assert_allclose(tr.head(0, 1).weights, ref.head(0, 1).weights, atol=1e-12)
    np.testing.assert_array_equal(tr.head(0, 1).q, q)


def test_a_bad_apply_changes_nothing(state, qtbot):
    m = state.model
    before = m.snapshot()
    with pytest.raises(SettingsError):
        m.apply(sentence="new words", settings={"d_model": 6, "heads": 4})
    with pytest.raises(MatrixError):
        m.apply(sentence="new words", direct={(0, 0, "q"): np.zeros((5, 4))})
    assert m.snapshot() is before
    qtbot.wait(30)
    assert state.changes == []


def test_controller_drops_stale_results(state, qtbot):
    ctl = ComputeController(sync_max_tokens=4)
    got = []
    ctl.result.connect(got.append)
    state.model.set_sentence("one two three four five six")
    first = state.model.inputs()
    state.model.set_sentence("seven eight nine ten eleven twelve thirteen")
    second = state.model.inputs()
    ctl.request(first)
    ctl.request(second)  # waits: one computation at a time
    qtbot.waitUntil(lambda: not ctl.busy, timeout=10_000)
    assert [r.generation for r in got] == [second.generation]
    assert got[0].trace.n == 7 and ctl.dropped == 1


def test_controller_turns_failures_into_messages(state, qtbot):
    ctl = ComputeController()
    got = []
    ctl.result.connect(got.append)
    state.model.set_sentence("   ")
    ctl.request(state.model.inputs())
    assert got[-1].empty and "empty" in got[-1].error
    state.model.set_sentence("a b")
    snap = state.model.inputs()
    bad = type(snap)(snap.sentence, snap.tokens, snap.settings, snap.weights, embeddings=np.full((2, 4), np.nan),
                     generation=snap.generation)
    ctl.request(bad)
    assert got[-1].trace is None and "not a number" in got[-1].error
