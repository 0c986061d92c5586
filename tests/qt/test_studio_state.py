"""StudioState and ComputeController: one recompute per batch of edits, bad edits change nothing,
overrides follow their tokens, stale results are dropped."""

import numpy as np
import pytest

from attnstudio.core import MatrixError, Settings, SettingsError, Weights, compute
from attnstudio.qt.compute_worker import ComputeController
from attnstudio.qt.inputs import run
from attnstudio.qt.state import StudioState


@pytest.fixture
def state(qtbot):
    st = StudioState()
    changes = []
    st.changed.connect(lambda: changes.append(1))
    st.changes = changes
    return st


def test_many_edits_in_one_turn_make_one_changed_signal(state, qtbot):
    for i in range(30):
        state.set_weight_cell(0, 0, "w_q", 0, 0, i / 100)
    state.set_setting(temperature=2.0)
    qtbot.waitUntil(lambda: len(state.changes) == 1, timeout=1000)
    qtbot.wait(40)
    assert len(state.changes) == 1
    assert state.matrix("w_q")[0, 0] == 0.29


def test_apply_sets_everything_with_one_recompute(state, qtbot):
    views = []
    state.view_changed.connect(lambda: views.append(1))
    q = np.arange(12.0).reshape(3, 4) / 10
    w = Weights.seeded(Settings(d_model=8, heads=2, seed=5))
    state.apply(sentence="a b c", settings={"d_model": 8, "heads": 2, "temperature": 0.5}, weights=w,
                direct={(0, 1, "q"): q}, stage="weights", layer=0, head=1)
    qtbot.waitUntil(lambda: len(state.changes) == 1, timeout=1000)
    qtbot.wait(40)
    assert len(state.changes) == 1 and len(views) == 1
    assert (state.stage, state.layer, state.head) == ("weights", 0, 1)
    tr = run(state.snapshot())
    ref = compute(["a", "b", "c"], Settings(d_model=8, heads=2, temperature=0.5), w, direct={(0, 1, "q"): q})
    np.testing.assert_allclose(tr.head(0, 1).weights, ref.head(0, 1).weights, atol=1e-12)
    np.testing.assert_array_equal(tr.head(0, 1).q, q)


def test_a_bad_apply_changes_nothing(state, qtbot):
    before = (state.sentence, state.settings, state.weights)
    with pytest.raises(SettingsError):
        state.apply(sentence="new words", settings={"d_model": 6, "heads": 4})
    with pytest.raises(MatrixError):
        state.apply(sentence="new words", direct={(0, 0, "q"): np.zeros((5, 4))})
    assert (state.sentence, state.settings, state.weights) == before
    qtbot.wait(30)
    assert state.changes == []


@pytest.mark.parametrize("bad", ["abc", "nan", "inf", "1e999", float("nan"), float("inf")])
def test_bad_cells_raise_naming_the_cell_and_keep_the_value(state, bad):
    old = state.matrix("w_v").copy()
    with pytest.raises(MatrixError, match=r"W_V \(layer 1, head 1\) row 3, column 2: .* kept"):
        state.set_weight_cell(0, 0, "w_v", 2, 1, bad)
    np.testing.assert_array_equal(state.matrix("w_v"), old)
    with pytest.raises(MatrixError, match=r"X \(embeddings\) row 1, column 1"):
        state.set_embedding_cell(0, 0, bad)
    assert not state.has_embeddings_override()


def test_direct_rows_follow_their_tokens_and_new_tokens_follow_x_w(state):
    tokens = list(state.tokens())
    q = np.asarray(compute(tokens).head().q) + 1.0  # clearly not X·W_Q
    state.set_direct(0, 0, "q", q)
    state.set_sentence("tired cat sat on the mat because it was now")
    tr = run(state.snapshot())
    plain = compute(list(tr.tokens))
    got = np.asarray(tr.head().q)
    np.testing.assert_array_equal(got[0], q[9])  # "tired" moved from position 9 to 0
    np.testing.assert_array_equal(got[1:9], q[1:9])  # unchanged positions keep their rows
    np.testing.assert_allclose(got[9], np.asarray(plain.head().q)[9], atol=1e-12)  # "now": X·W_Q
    # Back to the original sentence: the original direct matrix again, nothing lost.
    state.set_sentence(" ".join(tokens))
    np.testing.assert_array_equal(run(state.snapshot()).head().q, q)


def test_edits_survive_a_round_trip_through_other_sizes(state):
    state.set_weight_cell(0, 0, "w_k", 1, 1, 0.33)
    notes = []
    state.note.connect(notes.append)
    state.set_setting(d_model=6, heads=3)
    assert "re-seeded" in notes[-1]
    seeded = Weights.seeded(Settings(d_model=6, heads=3)).layers[0].heads[0].w_k
    np.testing.assert_array_equal(state.matrix("w_k"), seeded)
    state.set_setting(d_model=4, heads=1)
    assert state.matrix("w_k")[1, 1] == 0.33 and "back" in notes[-1]
    state.reset()
    np.testing.assert_array_equal(state.matrix("w_k"), Weights.seeded(Settings()).layers[0].heads[0].w_k)


def test_identity_where_square_and_on_the_diagonal_part(state):
    state.identity("w_o")
    np.testing.assert_array_equal(state.matrix("w_o"), np.eye(4))
    state.set_setting(d_model=8, heads=2)
    state.identity("w_q")
    np.testing.assert_array_equal(state.matrix("w_q"), np.eye(8, 4))


def test_controller_drops_stale_results(state, qtbot):
    ctl = ComputeController(sync_max_tokens=4)
    got = []
    ctl.result.connect(got.append)
    state.set_sentence("one two three four five six")
    first = state.snapshot()
    state.set_sentence("seven eight nine ten eleven twelve thirteen")
    second = state.snapshot()
    ctl.request(first)
    ctl.request(second)  # waits: one computation at a time
    qtbot.waitUntil(lambda: not ctl.busy, timeout=10_000)
    assert [r.generation for r in got] == [second.generation]
    assert got[0].trace.n == 7 and ctl.dropped == 1


def test_controller_turns_failures_into_messages(state, qtbot):
    ctl = ComputeController()
    got = []
    ctl.result.connect(got.append)
    state.set_sentence("   ")
    ctl.request(state.snapshot())
    assert got[-1].empty and "empty" in got[-1].error
    state.set_sentence("a b")
    snap = state.snapshot()
    bad = type(snap)(snap.sentence, snap.tokens, snap.settings, snap.weights, embeddings=np.full((2, 4), np.nan),
                     generation=snap.generation)
    ctl.request(bad)
    assert got[-1].trace is None and "not a number" in got[-1].error
