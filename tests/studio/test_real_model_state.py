"""A real model open in the studio model (no Qt): its tokens and sizes, what it refuses, and
closing it. The numbers themselves are checked against independent references in
tests/core/test_model_reference.py; here, that the studio routes the sentence to the model."""

from __future__ import annotations

import numpy as np
import pytest

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.lessons import load_lesson
from attnstudio.studio import StudioError, StudioModel
from attnstudio.studio.result import compute_result

SENTENCE = "Tokenization splits words"


def announced(model: StudioModel) -> list[frozenset[str]]:
    seen: list[frozenset[str]] = []
    model.events.connect_any(seen.append)
    return seen


def test_an_open_model_tokenizes_and_computes_the_sentence(minilm):
    st = StudioModel(sentence=SENTENCE)
    seen = announced(st)
    st.open_model(minilm)
    assert {"inputs", "view"} <= set(seen[-1])
    tokens = st.tokens()
    assert tokens == tuple(minilm.encode(SENTENCE).tokens)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and any(t.startswith("##") for t in tokens)
    assert st.view_sizes() == (6, 12)
    st.set_view(layer=5, head=11)  # beyond any toy settings' layers
    assert (st.layer, st.head) == (5, 11)
    res = compute_result(st.inputs())
    assert res.error is None and res.trace is not None and res.trace.model is not None
    assert res.trace.tokens == tokens and (res.trace.settings.layers, res.trace.settings.heads) == (6, 12)
    direct = minilm.trace(SENTENCE, "numpy", "float64")
    np.testing.assert_array_equal(res.trace.head(5, 11).weights, direct.head(5, 11).weights)
    st.select_row(len(tokens) - 1)  # [SEP]: a row the toy tokenizer does not have
    assert st.selected_row == len(tokens) - 1


def test_what_the_model_fixes_is_refused_and_nothing_changes(minilm):
    st = StudioModel(sentence=SENTENCE)
    st.open_model(minilm)
    before = st.snapshot()
    for change in (lambda: st.set_setting(heads=2), lambda: st.set_setting(temperature=2.0),
                   lambda: st.set_setting(mask="causal"), lambda: st.set_weight_cell(0, 0, "w_q", 0, 0, 1.0),
                   lambda: st.set_embeddings(np.zeros((3, 4))), lambda: st.toggle_padding(0),
                   lambda: st.open_lesson(load_lesson("causal"))):
        with pytest.raises(StudioError, match="Close Model"):
            change()
        assert st.snapshot() is before
    st.set_setting(backend="numpy", dtype="float32")  # how it computes stays the user's choice
    assert st.settings.dtype == "float32"


def test_closing_the_model_gives_back_the_toy_work(minilm):
    st = StudioModel(sentence=SENTENCE)
    st.set_setting(heads=2)
    toy = st.snapshot()
    st.open_model(minilm)
    st.set_view(layer=4, head=9)
    st.set_sentence("A new sentence")
    while_open = st.snapshot()
    seen = announced(st)
    st.close_model()
    assert st.real is None and {"inputs", "view"} <= set(seen[-1])
    assert (st.layer, st.head) == (0, 1) and st.settings == toy.settings
    assert st.tokens() == ("A", "new", "sentence")
    assert compute_result(st.inputs()).trace.model is None
    st.restore(st.fit_view(while_open))  # an undo step taken while the model was open: into the toy's sizes
    assert (st.layer, st.head) == (0, 1)


def test_a_lesson_open_refuses_a_model(minilm):
    st = StudioModel()
    st.open_lesson(load_lesson("causal"))
    with pytest.raises(StudioError, match="close the lesson"):
        st.open_model(minilm)
    assert st.real is None


def test_the_work_saved_while_a_model_is_open_is_the_toy_work_and_reads_back(minilm):
    from attnstudio.studio import workspace

    st = StudioModel(sentence=SENTENCE)
    st.set_setting(heads=2)
    st.open_model(minilm)
    st.set_view(layer=5, head=11)
    back = workspace.loads(workspace.dumps(st.snapshot()), "saved.attn")
    assert back.settings == st.settings and back.sentence == SENTENCE
    assert (back.layer, back.head) == (0, 1)


def test_a_real_heads_w_q_is_edited_in_the_studio_not_in_the_model(minilm):
    st = StudioModel(sentence=SENTENCE)
    st.open_model(minilm)
    own = minilm.w_q(1, 3)
    np.testing.assert_array_equal(st.model_w_q(1, 3), own)
    seen = announced(st)
    assert st.set_model_w_q_cell(1, 3, 10, 2, "1.5") == 1.5
    assert seen[-1] == frozenset({"inputs"}) and st.model_edits() == {(1, 3)}
    expected = own.copy()
    expected[10, 2] = 1.5
    np.testing.assert_array_equal(st.model_w_q(1, 3), expected)
    res = compute_result(st.inputs())
    direct = minilm.trace(SENTENCE, "numpy", "float64", w_q={(1, 3): expected})
    np.testing.assert_array_equal(res.trace.head(1, 3).q, direct.head(1, 3).q)
    np.testing.assert_array_equal(minilm.w_q(1, 3), own)  # the model is untouched
    with pytest.raises(AttnStudioError, match="row 11, column 3"):
        st.set_model_w_q_cell(1, 3, 10, 2, "nan")
    st.reset()
    assert st.model_edits() == frozenset()
    st.set_model_w_q_cell(0, 0, 0, 0, 0.0)
    st.close_model()
    st.open_model(minilm)
    assert st.model_edits() == frozenset()


def test_compare_is_the_toy_models_a_pin_is_dropped_on_opening_and_refused_while_open(minilm):
    st = StudioModel(sentence=SENTENCE)
    st.pin()
    assert st.pinned is not None
    st.open_model(minilm)
    assert st.pinned is None
    with pytest.raises(StudioError, match="Close Model"):
        st.pin()


def test_the_toy_masks_follow_the_toy_sentence_while_a_model_is_open(minilm):
    st = StudioModel(sentence="a b c d e")
    st.apply(settings={"mask": "padding"}, padding=(4,), mask_cells=((4, 0), (1, 2)))
    st.open_model(minilm)  # the model's tokens ([CLS] a b c [SEP]) are not what the masks count
    st.set_sentence("a b c")
    st.close_model()
    assert st.padding == () and st.mask_cells == ((1, 2),)
    assert compute_result(st.inputs()).error is None
