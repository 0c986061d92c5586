"""The lesson format's drawn masks: ``padding`` and ``mask_cells``, checked like every other
key (types, positions in range, duplicates, the mask they belong to), inherited like the
highlights, and written back by core.lesson_write exactly."""

from __future__ import annotations

import numpy as np
import pytest

from attnstudio.core.lesson_write import lesson_toml
from attnstudio.core.lessons import LessonError, compute_step, parse_lesson

HEAD = 'id = "t"\ntitle = "T"\nsummary = "S"\n'


def lesson(steps: str):  # type: ignore[no-untyped-def]
    return parse_lesson(HEAD + steps, "t.toml")


STEP = '[[steps]]\ntitle = "A"\nnarration = "n"\nsentence = "the cat sat on the mat"\n'


def test_mask_cells_by_text_and_position_resolve_to_zero_based_cells():
    les = lesson(STEP + 'settings = { mask = "custom" }\nmask_cells = [["cat", "cat"], [6, 1], ["sat", 5]]\n')
    assert les.steps[0].state.mask_cells == ((1, 1), (2, 4), (5, 0))
    head = compute_step(les.steps[0]).head()
    assert np.argwhere(np.isneginf(head.masked)).tolist() == [[1, 1], [2, 4], [5, 0]]
    assert head.weights[1, 1] == 0.0


def test_padding_by_text_and_position():
    les = lesson(STEP.replace("the mat", "the mat PAD PAD") + 'settings = { mask = "padding" }\npadding = [7, 8]\n')
    assert les.steps[0].state.padding == (6, 7)
    w = compute_step(les.steps[0]).head().weights
    assert np.all(w[:, 6:] == 0.0)


@pytest.mark.parametrize(("body", "key", "problem"), [
    ('settings = { mask = "custom" }\nmask_cells = "cat"', "mask_cells", "must be a list of [row, column] pairs"),
    ('settings = { mask = "custom" }\nmask_cells = [["cat"]]', "mask_cells", "entry 1 must be a [row, column] pair"),
    ('settings = { mask = "custom" }\nmask_cells = [[1, 2.5]]', "mask_cells", "a token is named by its position"),
    ('settings = { mask = "custom" }\nmask_cells = [[0, 1]]', "mask_cells", "token positions count from 1"),
    ('settings = { mask = "custom" }\nmask_cells = [[1, 7]]', "mask_cells", "token 7 does not exist"),
    ('settings = { mask = "custom" }\nmask_cells = [["cat", "dog"]]', "mask_cells", "'dog' is not a token"),
    ('settings = { mask = "custom" }\nmask_cells = [["cat", 1], [2, "the"]]', "mask_cells",
     "names the cell [2, 1] ('cat', 'the') twice"),
    ('settings = { mask = "custom" }\nmask_cells = [["the", "cat"]]\n', None, None),
    ('mask_cells = [["cat", "cat"]]', "mask_cells", 'applies only with settings.mask = "custom"'),
    ('settings = { mask = "causal" }\npadding = [1]', "padding", 'applies only with settings.mask = "padding"'),
    ('settings = { mask = "padding" }\npadding = 1', "padding", "must be a list of token positions or texts"),
    ('settings = { mask = "padding" }\npadding = [2, 2]', "padding", "entry 2 names 2 again"),
    ('settings = { mask = "padding" }\npadding = ["the", 1]', "padding", "names a token twice"),
    ('settings = { mask = "padding" }\npadding = [9]', "padding", "token 9 does not exist"),
    ('settings = { mask = "diagonal" }', "settings.mask", "mask must be one of none, causal, padding, custom"),
])
def test_bad_masks_are_one_lesson_error_naming_step_and_key(body, key, problem):
    if problem is None:  # "the" names both tokens "the": two cells, each once
        assert lesson(STEP + body).steps[0].state.mask_cells == ((0, 1), (4, 1))
        return
    with pytest.raises(LessonError) as exc:
        lesson(STEP + body + "\n")
    assert exc.value.step == 1 and exc.value.key == key
    assert problem in exc.value.problem, exc.value.problem


def test_masks_are_inherited_kept_under_another_mask_and_dropped_with_the_sentence():
    les = lesson(
        STEP + 'settings = { mask = "custom" }\nmask_cells = [["cat", "cat"]]\n'
        '[[steps]]\ntitle = "B"\nnarration = "n"\nstage = "masked"\n'
        '[[steps]]\ntitle = "C"\nnarration = "n"\nsettings = { mask = "none" }\n'
        '[[steps]]\ntitle = "D"\nnarration = "n"\nsettings = { mask = "custom" }\n'
        '[[steps]]\ntitle = "E"\nnarration = "n"\nmask_cells = []\n'
        '[[steps]]\ntitle = "F"\nnarration = "n"\nmask_cells = [[1, 1]]\n'
        '[[steps]]\ntitle = "G"\nnarration = "n"\nsentence = "a b c"\n'
    )
    assert [s.state.mask_cells for s in les.steps] == [((1, 1),), ((1, 1),), (), ((1, 1),), (), ((0, 0),), ()]
    assert not np.isneginf(compute_step(les.steps[2]).head().masked).any()


def test_lessons_with_masks_are_written_back_exactly():
    les = lesson(
        STEP + 'settings = { mask = "custom" }\nmask_cells = [["cat", "cat"], [5, 1]]\n'
        '[[steps]]\ntitle = "B"\nnarration = "n"\nsettings = { mask = "padding" }\npadding = ["mat"]\n'
        '[[steps]]\ntitle = "C"\nnarration = "n"\nsettings = { mask = "custom" }\n'
        '[[steps]]\ntitle = "D"\nnarration = "n"\nmask_cells = []\n'
    )
    text = lesson_toml(les)
    again = parse_lesson(text, "again")
    for a, b in zip(les.steps, again.steps, strict=True):
        assert (a.state.mask_cells, a.state.padding) == (b.state.mask_cells, b.state.padding)
        assert a.state.settings == b.state.settings
    assert text.count("mask_cells =") == 2 and text.count("padding =") == 1
