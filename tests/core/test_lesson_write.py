"""Writing lessons back as TOML: load → save → load gives equal steps, for every built-in lesson
and for awkward text and numbers; what the format cannot say is refused, never written wrong."""

from __future__ import annotations

import dataclasses
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnstudio.core.lesson_schema import LessonError, LessonStep, StepState
from attnstudio.core.lesson_write import lesson_toml, toml_string
from attnstudio.core.lessons import Lesson, builtin_lessons, parse_lesson

STATE_FIELDS = [f.name for f in dataclasses.fields(StepState)]


def assert_same_state(a: StepState, b: StepState, where: str) -> None:
    """Every field of two step states equal, arrays bit for bit."""
    for name in STATE_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if name == "embeddings":
            assert (x is None) == (y is None), f"{where}: {name}"
            assert x is None or (x.shape == y.shape and np.array_equal(x, y)), f"{where}: {name}"
        elif name == "weights":
            assert (x is None) == (y is None), f"{where}: {name}"
            if x is not None:
                assert len(x.layers) == len(y.layers), where
                for lx, ly in zip(x.layers, y.layers):
                    assert np.array_equal(lx.w_o, ly.w_o), f"{where}: w_o"
                    for hx, hy in zip(lx.heads, ly.heads, strict=True):
                        for m in ("w_q", "w_k", "w_v"):
                            assert np.array_equal(getattr(hx, m), getattr(hy, m)), f"{where}: {m}"
        elif name == "direct":
            assert x.keys() == y.keys(), f"{where}: direct keys"
            for key in x:
                assert x[key].shape == y[key].shape and np.array_equal(x[key], y[key]), f"{where}: direct {key}"
        else:
            assert x == y, f"{where}: {name}: {x!r} != {y!r}"


def assert_same_lesson(a: Lesson, b: Lesson) -> None:
    assert (a.id, a.title, a.summary) == (b.id, b.title, b.summary)
    assert len(a.steps) == len(b.steps)
    for k, (sa, sb) in enumerate(zip(a.steps, b.steps), start=1):
        where = f"{a.id} step {k}"
        assert (sa.title, sa.narration, sa.formula) == (sb.title, sb.narration, sb.formula), where
        assert_same_state(sa.state, sb.state, where)


def round_trip(lesson: Lesson) -> Lesson:
    return parse_lesson(lesson_toml(lesson), f"{lesson.id} (written)")


BUILTIN = builtin_lessons()


@pytest.mark.parametrize("lesson", BUILTIN, ids=[lesson.id for lesson in BUILTIN])
def test_every_builtin_lesson_reads_back_as_the_same_steps(lesson):
    assert_same_lesson(lesson, round_trip(lesson))


def test_the_round_trip_covers_every_builtin_lesson_and_step():
    assert len(BUILTIN) == 11
    assert sum(len(lesson.steps) for lesson in BUILTIN) >= 60


def test_a_written_lesson_is_written_the_same_way_again():
    for lesson in BUILTIN:
        text = lesson_toml(lesson)
        assert lesson_toml(parse_lesson(text, "again")) == text, lesson.id


def test_a_step_names_only_what_changes():
    doc = lesson_toml(parse_lesson(
        'id = "x"\ntitle = "t"\nsummary = "s"\n[defaults]\nsentence = "a b c"\n'
        '[[steps]]\ntitle = "1"\nnarration = "n"\nsettings = { temperature = 0.5 }\n'
        '[[steps]]\ntitle = "2"\nnarration = "n"\nstage = "scores"\n', "x"))
    second = doc.split("[[steps]]")[2]
    assert "stage = \"scores\"" in second
    assert "sentence" not in second and "settings" not in second


def text_lesson(title: str, narration: str, formula: str | None) -> Lesson:
    base = parse_lesson('id = "t"\ntitle = "t"\nsummary = "s"\n[[steps]]\ntitle = "x"\n'
                        'narration = "x"\nsentence = "a b"\n', "t")
    step = dataclasses.replace(base.steps[0], title=title, narration=narration, formula=formula)
    return dataclasses.replace(base, title=title, summary=narration, steps=(step, step))


AWKWARD = st.text(
    alphabet=st.one_of(st.sampled_from('"\\\n\r\t\'"""#=[]{}&;é€𝔸\u0000\u001f\u007f\u2028\ufeff '),
                       st.characters(blacklist_categories=("Cs",), blacklist_characters="<")),
    min_size=1, max_size=80,
).filter(lambda s: s.strip() != "")


@given(title=AWKWARD, narration=AWKWARD, formula=st.none() | AWKWARD)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_awkward_text_reads_back_exactly(title, narration, formula):
    lesson = text_lesson(title, narration, formula)
    assert_same_lesson(lesson, round_trip(lesson))


@pytest.mark.parametrize("s", ['"""', 'ends with a quote"', "ends with a backslash\\", "\nstarts on a new line",
                               "a\r\nb", "tab\there", "\\n is not a line break", "'''", "line 1\n\n\nline 4\n"])
def test_strings_that_trip_toml_writers(s):
    assert tomllib.loads(f"v = {toml_string(s)}")["v"] == s


FINITE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(values=st.lists(FINITE, min_size=8, max_size=8))
@settings(max_examples=200, deadline=None)
def test_numbers_read_back_bit_for_bit(values):
    base = parse_lesson('id = "t"\ntitle = "t"\nsummary = "s"\n[[steps]]\ntitle = "x"\nnarration = "x"\n'
                        'sentence = "a b"\n', "t")
    q = np.array(values, dtype=np.float64).reshape(2, 4)
    q.setflags(write=False)
    state = dataclasses.replace(base.steps[0].state, direct={(0, 0, "q"): q})
    lesson = dataclasses.replace(base, steps=(LessonStep("x", "x", None, state),))
    back = round_trip(lesson).steps[0].state.direct[(0, 0, "q")]
    assert back.tobytes() == q.tobytes()  # -0.0 and the last bit included


def lesson_of(*states: StepState) -> Lesson:
    steps = tuple(LessonStep(f"s{k}", "n", None, s) for k, s in enumerate(states, 1))
    return Lesson("t", "t", "s", steps, "test")


def first_state(extra: str = "") -> StepState:
    return parse_lesson('id = "t"\ntitle = "t"\nsummary = "s"\n[[steps]]\ntitle = "x"\nnarration = "x"\n'
                        f'sentence = "a b c"\n{extra}', "t").steps[0].state


def test_weights_back_to_the_seeded_ones_are_written_as_seeded():
    edited = first_state("[steps.weights.layer1.head1]\nw_q = [[1.0,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]\n")
    plain = first_state()
    lesson = lesson_of(edited, plain, edited)
    text = lesson_toml(lesson)
    assert 'weights = "seeded"' in text
    assert_same_lesson(lesson, round_trip(lesson))


def test_dropping_every_typed_in_matrix_is_written_as_none():
    typed = first_state("[steps.direct.layer1.head1]\nq = [[1.0,0,0,0],[0,1,0,0],[0,0,1,0]]\n")
    lesson = lesson_of(typed, first_state(), typed)
    assert 'direct = "none"' in lesson_toml(lesson)
    assert_same_lesson(lesson, round_trip(lesson))


def test_dropping_one_typed_in_matrix_but_keeping_another_is_refused():
    both = first_state("[steps.direct.layer1.head1]\nq = [[1.0,0,0,0],[0,1,0,0],[0,0,1,0]]\n"
                       "k = [[1.0,0,0,0],[0,1,0,0],[0,0,1,0]]\n")
    only_k = dataclasses.replace(both, direct={(0, 0, "k"): both.direct[(0, 0, "k")]})
    with pytest.raises(LessonError, match=r"step 2, key 'direct'.*cannot say that"):
        lesson_toml(lesson_of(both, only_k))
