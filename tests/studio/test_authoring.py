"""Lessons authored from the studio's state: a recorded step, saved and read back, plays back
as the very state that was recorded (same numbers, stage, layer, head and highlights)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from attnstudio.core.lesson_schema import LessonError
from attnstudio.core.lessons import builtin_lessons, load_lesson, parse_lesson
from attnstudio.studio import StudioModel
from attnstudio.studio.authoring import Draft, record, step_state
from attnstudio.studio.inputs import run
from attnstudio.studio.snapshot import Snapshot, same


def recorded_states() -> list[Snapshot]:
    """Six different states of one session, each after the edits a lecturer would make."""
    m = StudioModel()
    states = []
    m.set_weight_cell(0, 0, "w_q", 1, 2, "0.5")  # an edited W_Q cell
    m.set_stage("scores")
    states.append(m.snapshot())
    m.set_direct(0, 0, "k", np.arange(40.0).reshape(10, 4) / 7)  # K typed in, 10 rows
    m.set_sentence("the dog chased the cat")  # another sentence: K keeps the rows of its tokens
    m.set_setting(mask="causal")
    m.set_stage("weights")
    m.apply(highlight_rows=(1,), highlight_cells=((1, 0), (4, 1)))
    states.append(m.snapshot())
    m.set_setting(heads=2, temperature=0.5)
    m.set_view(head=1)
    m.set_embedding_cell(2, 3, "-1.25")
    m.apply(weights_scale="unit", stage="output")
    states.append(m.snapshot())
    m.set_setting(layers=2)
    m.set_view(layer=1, head=0)
    m.set_weight_cell(1, 0, "w_o", 3, 0, "2")
    m.set_stage("heads")
    states.append(m.snapshot())
    m.reset()  # back to the seeded matrices: the next step must drop every edit
    m.apply(stage="projections", highlight_rows=(0, 4), weights_scale="row")
    states.append(m.snapshot())
    m.set_sentence("Völker, hört die Signale!")
    m.set_setting(normalizer="sparsemax", positional=True, seed=7)
    states.append(m.snapshot())
    return states


def draft_of(states: list[Snapshot]) -> Draft:
    draft = Draft()
    for k, snap in enumerate(states, 1):
        draft = draft.add(record(snap, f"Step {k}", f"Narration {k}: <b>look</b> at \"this\"\nand \\ that"))
    return draft


def assert_plays_as(model: StudioModel, want: Snapshot) -> None:
    got = model.snapshot()
    for name in ("sentence", "stage", "layer", "head", "highlight_rows", "highlight_cells", "weights_scale"):
        assert getattr(got, name) == getattr(want, name), name
    assert same(got.settings, want.settings)
    assert same(got.weights, want.weights)
    a, b = run(model.inputs()), run(model_at(want).inputs())
    assert a.tokens == b.tokens
    assert np.array_equal(a.x, b.x)
    for la, lb in zip(a.layers, b.layers, strict=True):
        assert np.array_equal(la.output, lb.output)
        for ha, hb in zip(la.heads, lb.heads, strict=True):
            for stage in ("q", "k", "v", "scores", "scaled", "masked", "weights", "output"):
                assert np.array_equal(getattr(ha, stage), getattr(hb, stage)), stage


def model_at(snap: Snapshot) -> StudioModel:
    m = StudioModel()
    m.restore(snap)
    return m


def test_recorded_steps_saved_and_read_back_play_back_identically():
    states = recorded_states()
    text = draft_of(states).toml()
    lesson = parse_lesson(text, "recorded.toml")
    assert len(lesson.steps) == len(states)
    player = StudioModel()
    player.open_lesson(lesson)
    for k, want in enumerate(states):
        player.go_to_step(k)
        assert_plays_as(player, want)
    # Stepping back plays the earlier step again, exactly (nothing carried from later steps).
    player.go_to_step(0)
    assert_plays_as(player, states[0])


def test_the_recorded_lesson_keeps_only_what_changes():
    text = draft_of(recorded_states()).toml()
    steps = text.split("[[steps]]")[1:]
    assert "w_q" in steps[0] and "w_k" not in steps[0]  # only the edited matrix
    assert "sentence" not in steps[2]  # the same sentence as step 2
    assert 'weights = "seeded"' in steps[4] and 'direct = "none"' not in steps[4]


def test_rows_of_a_typed_in_matrix_that_follow_xw_are_recorded_as_numbers():
    state = step_state(recorded_states()[1])
    k = state.direct[(0, 0, "k")]
    assert k.shape == (5, 4) and np.isfinite(k).all()


def test_draft_operations_add_move_replace_edit_delete():
    states = recorded_states()[:3]
    a, b, c = (record(s, t, "n") for s, t in zip(states, "abc"))
    d = Draft().add(a).add(b).add(c)
    assert [s.title for s in d.move(2, 0).steps] == ["c", "a", "b"]
    assert [s.title for s in d.move(0, 9).steps] == ["b", "c", "a"]
    assert [s.title for s in d.delete(1).steps] == ["a", "c"]
    assert [s.title for s in d.add(c, at=0).steps] == ["c", "a", "b", "c"]
    edited = d.with_text(1, "B", "new <i>words</i>", "x = 1")
    assert (edited.steps[1].title, edited.steps[1].narration, edited.steps[1].formula) == ("B", "new <i>words</i>",
                                                                                            "x = 1")
    assert edited.steps[1].state is b.state
    assert d.replace_step(0, c).steps[0] is c
    assert [s.title for s in d.steps] == ["a", "b", "c"]  # every operation left d as it was
    with pytest.raises(LessonError):
        d.delete(3)


def test_a_moved_step_still_plays_its_own_state():
    states = recorded_states()
    draft = draft_of(states).move(4, 0).move(3, 1)
    order = [4, 2, 0, 1, 3, 5]
    lesson = parse_lesson(draft.toml(), "moved.toml")
    player = StudioModel()
    player.open_lesson(lesson)
    for k, i in enumerate(order):
        player.go_to_step(k)
        assert_plays_as(player, states[i])


@pytest.mark.parametrize(("title", "narration", "match"), [
    ("", "n", "title"), ("t", "  ", "narration"), ("t", "<a href='x'>", "narration"), ("t", "<b>open", "never closed"),
])
def test_text_is_checked_as_a_lesson_file_would_be(title, narration, match):
    with pytest.raises(LessonError, match=match):
        record(StudioModel().snapshot(), title, narration)


def test_an_empty_sentence_cannot_be_a_step():
    m = StudioModel()
    m.set_sentence("   ")
    with pytest.raises(LessonError, match="no sentence"):
        record(m.snapshot(), "t", "n")


def test_a_lesson_needs_a_step_and_a_valid_id():
    with pytest.raises(LessonError, match="has no steps"):
        Draft().toml()
    with pytest.raises(LessonError, match="lowercase"):
        Draft().named("My Lesson", "t", "s")
    assert Draft().named(" my-lesson_2 ", "T", "S").id == "my-lesson_2"


@pytest.mark.parametrize("lesson", builtin_lessons(), ids=lambda lesson: lesson.id)
def test_a_builtin_lesson_opened_in_the_editor_saves_as_the_same_steps(lesson):
    back = parse_lesson(Draft.from_lesson(lesson).toml(), "saved.toml")
    assert same(back.steps, lesson.steps)


def test_recording_a_lesson_step_on_screen_gives_that_step_again():
    """What a lecturer does: open a built-in lesson, record each step as it shows."""
    lesson = load_lesson("multi-head")
    m = StudioModel()
    m.open_lesson(lesson)
    draft = Draft()
    for k, step in enumerate(lesson.steps):
        m.go_to_step(k)
        draft = draft.add(record(m.snapshot(), step.title, step.narration, step.formula))
    back = parse_lesson(draft.toml(), "rerecorded.toml")
    for a, b in zip(back.steps, lesson.steps, strict=True):
        for name in ("sentence", "stage", "layer", "head", "highlight_rows", "highlight_cells", "tokens"):
            assert getattr(a.state, name) == getattr(b.state, name), name
        assert same(dataclasses.replace(a.state.settings), b.state.settings)
        assert np.array_equal(run_step(a), run_step(b))


def run_step(step) -> np.ndarray:
    from attnstudio.core.lessons import compute_step

    return compute_step(step).layers[-1].output
