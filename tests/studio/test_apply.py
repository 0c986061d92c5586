"""apply(): everything checked before anything changes; one announcement per change or batch;
the selection and highlights never outlive the tokens or the lesson they were made for."""

import dataclasses

import numpy as np
import pytest

from attnstudio.core import AttnStudioError, MatrixError, SettingsError, Weights
from attnstudio.core.lessons import load_lesson
from attnstudio.studio import StudioError, StudioModel


class Recorder:
    """Every announcement a model makes: the kinds of each, and each kind's own callback."""

    def __init__(self, model: StudioModel) -> None:
        self.any: list[frozenset[str]] = []
        self.calls: dict[str, int] = {}
        model.events.connect_any(self.any.append)
        for kind in ("inputs", "view", "selection", "display", "lesson"):
            model.events.connect(kind, lambda k=kind: self.calls.__setitem__(k, self.calls.get(k, 0) + 1))


@pytest.fixture
def model():
    return StudioModel()


BAD_CHANGES = [
    ({"settings": {"d_model": 6, "heads": 4}}, SettingsError),
    ({"settings": {"no_such_setting": 1}}, SettingsError),
    ({"settings": {"temperature": 0}}, SettingsError),
    ({"direct": {(0, 0, "q"): np.zeros((3, 4))}}, MatrixError),
    ({"direct": {(0, 3, "q"): np.zeros((10, 4))}}, MatrixError),
    ({"direct": {(0, 0): np.zeros((5, 4))}}, StudioError),
    ({"direct": {(0, 0, "w"): np.zeros((5, 4))}}, MatrixError),
    ({"embeddings": np.full((10, 4), np.nan)}, MatrixError),
    ({"weights": Weights.seeded(StudioModel().settings.with_(d_model=8, heads=2))}, MatrixError),
    ({"stage": "softmax"}, StudioError),
    ({"layer": 1}, StudioError),
    ({"head": -1}, StudioError),
    ({"selected_row": 10}, StudioError),
    ({"selected_row": True}, StudioError),
    ({"highlight_rows": (0, 11)}, StudioError),
    ({"highlight_cells": ((0, 10),)}, StudioError),
    ({"theme": "neon"}, StudioError),
    ({"zoom": 0.1}, StudioError),
    ({"zoom": float("nan")}, StudioError),
    ({"weights_scale": "log"}, StudioError),
    ({"lesson": None}, StudioError),  # not a change apply() takes: lessons open through open_lesson
]


@pytest.mark.parametrize(("bad", "error"), BAD_CHANGES)
def test_a_bad_value_among_good_ones_changes_nothing_and_announces_nothing(model, bad, error):
    before = model.snapshot()
    generation = model.generation
    rec = Recorder(model)
    good = {"sentence": "a completely new sentence here", "stage": "weights", "theme": "light", "zoom": 2.0,
            "settings": {"temperature": 3.0}}
    with pytest.raises(error):
        model.apply(**{**good, **bad})
    assert model.snapshot() is before and model.generation == generation
    assert rec.any == [] and rec.calls == {}
    assert issubclass(error, AttnStudioError)  # the window catches one type


def test_one_apply_is_one_announcement_of_each_kind_that_changed(model):
    rec = Recorder(model)
    model.apply(sentence="a b c", settings={"temperature": 0.5}, stage="weights", selected_row=1, theme="light")
    assert rec.any == [frozenset({"inputs", "view", "selection", "display"})]
    assert rec.calls == {"inputs": 1, "view": 1, "selection": 1, "display": 1}


def test_a_batch_of_many_edits_is_one_announcement(model):
    rec = Recorder(model)
    generation = model.generation
    with model.batch():
        for i in range(30):
            model.set_weight_cell(0, 0, "w_q", 0, 0, i / 100)
        model.set_setting(temperature=2.0)
        model.set_stage("scores")
        assert rec.any == []  # nothing is announced inside the batch
    assert rec.any == [frozenset({"inputs", "view"})] and rec.calls == {"inputs": 1, "view": 1}
    assert model.generation == generation + 31  # each change still orders computations


def test_a_change_to_the_same_value_announces_nothing(model):
    rec = Recorder(model)
    model.apply(sentence=model.sentence, stage=model.stage, theme=model.theme, settings={})
    model.set_view(layer=5, head=5)  # clamped to (0, 0): where it already is
    assert rec.any == []


def test_the_selection_and_highlights_go_when_the_tokens_change(model):
    model.apply(selected_row=7, highlight_rows=(1, 2), highlight_cells=((7, 1),))
    model.set_sentence("The cat sat on the mat because it was tired")  # same tokens: kept
    assert model.selected_row == 7 and model.highlight_rows == (1, 2)
    model.set_sentence("The cat sat on the mat because it was tired .")  # one more token
    assert (model.selected_row, model.highlight_rows, model.highlight_cells) == (-1, (), ())
    model.select_row(3)
    model.apply(sentence="x y z w v", selected_row=4)  # set together with the new tokens: kept
    assert model.selected_row == 4


def test_a_lesson_opening_stepping_and_closing_clears_the_selection(model):
    rec = Recorder(model)
    model.apply(stage="weights", selected_row=7)
    lesson = load_lesson("trophy-suitcase")
    model.open_lesson(lesson)
    first = lesson.steps[0].state
    assert model.selected_row == -1 and model.highlight_rows == first.highlight_rows
    assert (model.lesson, model.step_index) == (lesson, 0)
    model.select_row(2)
    model.go_to_step(2)
    third = lesson.steps[2].state
    assert model.selected_row == -1 and model.view_highlights() == (third.highlight_rows, third.highlight_cells)
    model.select_row(2)
    model.close_lesson()
    assert (model.lesson, model.step_index, model.selected_row, model.highlight_rows) == (None, -1, -1, ())
    assert rec.calls["lesson"] == 3  # open, step, close


def test_a_step_that_cannot_be_shown_changes_nothing(model):
    lesson = load_lesson("it-cat")
    bad_state = lesson.steps[0].state.__class__(**{**lesson.steps[0].state.__dict__, "layer": 4})
    broken = lesson.__class__(**{**lesson.__dict__,
                                 "steps": (lesson.steps[0].__class__(**{**lesson.steps[0].__dict__,
                                                                        "state": bad_state}),)})
    before = model.snapshot()
    with pytest.raises(StudioError, match="step 1: cannot be shown: layer 4"):
        model.open_lesson(broken)
    assert model.snapshot() is before


def test_view_highlights_follow_the_stage(model):
    model.apply(selected_row=3, highlight_rows=(1,), highlight_cells=((1, 2),))
    assert model.view_highlights("embeddings") == ((1,), ())  # step rows everywhere
    assert model.view_highlights("output") == ((1, 3), ())  # the query row where rows are queries
    assert model.view_highlights("weights") == ((1, 3), ((1, 2),))  # cells on token × token stages


def test_stepping_goes_through_the_lesson_when_one_is_open_else_the_stages(model):
    model.step_forward()
    assert model.stage == "embeddings"
    model.step_back()
    model.step_back()
    assert model.stage == "tokens"
    lesson = load_lesson("causal")
    model.open_lesson(lesson)
    model.step_forward()
    assert model.step_index == 1 and model.stage == lesson.steps[1].state.stage
    for _ in range(len(lesson.steps) + 2):
        model.step_forward()
    assert model.step_index == len(lesson.steps) - 1


def test_closing_a_lesson_brings_back_the_users_own_work():
    model = StudioModel()
    model.set_weight_cell(0, 0, "w_q", 1, 1, 0.75)
    model.apply(sentence="my own words for the class", stage="scores", settings={"temperature": 2.0})
    mine = model.snapshot()
    model.open_lesson(load_lesson("trophy-suitcase"))
    model.next_step()
    model.open_lesson(load_lesson("causal"))  # one lesson after another: still back to mine
    model.set_setting(temperature=0.5)  # an edit inside the lesson belongs to the lesson
    model.apply(theme="light", zoom=1.5)  # the presenter's display choice stays
    model.close_lesson()
    back = model.snapshot()
    assert back == dataclasses.replace(mine, theme="light", zoom=1.5)
    assert model.matrix("w_q")[1, 1] == 0.75 and model.sentence == "my own words for the class"


def test_the_model_says_when_the_screen_has_left_the_lessons_step():
    model = StudioModel()
    lesson = load_lesson("causal")
    model.open_lesson(lesson)
    assert not model.off_script
    other = next(k for k in ("tokens", "heads") if k != lesson.steps[0].state.stage)
    model.set_stage(other)
    assert model.off_script
    model.last_step()
    assert model.step_index == len(lesson.steps) - 1 and not model.off_script
    model.first_step()
    assert model.step_index == 0


def test_a_lesson_may_colour_the_weights_and_closing_gives_the_presenters_scale_back():
    model = StudioModel()
    model.apply(weights_scale="row")
    model.open_lesson(load_lesson("temperature"))
    assert model.weights_scale == "unit"
    model.close_lesson()
    assert model.weights_scale == "row"
    model.open_lesson(load_lesson("it-cat"))  # a lesson that leaves the colours alone
    assert model.weights_scale == "row"
