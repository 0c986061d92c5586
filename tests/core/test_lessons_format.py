"""The lesson format: built-in lessons load and compute, inheritance, the documented example."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from attnstudio.core import Settings, Weights
from attnstudio.core.lesson_schema import NARRATION_TAGS
from attnstudio.core.lessons import (
    BUILTIN_ORDER,
    Lesson,
    LessonError,
    StepState,
    builtin_lesson_ids,
    builtin_lessons,
    compute_step,
    load_lesson,
    parse_lesson,
)
from attnstudio.core.trace import STAGE_KEYS
from attnstudio.resources import lessons_dir

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lessons.md"

EXPECTED_IDS = [
    "it-cat", "qkv-walkthrough", "scaling", "temperature", "stable-softmax", "causal",
    "dog-bites-man", "multi-head", "trophy-suitcase", "sparsemax", "quadratic-cost",
]


def lesson_text(body: str, head: str = 'id = "t"\ntitle = "T"\nsummary = "S"\n') -> str:
    return head + body


# ---------------------------------------------------------------- built-ins


def test_builtin_ids_are_the_eleven_lessons_in_teaching_order():
    assert builtin_lesson_ids() == EXPECTED_IDS
    assert list(BUILTIN_ORDER) == EXPECTED_IDS
    files = sorted(p.name for p in lessons_dir().iterdir() if p.name.endswith(".toml"))
    assert files == sorted(f"{i}.toml" for i in EXPECTED_IDS)


@pytest.fixture(scope="module")
def lessons() -> list[Lesson]:
    return builtin_lessons()


def test_every_builtin_lesson_loads_with_3_to_8_steps(lessons):
    assert [les.id for les in lessons] == EXPECTED_IDS
    for les in lessons:
        assert les.source == "built-in"
        assert 3 <= len(les.steps) <= 8, les.id
        assert les.title.strip() and les.summary.strip()


def test_every_step_of_every_builtin_lesson_computes(lessons):
    """Step through every lesson to the end, as the window and --self-test will."""
    for les in lessons:
        for k, step in enumerate(les.steps, start=1):
            state = step.state
            trace = compute_step(step)
            where = f"{les.id} step {k}"
            assert trace.tokens == state.tokens, where
            assert state.stage in STAGE_KEYS, where
            assert 0 <= state.layer < state.settings.layers and 0 <= state.head < state.settings.heads, where
            assert all(0 <= r < trace.n for r in state.highlight_rows), where
            assert all(0 <= r < trace.n and 0 <= c < trace.n for r, c in state.highlight_cells), where
            head = trace.head(state.layer, state.head)
            if state.settings.normalizer == "naive-softmax" and head.nonfinite_weights:
                assert trace.warnings, where  # the one deliberate overflow is flagged
            else:
                assert np.isfinite(head.weights).all(), where
                assert head.weights.sum(axis=1) == pytest.approx(np.ones(trace.n), abs=1e-9), where


def test_builtin_narration_uses_only_the_allowed_tags(lessons):
    for les in lessons:
        for step in les.steps:
            tags = {t.lower() for t in re.findall(r"</?([A-Za-z]+)", step.narration)}
            assert tags <= set(NARRATION_TAGS), (les.id, step.title, tags)
            assert step.narration.count("<b>") == step.narration.count("</b>")


def test_builtin_files_name_their_own_id():
    for lid in builtin_lesson_ids():
        text = (lessons_dir() / f"{lid}.toml").read_text(encoding="utf-8")
        assert parse_lesson(text, f"{lid}.toml").id == lid


def test_load_by_path_keeps_the_path_as_source(tmp_path):
    src = (lessons_dir() / "causal.toml").read_bytes()
    path = tmp_path / "copy.toml"
    path.write_bytes(src)
    les = load_lesson(path)
    assert les.source == str(path)
    assert les.id == "causal" and len(les.steps) == len(load_lesson("causal").steps)
    assert load_lesson(str(path)).source == str(path)


def test_unknown_id_suggests_a_builtin():
    with pytest.raises(LessonError) as err:
        load_lesson("it-kat")
    assert "did you mean 'it-cat'?" in str(err.value)


# ---------------------------------------------------------------- the documented example


def docs_example() -> str:
    text = DOCS.read_text(encoding="utf-8")
    return re.search(r"## A complete small example\s+```toml\n(.*?)```", text, re.S).group(1)


def test_the_docs_example_is_a_valid_lesson_that_does_what_it_says():
    les = parse_lesson(docs_example(), "docs/lessons.md")
    assert les.id == "my-first-lesson" and len(les.steps) == 4
    s1, s2, s3, s4 = (s.state for s in les.steps)
    assert s1.highlight_rows == (0,) and s1.highlight_cells == ((0, 1),)
    scores = compute_step(s1).head().scores
    assert scores[0].tolist() == [1.0, 2.0, 0.0]  # "scores 1 with itself and 2 with cat"
    assert s3.settings.temperature == 0.5 and s3.settings.d_model == 4 and s3.direct.keys() == s2.direct.keys()
    assert s4.tokens == ("the", "cat", "sat", "down") and s4.direct == {} and s4.highlight_rows == (3,)
    assert compute_step(s4).head().scores.shape == (4, 4)


# ---------------------------------------------------------------- inheritance

INHERIT = lesson_text('''
[defaults]
sentence = "a b c"
settings = { d_model = 4, heads = 2, seed = 3 }
embeddings = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
highlight_rows = ["b"]
[defaults.weights.layer1.head2]
w_q = [[1, 0], [0, 1], [1, 1], [0, 0]]
[defaults.direct.layer1.head1]
k = [[1, 0], [0, 1], [1, 1]]

[[steps]]
title = "one"
narration = "x"
stage = "scores"

[[steps]]
title = "only the temperature"
narration = "x"
settings = { temperature = 0.5 }

[[steps]]
title = "new sentence"
narration = "x"
sentence = "a b c d"

[[steps]]
title = "new d_model"
narration = "x"
sentence = "a b c d"
settings = { d_model = 6 }

[[steps]]
title = "resets"
narration = "x"
weights = "seeded"
embeddings = "toy"
''')


def test_a_step_that_only_changes_temperature_keeps_sentence_and_matrices():
    les = parse_lesson(INHERIT, "inherit.toml")
    one, two = les.steps[0].state, les.steps[1].state
    assert two.settings == one.settings.with_(temperature=0.5)
    assert two.sentence == one.sentence and two.tokens == ("a", "b", "c")
    assert np.array_equal(two.embeddings, one.embeddings)
    assert np.array_equal(two.weights.layers[0].heads[1].w_q, [[1, 0], [0, 1], [1, 1], [0, 0]])
    assert np.array_equal(two.direct[(0, 0, "k")], [[1, 0], [0, 1], [1, 1]])
    assert two.stage == "scores" and two.highlight_rows == (1,)
    # Matrices the file did not give are the seeded ones for the step's settings.
    seeded = Weights.seeded(two.settings)
    assert np.array_equal(two.weights.layers[0].heads[0].w_q, seeded.layers[0].heads[0].w_q)
    assert np.array_equal(two.weights.layers[0].w_o, seeded.layers[0].w_o)
    t1, t2 = compute_step(one).head(0, 0), compute_step(two).head(0, 0)
    assert np.array_equal(t1.scores, t2.scores)
    assert not np.allclose(t1.weights, t2.weights)


def test_a_new_sentence_drops_rows_and_highlights_but_keeps_weights():
    les = parse_lesson(INHERIT, "inherit.toml")
    three = les.steps[2].state
    assert three.tokens == ("a", "b", "c", "d")
    assert three.embeddings is None and three.direct == {} and three.highlight_rows == ()
    assert np.array_equal(three.weights.layers[0].heads[1].w_q, [[1, 0], [0, 1], [1, 1], [0, 0]])
    assert three.stage == "scores" and three.settings.temperature == 0.5


def test_a_new_d_model_drops_matrices_that_no_longer_fit_and_resets_work():
    les = parse_lesson(INHERIT, "inherit.toml")
    four = les.steps[3].state
    assert four.settings.d_model == 6 and four.weights is None
    five = les.steps[4].state
    assert five.weights is None and five.embeddings is None
    compute_step(four)
    compute_step(five)


def test_word_table_embeddings_follow_the_sentence():
    text = lesson_text('''
[defaults]
settings = { d_model = 2 }
embeddings = { The = [1, 2], cat = [3, 4], dog = [5, 6] }
[[steps]]
title = "a"
narration = "x"
sentence = "the cat"
[[steps]]
title = "b"
narration = "x"
sentence = "The dog"
[[steps]]
title = "c"
narration = "x"
sentence = "The bird"
''')
    with pytest.raises(LessonError) as err:
        parse_lesson(text, "words.toml")
    assert err.value.step == 3 and err.value.key == "embeddings"
    assert "'bird'" in str(err.value) and "inherited" in str(err.value)
    les = parse_lesson(text.rsplit("[[steps]]", 1)[0], "words.toml")
    assert les.steps[0].state.embeddings.tolist() == [[1, 2], [3, 4]]
    assert les.steps[1].state.embeddings.tolist() == [[1, 2], [5, 6]]


def test_defaults_and_steps_merge_settings_key_by_key():
    les = parse_lesson(lesson_text('''
[defaults]
sentence = "x y"
settings = { heads = 2, d_model = 8, mask = "causal" }
[[steps]]
title = "a"
narration = "x"
settings = { temperature = 2 }
layer = 1
head = 2
'''), "m.toml")
    s = les.steps[0].state.settings
    assert (s.heads, s.d_model, s.mask, s.temperature) == (2, 8, "causal", 2.0)
    assert isinstance(s.temperature, float)
    assert les.steps[0].state.head == 1 and les.steps[0].state.stage == "weights"


def test_state_arrays_are_read_only():
    state = load_lesson("it-cat").steps[1].state
    assert isinstance(state, StepState)
    with pytest.raises(ValueError):
        state.direct[(0, 0, "q")][0, 0] = 5.0
    weights = load_lesson("trophy-suitcase").steps[0].state.weights
    with pytest.raises(ValueError):
        weights.layers[0].w_o[0, 0] = 5.0
    editable = weights.copy()
    editable.layers[0].w_o[0, 0] = 5.0  # a copy is the window's to edit


def test_highlights_by_text_and_position():
    les = parse_lesson(lesson_text('''
[[steps]]
title = "a"
narration = "x"
sentence = "The cat saw the Cat"
highlight_rows = ["the", 2]
highlight_cells = [["cat", "saw"]]
'''), "h.toml")
    state = les.steps[0].state
    assert state.highlight_rows == (3, 1)  # exact case first ("the" is token 4), then position 2
    assert state.highlight_cells == ((1, 2),)


def test_compute_step_accepts_a_backend_name_and_a_state():
    step = load_lesson("causal").steps[2]
    a = compute_step(step, backend="numpy")
    b = compute_step(step.state)
    assert a.backend.name == "numpy"
    assert np.array_equal(a.head().weights, b.head().weights)


def test_lesson_error_carries_source_step_and_key():
    text = lesson_text('[[steps]]\ntitle = "a"\nnarration = "x"\nsentence = "a"\nstage = "weight"\n')
    with pytest.raises(LessonError) as err:
        parse_lesson(text, "f.toml")
    e = err.value
    assert (e.source, e.step, e.key) == ("f.toml", 1, "stage")
    assert str(e) == (
        "f.toml, step 1, key 'stage': 'weight' is not a stage; did you mean 'weights'? "
        f"stages: {', '.join(STAGE_KEYS)}"
    )
    assert isinstance(e, ValueError)  # AttnStudioError: callers that catch those catch this


def test_settings_out_of_range_names_the_setting():
    text = lesson_text('[[steps]]\ntitle = "a"\nnarration = "x"\nsentence = "a"\nsettings = { heads = 3 }\n')
    with pytest.raises(LessonError) as err:
        parse_lesson(text, "f.toml")
    assert err.value.key == "settings" and "not divisible" in str(err.value)
    assert Settings().heads == 1


def test_a_step_may_set_how_the_weights_are_coloured_and_later_steps_inherit_it():
    from attnstudio.core.lessons import parse_lesson

    lesson = parse_lesson(
        'format = 1\nid = "colours"\ntitle = "t"\nsummary = "s"\n'
        '[defaults]\nsentence = "a b c"\n'
        '[[steps]]\ntitle = "one"\nnarration = "n"\n'
        '[[steps]]\ntitle = "two"\nnarration = "n"\nweights_scale = "unit"\n'
        '[[steps]]\ntitle = "three"\nnarration = "n"\n', "colours.toml")
    assert [s.state.weights_scale for s in lesson.steps] == [None, "unit", "unit"]


@pytest.mark.parametrize("bad", ['"log"', "1", '["unit"]'])
def test_an_unknown_weights_scale_is_refused_naming_the_step_and_key(bad):
    from attnstudio.core.lessons import LessonError, parse_lesson

    with pytest.raises(LessonError, match=r"step 1.*weights_scale.*unit, max, row"):
        parse_lesson('format = 1\nid = "c"\ntitle = "t"\nsummary = "s"\n[defaults]\nsentence = "a b"\n'
                     f'[[steps]]\ntitle = "x"\nnarration = "n"\nweights_scale = {bad}\n', "c.toml")


def test_the_lessons_that_compare_sharpness_colour_on_one_fixed_scale():
    from attnstudio.core.lessons import load_lesson

    for lesson_id in ("temperature", "scaling"):
        assert {s.state.weights_scale for s in load_lesson(lesson_id).steps} == {"unit"}, lesson_id
