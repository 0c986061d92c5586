"""A lesson step's question in the studio model: what stays hidden until it is answered, how
clicks, options and the presenter's reveal answer it, and that answers stay with their step."""

from __future__ import annotations

import pytest

from attnstudio.core.lessons import compute_step, load_lesson
from attnstudio.core.predict import judge
from attnstudio.studio import StudioError, StudioModel


def at_question(lesson_id: str) -> tuple[StudioModel, int]:
    m = StudioModel()
    les = load_lesson(lesson_id)
    m.open_lesson(les)
    index = next(i for i, s in enumerate(les.steps) if s.predict is not None)
    m.go_to_step(index)
    return m, index


def test_the_asked_row_is_hidden_only_on_the_steps_head_until_answered():
    m, _ = at_question("trophy-suitcase")
    p, st = m.question(), m.step.state
    assert m.asking
    hidden = m.covered_weights(st.layer, st.head)
    assert hidden is not None and hidden[p.row].all() and hidden.sum() == len(st.tokens)
    assert m.covered_weights(1 - st.layer, 0) is None  # another layer shows its numbers
    assert not m.answer_cell(p.row - 1, 2)  # another row answers nothing
    assert m.asking
    assert m.answer_cell(p.row, 1)
    assert not m.asking and m.covered_weights(st.layer, st.head) is None
    verdict = judge(m.step_answer(), m.response())
    assert verdict.right is False and "suitcase" in verdict.text


def test_a_word_answers_most_weight_and_is_announced_once():
    m, _ = at_question("dog-bites-man")
    seen: list[frozenset[str]] = []
    m.events.connect_any(seen.append)
    (_, best), = m.step_answer().cells
    assert m.answer_token(best)
    assert seen == [frozenset({"lesson"})]
    assert judge(m.step_answer(), m.response()).right is True


def test_zeros_are_marked_toggled_and_checked():
    m, _ = at_question("causal")
    assert m.answer_cell(0, 1) and m.answer_cell(0, 2) and m.answer_cell(0, 1)
    assert m.response().cells == ((0, 2),) and m.asking  # marking is not answering
    assert m.check_marks() and not m.asking
    assert judge(m.step_answer(), m.response()).right is False
    assert not m.answer_cell(1, 2)  # answered: clicks are clicks again


def test_options_and_a_refused_option_changes_nothing():
    m, _ = at_question("temperature")
    before = m.snapshot()
    with pytest.raises(StudioError, match="not an option"):
        m.answer_option("hotter")
    assert m.snapshot() is before
    assert not m.answer_cell(0, 0)  # a click is no answer to an option question
    assert m.answer_option("flatter")
    assert judge(m.step_answer(), m.response()).text.startswith("Not quite")


def test_reveal_shows_the_answer_to_everyone_and_only_once():
    m, _ = at_question("sparsemax")
    assert m.reveal() and not m.asking and m.response().revealed
    assert judge(m.step_answer(), m.response()).right is None
    assert not m.reveal()


def test_going_back_shows_the_step_answered_and_opening_again_asks_again():
    m, index = at_question("scaling")
    m.answer_option("sharper")
    m.prev_step()
    m.next_step()
    assert m.step_index == index and not m.asking and m.response().option == "sharper"
    m.open_lesson(load_lesson("scaling"))  # a fresh copy: the class starts again
    m.go_to_step(index)
    assert m.asking and m.response() is None
    m.close_lesson()
    assert m.snapshot().answers == () and m.question() is None


def test_the_model_answer_is_the_core_answer_of_the_step():
    m, index = at_question("sparsemax")
    step = m.lesson.steps[index]
    assert set(m.step_answer().cells) == {
        (step.predict.row, c) for c, w in enumerate(compute_step(step).head().weights[step.predict.row]) if w == 0.0}
    assert m.step_answer() is m.step_answer()  # computed once per step


def test_an_edited_sentence_shows_its_own_numbers():
    m, _ = at_question("causal")
    m.set_sentence("a different sentence here")
    assert m.asking and m.covered_weights(0, 0) is None
