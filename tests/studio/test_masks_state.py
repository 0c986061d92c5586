"""The drawn masks as studio state: toggled through the model (one change, all or nothing),
dropped with a note when the sentence shrinks, carried into the computation and a lesson
step, saved in a workspace and read back (version 1 files too)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.lessons import load_lesson
from attnstudio.studio import StudioModel
from attnstudio.studio.authoring import record, step_state
from attnstudio.studio.inputs import run
from attnstudio.studio.snapshot import same
from attnstudio.studio.workspace import VERSION, WorkspaceError, dumps, loads


def model(sentence: str = "the cat sat on the mat") -> StudioModel:
    m = StudioModel(sentence)
    m.notes = []  # type: ignore[attr-defined]
    m.events.connect_note(m.notes.append)  # type: ignore[attr-defined]
    return m


def test_toggling_a_cell_masks_and_unmasks_it_and_the_computation_follows():
    m = model()
    m.set_setting(mask="custom")
    kinds: list[frozenset[str]] = []
    m.events.connect_any(kinds.append)
    m.toggle_mask_cell(2, 1)
    assert m.mask_cells == ((2, 1),) and kinds[-1] == {"inputs"}
    head = run(m.inputs()).head()
    assert np.argwhere(np.isneginf(head.masked)).tolist() == [[2, 1]] and head.weights[2, 1] == 0.0
    m.toggle_mask_cell(2, 1)
    assert m.mask_cells == ()
    assert not np.isneginf(run(m.inputs()).head().masked).any()


def test_toggling_padding_and_a_refused_toggle_changes_nothing():
    m = model()
    m.set_setting(mask="padding")
    m.toggle_padding(5)
    m.toggle_padding(0)
    assert m.padding == (0, 5)
    assert np.all(run(m.inputs()).head().weights[:, [0, 5]] == 0.0)
    before = m.snapshot()
    with pytest.raises(AttnStudioError, match="token 6 does not exist"):
        m.toggle_padding(6)
    with pytest.raises(AttnStudioError, match="key column 9 does not exist"):
        m.toggle_mask_cell(0, 9)
    with pytest.raises(AttnStudioError, match="masked cell's key 6 does not exist"):
        m.apply(mask_cells=[(0, 6)])
    assert m.snapshot() is before


def test_a_shrinking_sentence_drops_what_lies_beyond_it_with_a_note_and_keeps_the_rest():
    m = model()
    m.apply(settings={"mask": "custom"}, mask_cells=[(0, 5), (1, 1), (5, 5)], padding=[4])
    m.set_sentence("the cat sat on the mat")  # same tokens: nothing dropped
    assert m.notes == []  # type: ignore[attr-defined]
    m.set_sentence("the cat sat")
    assert m.mask_cells == ((1, 1),) and m.padding == ()
    assert m.notes[-1] == "1 padding token(s) and 2 masked cell(s) beyond the 3 tokens dropped (undo brings them back)"  # type: ignore[attr-defined]


def test_switching_masks_keeps_the_drawn_cells_for_coming_back():
    m = model()
    m.apply(settings={"mask": "custom"}, mask_cells=[(1, 1)])
    m.set_setting(mask="causal")
    assert m.mask_cells == ((1, 1),)
    causal = run(m.inputs()).head().masked
    assert np.array_equal(np.isneginf(causal), np.triu(np.ones((6, 6), bool), k=1))
    m.set_setting(mask="custom")
    assert np.argwhere(np.isneginf(run(m.inputs()).head().masked)).tolist() == [[1, 1]]


def test_a_lesson_step_sets_the_mask_and_closing_brings_the_user_s_back():
    m = model()
    m.apply(settings={"mask": "custom"}, mask_cells=[(3, 3)])
    les = load_lesson("it-cat")
    m.open_lesson(les)
    m.go_to_step(1)
    assert m.mask_cells == ((0, 0),) and m.settings.mask == "custom"
    assert run(m.inputs()).head().weights[0, 0] == 0.0
    m.close_lesson()
    assert m.mask_cells == ((3, 3),)


def test_a_recorded_step_keeps_the_mask_of_its_kind_only():
    m = model()
    m.apply(settings={"mask": "custom"}, mask_cells=[(2, 0)], padding=[1])
    st = step_state(m.snapshot())
    assert st.mask_cells == ((2, 0),) and st.padding == ()
    m.set_setting(mask="padding")
    step = record(m.snapshot(), "t", "n")
    assert step.state.mask_cells == () and step.state.padding == (1,)


def test_a_workspace_keeps_the_drawn_masks_exactly():
    m = model()
    m.apply(settings={"mask": "padding"}, mask_cells=[(0, 1), (5, 5)], padding=[2, 4])
    text = dumps(m.snapshot())
    doc = json.loads(text)
    assert doc["version"] == VERSION and doc["padding"] == [2, 4] and doc["mask_cells"] == [[0, 1], [5, 5]]
    back = loads(text, "w.attn")
    assert same(back.padding, m.snapshot().padding) and same(back.mask_cells, m.snapshot().mask_cells)
    assert back.padding == (2, 4) and back.mask_cells == ((0, 1), (5, 5))
    m2 = StudioModel()
    m2.restore(back)
    assert np.array_equal(run(m2.inputs()).head().weights, run(m.inputs()).head().weights)


def test_a_version_1_workspace_opens_with_no_drawn_masks_and_refuses_the_new_keys():
    doc = json.loads(dumps(model().snapshot()))
    del doc["padding"], doc["mask_cells"]
    doc["version"] = 1
    snap = loads(json.dumps(doc), "old.attn")
    assert snap.padding == () and snap.mask_cells == ()
    doc["padding"] = []
    with pytest.raises(WorkspaceError, match=r"^old\.attn: padding: unknown key"):
        loads(json.dumps(doc), "old.attn")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("padding", [6], "padding[0]: must be a whole number from 0 to 5 (a token position; the sentence has 6 tokens)"),
    ("padding", [1, 1], "padding: padding token 1 is given twice"),
    ("padding", "1", "padding: must be a list [...], not text"),
    ("mask_cells", [[0]], "mask_cells[0]: must be a [query, key] pair of token positions"),
    ("mask_cells", [[0, 6]], "mask_cells[0]: must be a whole number from 0 to 5"),
    ("mask_cells", [[0, 1], [0, 1]], "mask_cells: masked cell (0, 1) is given twice"),
    ("mask_cells", [[True, 1]], "mask_cells[0]: must be a whole number from 0 to 5"),
])
def test_a_bad_drawn_mask_in_a_workspace_is_one_message(key, value, message):
    doc = json.loads(dumps(model().snapshot()))
    doc[key] = value
    with pytest.raises(WorkspaceError) as exc:
        loads(json.dumps(doc), "w.attn")
    assert message in str(exc.value)
