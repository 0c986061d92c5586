"""A lesson step's ``compare`` key: "previous" or { with_step = K }; bad values refused with
one sentence naming the step and the key; written back and read again unchanged."""

from __future__ import annotations

import pytest

from attnstudio.core.lesson_schema import LessonError
from attnstudio.core.lesson_write import lesson_toml
from attnstudio.core.lessons import builtin_lessons, parse_lesson

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
settings = { temperature = 0.5 }
'''


def with_compare(value: str, step: int = 2) -> str:
    text = HEAD.replace('title = "two"', f'title = "two"\ncompare = {value}') if step == 2 else \
        HEAD.replace('title = "one"', f'title = "one"\ncompare = {value}')
    return text


def test_previous_and_with_step_name_the_step_compared_with():
    assert parse_lesson(with_compare('"previous"'), "t.toml").steps[1].compare == 0
    assert parse_lesson(with_compare("{ with_step = 1 }"), "t.toml").steps[1].compare == 0
    assert parse_lesson(with_compare("{ with_step = 2 }", step=1), "t.toml").steps[0].compare == 1
    assert parse_lesson(HEAD, "t.toml").steps[1].compare is None


@pytest.mark.parametrize(("value", "step", "key", "words"), [
    ('"previous"', 1, "compare", "first step"),
    ('"next"', 2, "compare", "must be \"previous\" or a table"),
    ("3", 2, "compare", "must be \"previous\" or a table"),
    ("{ with_step = 2 }", 2, "compare.with_step", "names this step"),
    ("{ with_step = 0 }", 2, "compare.with_step", "from 1"),
    ("{ with_step = 1.0 }", 2, "compare.with_step", "from 1"),
    ("{ with_step = true }", 2, "compare.with_step", "from 1"),
    ("{ with_step = 3 }", 2, "compare.with_step", "the lesson has 2 steps"),
    ("{ step = 1 }", 2, "compare.step", ""),
    ("{ }", 2, "compare.with_step", "is missing"),
])
def test_bad_compare_values_are_refused_naming_step_and_key(value, step, key, words):
    with pytest.raises(LessonError) as info:
        parse_lesson(with_compare(value, step), "t.toml")
    text = str(info.value)
    assert f"step {step}" in text and key in text and words in text and "\n" not in text


def test_compare_survives_writing_and_reading_back():
    les = parse_lesson(with_compare('"previous"'), "t.toml")
    back = parse_lesson(lesson_toml(les), "back.toml")
    assert [s.compare for s in back.steps] == [None, 0]
    for les in builtin_lessons():
        back = parse_lesson(lesson_toml(les), "back.toml")
        assert [s.compare for s in back.steps] == [s.compare for s in les.steps]
