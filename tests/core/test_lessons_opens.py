"""A lesson step's ``opens`` key: the panel the window opens when the step is shown (the
scaling lab); not inherited, refused in ``[defaults]``, bad values refused with one sentence
naming the step and the key; written back and read again unchanged."""

from __future__ import annotations

import pytest

from attnstudio.core.lesson_schema import LessonError
from attnstudio.core.lesson_write import lesson_toml
from attnstudio.core.lessons import builtin_lessons, load_lesson, parse_lesson

HEAD = '''id = "t"
title = "T"
summary = "S"
[defaults]
sentence = "the cat sat"
[[steps]]
title = "one"
narration = "n"
[[steps]]
title = "two"
narration = "n"
[[steps]]
title = "three"
narration = "n"
'''


def with_opens(value: str, where: str = 'title = "two"') -> str:
    return HEAD.replace(where, f"{where}\nopens = {value}")


def test_a_step_opens_the_scaling_lab_and_the_next_step_does_not_inherit_it():
    les = parse_lesson(with_opens('"scaling-lab"'), "t.toml")
    assert [s.opens for s in les.steps] == [None, "scaling-lab", None]


@pytest.mark.parametrize(("value", "words"), [
    ('"scaling_lab"', "must be one of 'scaling-lab', not 'scaling_lab'"),
    ('"lab"', "not 'lab'"),
    ("true", "not true/false"),
    ('["scaling-lab"]', "not a list"),
])
def test_bad_opens_values_are_refused_naming_step_and_key(value, words):
    with pytest.raises(LessonError) as info:
        parse_lesson(with_opens(value), "t.toml")
    text = str(info.value)
    assert text.startswith("t.toml, step 2, key 'opens': ") and words in text and "\n" not in text


def test_defaults_cannot_open_a_panel():
    with pytest.raises(LessonError) as info:
        parse_lesson(with_opens('"scaling-lab"', where='sentence = "the cat sat"'), "t.toml")
    assert "[defaults], key 'opens': unknown key" in str(info.value)


def test_opens_survives_writing_and_reading_back():
    back = parse_lesson(lesson_toml(parse_lesson(with_opens('"scaling-lab"'), "t.toml")), "back.toml")
    assert [s.opens for s in back.steps] == [None, "scaling-lab", None]
    for les in builtin_lessons():
        back = parse_lesson(lesson_toml(les), "back.toml")
        assert [s.opens for s in back.steps] == [s.opens for s in les.steps]


def test_the_quadratic_cost_lesson_ends_in_the_scaling_lab():
    les = load_lesson("quadratic-cost")
    assert [s.opens for s in les.steps] == [None] * (len(les.steps) - 1) + ["scaling-lab"]
    assert sum(s.opens is not None for other in builtin_lessons() for s in other.steps) == 1
