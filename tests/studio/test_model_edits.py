"""Edits through the studio model: a refused value names the cell and keeps the old one,
overrides follow their tokens when the sentence changes, edits survive a trip through other
matrix sizes, and every stored array is read-only (so a snapshot cannot change later)."""

import numpy as np
import pytest

from attnstudio.core import MatrixError, Settings, Weights, compute
from attnstudio.studio import StudioModel
from attnstudio.studio.inputs import run


class Noted(StudioModel):
    """A model that keeps the notes it announced."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []
        self.events.connect_note(self.notes.append)


@pytest.fixture
def state():
    return Noted()


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
    tr = run(state.inputs())
    plain = compute(list(tr.tokens))
    got = np.asarray(tr.head().q)
    np.testing.assert_array_equal(got[0], q[9])  # "tired" moved from position 9 to 0
    np.testing.assert_array_equal(got[1:9], q[1:9])  # unchanged positions keep their rows
    np.testing.assert_allclose(got[9], np.asarray(plain.head().q)[9], atol=1e-12)  # "now": X·W_Q
    # Back to the original sentence: the original direct matrix again, nothing lost.
    state.set_sentence(" ".join(tokens))
    np.testing.assert_array_equal(run(state.inputs()).head().q, q)


def test_edits_survive_a_round_trip_through_other_sizes(state):
    state.set_weight_cell(0, 0, "w_k", 1, 1, 0.33)
    notes = state.notes
    state.set_setting(d_model=6, heads=3)
    assert "re-seeded" in notes[-1]
    seeded = Weights.seeded(Settings(d_model=6, heads=3)).layers[0].heads[0].w_k
    np.testing.assert_array_equal(state.matrix("w_k"), seeded)
    state.set_setting(d_model=4, heads=1)
    assert state.matrix("w_k")[1, 1] == 0.33 and "back" in notes[-1]
    state.reset()
    assert notes[-1] == "Reset: seeded values for seed 0"
    np.testing.assert_array_equal(state.matrix("w_k"), Weights.seeded(Settings()).layers[0].heads[0].w_k)


def test_identity_where_square_and_on_the_diagonal_part(state):
    state.identity("w_o")
    np.testing.assert_array_equal(state.matrix("w_o"), np.eye(4))
    state.set_setting(d_model=8, heads=2)
    state.identity("w_q")
    np.testing.assert_array_equal(state.matrix("w_q"), np.eye(8, 4))



def test_stored_arrays_are_read_only_and_edits_replace_them(state):
    before = state.matrix("w_q")
    with pytest.raises(ValueError, match="read-only"):
        before[0, 0] = 5.0
    state.set_weight_cell(0, 0, "w_q", 0, 0, "0.5")
    assert state.matrix("w_q") is not before and before[0, 0] != 0.5 and state.matrix("w_q")[0, 0] == 0.5
    state.set_embedding_cell(1, 2, "−1.5")  # a typed Unicode minus
    x = state.embeddings_matrix()
    assert x[1, 2] == -1.5
    state.set_direct(0, 0, "k", np.ones((10, 4)))
    for ov in (state.snapshot().embeddings, dict(state.snapshot().direct)[(0, 0, "k")]):
        assert not ov.matrix.flags.writeable


def test_a_direct_matrix_for_a_head_that_does_not_exist_is_refused(state):
    with pytest.raises(MatrixError, match=r"Q \(layer 1, head 2, direct\) does not exist"):
        state.set_direct(0, 1, "q", np.zeros((10, 4)))
    with pytest.raises(MatrixError, match="unknown weight matrix"):
        state.set_weight_cell(0, 0, "w_x", 0, 0, 1.0)
    assert state.direct_keys() == frozenset() and not state.snapshot().edited
