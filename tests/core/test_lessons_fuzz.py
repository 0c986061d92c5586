"""Malformed lessons: every one must become a LessonError naming the file (and the step and
key where there is one), in one line, and never any other exception."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attnstudio.core.lesson_schema import MAX_FILE_BYTES
from attnstudio.core.lessons import Lesson, LessonError, load_lesson, parse_lesson
from attnstudio.resources import lessons_dir

SOURCE = "fuzz.toml"


# ---------------------------------------------------------------- helpers


def toml_value(v: Any) -> str:
    """A tiny TOML writer for test documents (inline tables, arrays, scalars, dates)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(type(v))


def toml_doc(doc: dict[str, Any]) -> str:
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items() if k != "steps"]
    steps = doc.get("steps")
    if isinstance(steps, list) and steps and all(isinstance(s, dict) for s in steps):
        for step in steps:
            lines.append("[[steps]]")
            lines.extend(f"{json.dumps(k)} = {toml_value(v)}" for k, v in step.items())
    elif "steps" in doc:
        lines.append(f"steps = {toml_value(steps)}")
    return "\n".join(lines) + "\n"


def base_doc() -> dict[str, Any]:
    return {
        "id": "fuzz",
        "title": "Fuzz",
        "summary": "A small valid lesson that the tests break one key at a time.",
        "steps": [
            {"title": "one", "narration": "first", "sentence": "a b c", "stage": "scores"},
            {"title": "two", "narration": "second", "settings": {"temperature": 2.0}},
        ],
    }


def expect_error(text: str | bytes, step: int | None = None, key: str | None = None) -> LessonError:
    with pytest.raises(LessonError) as info:
        parse_lesson(text, SOURCE)
    err = info.value
    check_message(err)
    if step is not None:
        assert err.step == step, str(err)
        assert (f"step {step}" if step else "[defaults]") in str(err)
    if key is not None:
        assert err.key is not None and err.key.startswith(key), str(err)
        assert f"key '{err.key}'" in str(err)
    return err


def check_message(err: LessonError, source: str = SOURCE) -> None:
    text = str(err)
    assert "\n" not in text and "\r" not in text, text
    assert text.startswith(source), text
    assert err.source == source


def parse_or_lesson_error(data: str | bytes) -> None:
    """The fuzz contract: a Lesson, or a LessonError with a proper message. Nothing else."""
    try:
        result = parse_lesson(data, SOURCE)
    except LessonError as err:
        check_message(err)
    else:
        assert isinstance(result, Lesson)


def test_the_base_document_is_valid():
    les = parse_lesson(toml_doc(base_doc()), SOURCE)
    assert len(les.steps) == 2 and les.steps[1].state.settings.temperature == 2.0


# ---------------------------------------------------------------- wrong types for every key

WRONG = [1, 2.5, True, "zzz", [1, 2], {"a": 1}, dt.date(1979, 5, 27), [], float("nan")]
# (key, value) pairs from WRONG that are in fact valid for that key; compared by repr,
# since True == 1 and nan != nan.
VALID = {(k, repr(v)) for k, v in [
    ("title", "zzz"), ("narration", "zzz"), ("formula", "zzz"), ("sentence", "zzz"),
    ("layer", 1), ("head", 1), ("highlight_rows", []), ("highlight_cells", []),
    ("highlight_rows", [1, 2]),
    ("settings.d_model", 1), ("settings.heads", 1), ("settings.layers", 1),
    ("settings.temperature", 1), ("settings.temperature", 2.5), ("settings.seed", 1),
    ("settings.scale", True), ("settings.positional", True), ("settings.residual", True),
    ("id", "zzz"), ("summary", "zzz"), ("format", 1),
]}
STEP_KEYS = [
    "title", "narration", "formula", "sentence", "settings", "embeddings", "weights", "direct",
    "stage", "layer", "head", "highlight_rows", "highlight_cells",
]
SETTING_KEYS = [
    "d_model", "heads", "layers", "temperature", "scale", "mask", "normalizer", "positional", "residual", "seed",
]


def _cases() -> list[tuple[str, Any]]:
    return [(k, v) for k in STEP_KEYS + [f"settings.{s}" for s in SETTING_KEYS] for v in WRONG]


@pytest.mark.parametrize(("key", "value"), _cases(), ids=lambda x: repr(x)[:20])
def test_a_wrong_value_for_any_step_key_names_step_and_key(key, value):
    doc = base_doc()
    step = doc["steps"][1]
    if key.startswith("settings."):
        step["settings"] = {key.split(".", 1)[1]: value}
    else:
        step[key] = value
    text = toml_doc(doc)
    if (key, repr(value)) in VALID:
        parse_lesson(text, SOURCE)
        return
    expect_error(text, step=2, key=key)


@pytest.mark.parametrize("value", WRONG, ids=repr)
@pytest.mark.parametrize("key", ["id", "title", "summary", "format", "steps", "defaults"])
def test_a_wrong_value_for_any_top_level_key_names_the_key(key, value):
    doc = base_doc()
    doc[key] = value
    text = toml_doc(doc)
    if (key, repr(value)) in VALID:
        parse_lesson(text, SOURCE)
        return
    err = expect_error(text)
    if key == "steps" and isinstance(value, list) and value:
        assert err.step == 1 and err.key is None  # "step 1 must be a table"
    elif key == "defaults" and isinstance(value, dict):
        assert err.step == 0 and err.key == "a"  # an unknown key inside [defaults]
    else:
        assert err.step is None and err.key == key, str(err)


# ---------------------------------------------------------------- a corpus of broken lessons

HEAD = 'id = "c"\ntitle = "C"\nsummary = "S"\n'
STEP = '[[steps]]\ntitle = "s"\nnarration = "n"\n'

CORPUS = {
    "embeddings rows do not fit the sentence": (
        STEP + 'sentence = "a b"\nembeddings = [[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]\n', 1, "embeddings"),
    "embeddings rows of the wrong width": (
        STEP + 'sentence = "a b"\nembeddings = [[1, 2, 3], [1, 2, 3]]\n', 1, "embeddings"),
    "ragged rows": (STEP + 'sentence = "a b"\nembeddings = [[1, 2, 3, 4], [1, 2]]\n', 1, "embeddings"),
    "a number in quotes": (STEP + 'sentence = "a b"\nembeddings = [[1, 2, 3, "4"], [1, 2, 3, 4]]\n', 1, "embeddings"),
    "nan in a matrix": (STEP + 'sentence = "a b"\nembeddings = [[1, 2, 3, nan], [1, 2, 3, 4]]\n', 1, "embeddings"),
    "a value over the limit": (
        STEP + 'sentence = "a b"\nembeddings = [[1, 2, 3, 1e7], [1, 2, 3, 4]]\n', 1, "embeddings"),
    "an enormous integer": (
        STEP + 'sentence = "a b"\nembeddings = [[1, 2, 3, 9223372036854775807], [1, 2, 3, 4]]\n', 1, "embeddings"),
    "a word vector of the wrong length": (STEP + 'sentence = "a"\nembeddings = { a = [1, 2] }\n', 1, "embeddings.a"),
    "a word table missing a token": (STEP + 'sentence = "a b"\nembeddings = { a = [1, 2, 3, 4] }\n', 1, "embeddings"),
    "a word given twice": (
        STEP + 'sentence = "a"\nembeddings = { a = [1, 2, 3, 4], A = [1, 2, 3, 4] }\n', 1, "embeddings.A"),
    "w_q of the wrong shape": (
        STEP + 'sentence = "a"\n[steps.weights.layer1.head1]\nw_q = [[1, 2], [3, 4]]\n', 1, "weights.layer1.head1.w_q"),
    "w_o of the wrong shape": (
        STEP + 'sentence = "a"\n[steps.weights.layer1]\nw_o = [[1, 2, 3, 4]]\n', 1, "weights.layer1.w_o"),
    "a weight for a layer that does not exist": (
        STEP + 'sentence = "a"\n[steps.weights.layer2]\nw_o = [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]\n',
        1, "weights.layer2.w_o"),
    "a weight for a head that does not exist": (
        STEP + 'sentence = "a"\n[steps.weights.layer1.head2]\nw_q = [[1],[1],[1],[1]]\n', 1, "weights.layer1.head2"),
    "a badly named layer": (STEP + 'sentence = "a"\n[steps.weights.first]\nw_o = [[1]]\n', 1, "weights.first"),
    "layer 0": (STEP + 'sentence = "a"\n[steps.weights.layer0]\nw_o = [[1]]\n', 1, "weights.layer0"),
    "an unknown matrix name": (
        STEP + 'sentence = "a"\n[steps.weights.layer1.head1]\nw_z = [[1]]\n', 1, "weights.layer1.head1.w_z"),
    "direct q of the wrong shape": (
        STEP + 'sentence = "a b"\n[steps.direct.layer1.head1]\nq = [[1, 2, 3, 4]]\n', 1, "direct.layer1.head1.q"),
    "an unknown direct matrix": (
        STEP + 'sentence = "a b"\n[steps.direct.layer1.head1]\nx = [[1, 2, 3, 4]]\n', 1, "direct.layer1.head1.x"),
    "direct as a wrong word": (STEP + 'sentence = "a"\ndirect = "off"\n', 1, "direct"),
    "embeddings as a wrong word": (STEP + 'sentence = "a"\nembeddings = "random"\n', 1, "embeddings"),
    "an unknown stage": (STEP + 'sentence = "a"\nstage = "softmax"\n', 1, "stage"),
    "a highlight position out of range": (STEP + 'sentence = "a b"\nhighlight_rows = [3]\n', 1, "highlight_rows"),
    "a highlight position 0": (STEP + 'sentence = "a b"\nhighlight_rows = [0]\n', 1, "highlight_rows"),
    "a highlight text not in the sentence": (
        STEP + 'sentence = "a b"\nhighlight_rows = ["c"]\n', 1, "highlight_rows"),
    "a highlight cell out of range": (
        STEP + 'sentence = "a b"\nhighlight_cells = [[1, 5]]\n', 1, "highlight_cells"),
    "a highlight cell that is not a pair": (
        STEP + 'sentence = "a b"\nhighlight_cells = [[1, 2, 1]]\n', 1, "highlight_cells"),
    "a layer that does not exist": (STEP + 'sentence = "a"\nlayer = 2\n', 1, "layer"),
    "a head that does not exist": (STEP + 'sentence = "a"\nhead = 3\n', 1, "head"),
    "an inherited layer that no longer exists": (
        STEP + 'sentence = "a"\nsettings = { layers = 2 }\nlayer = 2\n' + STEP + "settings = { layers = 1 }\n",
        2, "layer"),
    "heads that do not divide d_model": (STEP + 'sentence = "a"\nsettings = { heads = 3 }\n', 1, "settings"),
    "an infinite temperature": (STEP + 'sentence = "a"\nsettings = { temperature = inf }\n', 1, "settings.temperature"),
    "a negative temperature": (
        STEP + 'sentence = "a"\nsettings = { temperature = -1.0 }\n', 1, "settings.temperature"),
    "d_model too large": (STEP + 'sentence = "a"\nsettings = { d_model = 4096 }\n', 1, "settings.d_model"),
    "a backend in a lesson": (STEP + 'sentence = "a"\nsettings = { backend = "cupy" }\n', 1, "settings.backend"),
    "a huge seed": (STEP + 'sentence = "a"\nsettings = { seed = 99999999999999999999 }\n', 1, "settings.seed"),
    "a misspelt setting": (STEP + 'sentence = "a"\nsettings = { temprature = 2.0 }\n', 1, "settings.temprature"),
    "a misspelt step key": (STEP + 'sentence = "a"\nnarattion = "x"\n', 1, "narattion"),
    "no sentence anywhere": (STEP, 1, "sentence"),
    "an empty sentence": (STEP + 'sentence = "   "\n', 1, "sentence"),
    "a sentence of punctuation only is fine but no words": (STEP + 'sentence = ""\n', 1, "sentence"),
    "a sentence over 500 tokens": (STEP + f'sentence = "{" ".join(["w"] * 501)}"\n', 1, "sentence"),
    "a step without narration": ('[[steps]]\ntitle = "s"\nsentence = "a"\n', 1, "narration"),
    "a step without title": ('[[steps]]\nnarration = "s"\nsentence = "a"\n', 1, "title"),
    "a disallowed tag": (STEP.replace('"n"', '"<img src=x>"') + 'sentence = "a"\n', 1, "narration"),
    "an unclosed tag": (STEP.replace('"n"', '"<b>bold"') + 'sentence = "a"\n', 1, "narration"),
    "crossed tags": (STEP.replace('"n"', '"<b><i>x</b></i>"') + 'sentence = "a"\n', 1, "narration"),
    "a bare less-than": (STEP.replace('"n"', '"a < b"') + 'sentence = "a"\n', 1, "narration"),
    "an empty title": (STEP.replace('"s"', '" "') + 'sentence = "a"\n', 1, "title"),
    "a defaults key that is wrong": ('[defaults]\nsentense = "a"\n' + STEP, 0, "sentense"),
    "defaults rows that do not fit step 1": (
        '[defaults]\nembeddings = [[1, 2, 3, 4]]\n' + STEP + 'sentence = "a b"\n', 1, "embeddings"),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_of_broken_lessons(name):
    body, step, key = CORPUS[name]
    err = expect_error(HEAD + body, step=step, key=key)
    assert err.problem  # the bare reason, for a dialog


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('title = "T"\nsummary = "S"\n' + STEP + 'sentence = "a"\n', "id"),
        ('id = "Bad Id"\ntitle = "T"\nsummary = "S"\n' + STEP + 'sentence = "a"\n', "id"),
        (HEAD + "steps = []\n", "steps"),
        (HEAD, "steps"),
        (HEAD + "titel = 1\n" + STEP + 'sentence = "a"\n', "titel"),
        ("format = 2\n" + HEAD + STEP + 'sentence = "a"\n', "format"),
        (HEAD + "".join(STEP + 'sentence = "a"\n' for _ in range(201)), "steps"),
    ],
    ids=["no id", "bad id", "steps = []", "no steps", "unknown top key", "newer format", "201 steps"],
)
def test_top_level_problems(text, key):
    err = expect_error(text, key=key)
    assert err.step is None


def test_unknown_keys_suggest_the_closest_known_one():
    assert "did you mean 'title'?" in str(expect_error(HEAD + "titel = 1\n" + STEP + 'sentence = "a"\n'))
    err = expect_error(HEAD + STEP + 'sentence = "a"\nsettings = { temprature = 2.0 }\n')
    assert "did you mean 'temperature'?" in str(err)
    err = expect_error(HEAD + STEP + 'sentence = "a"\n[steps.weights.layer1.head1]\nwq = [[1]]\n')
    assert "did you mean 'w_q'?" in str(err)


# ---------------------------------------------------------------- bytes, encodings, sizes


def real_lesson_bytes() -> bytes:
    return (lessons_dir() / "it-cat.toml").read_bytes()


@pytest.mark.parametrize("fraction", [i / 23 for i in range(1, 23)])
def test_a_real_lesson_truncated_anywhere_is_a_lesson_error_or_still_valid(fraction):
    data = real_lesson_bytes()
    cut = data[: int(len(data) * fraction)]
    parse_or_lesson_error(cut)
    parse_or_lesson_error(cut.decode("utf-8", errors="ignore"))


def test_truncation_inside_a_string_is_reported_as_invalid_toml():
    data = real_lesson_bytes()
    cut = data[: data.index(b"One query against") + 5]
    err = expect_error(cut, step=None, key=None)
    assert "not valid TOML" in str(err) and "cut short" in str(err)


def test_a_syntax_error_names_line_and_column():
    data = real_lesson_bytes().replace(b'stage = "tokens"', b'stage "tokens"', 1)
    line = data[: data.index(b'stage "tokens"')].count(b"\n") + 1
    err = expect_error(data)
    assert f"line {line}, column" in str(err)


def test_invalid_utf8_names_the_line():
    err = expect_error(b'id = "x"\ntitle = "\xff\xfe"\n')
    assert "not UTF-8" in str(err) and "line 2" in str(err)


def test_a_byte_order_mark_is_accepted():
    les = parse_lesson(b"\xef\xbb\xbf" + real_lesson_bytes(), SOURCE)
    assert les.id == "it-cat"


def test_windows_line_endings_are_accepted():
    les = parse_lesson(real_lesson_bytes().replace(b"\n", b"\r\n"), SOURCE)
    assert les.id == "it-cat"


@pytest.mark.parametrize(
    "junk",
    [b"", b"\x00" * 64, bytes(range(256)), b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"[[[[[[", b"= = =", b"\xef\xbb\xbf"],
    ids=["empty", "nul", "all bytes", "png", "brackets", "equals", "bom only"],
)
def test_junk_is_a_lesson_error(junk):
    expect_error(junk)


def test_deep_nesting_is_a_lesson_error():
    assert "nested too deeply" in str(expect_error("x = " + "[" * 100_000 + "]" * 100_000))


def test_a_huge_integer_literal_is_a_lesson_error():
    assert "too long" in str(expect_error(HEAD + "format = " + "9" * 5000 + "\n"))


def test_huge_values_and_keys_are_cut_in_the_message():
    err = expect_error(HEAD + "format = " + "9" * 4000 + "\n", key="format")
    assert len(str(err)) < 500
    err = expect_error(HEAD + f'{"k" * 5000} = 1\n' + STEP + 'sentence = "a"\n')
    assert len(str(err)) < 1000 and err.key == "k" * 5000


def test_not_text_at_all_is_a_lesson_error():
    expect_error(None)  # type: ignore[arg-type]
    expect_error(12)  # type: ignore[arg-type]


def test_a_10_mb_file_is_refused_without_parsing(tmp_path, monkeypatch):
    path = tmp_path / "big.toml"
    path.write_bytes(b"# " + b"x" * (10 * 1024 * 1024) + b"\n")

    def no_parse(*args, **kwargs):
        raise AssertionError("the file should have been refused before parsing")

    monkeypatch.setattr(tomllib, "loads", no_parse)
    with pytest.raises(LessonError) as err:
        load_lesson(path)
    check_message(err.value, str(path))
    assert "1 MiB" in str(err.value)
    with pytest.raises(LessonError):
        parse_lesson(path.read_bytes(), str(path))
    with pytest.raises(LessonError):
        parse_lesson("x" * (MAX_FILE_BYTES + 1), str(path))


def test_missing_files_directories_and_devices(tmp_path):
    for target in (tmp_path / "nope.toml", tmp_path):
        with pytest.raises(LessonError) as err:
            load_lesson(target)
        check_message(err.value, str(target))
    if os.path.exists("/dev/zero"):
        with pytest.raises(LessonError) as err:
            load_lesson("/dev/zero")
        assert "not a file" in str(err.value)


def test_an_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "locked.toml"
    path.write_bytes(real_lesson_bytes())

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)  # as root, chmod 0 would not stop the read
    with pytest.raises(LessonError) as err:
        load_lesson(path)
    check_message(err.value, str(path))
    assert "cannot be read: Permission denied" in str(err.value)


# ---------------------------------------------------------------- generated junk (bounded)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    parse_or_lesson_error(data)


@FUZZ
@given(st.text(max_size=2048))
def test_random_text(text):
    parse_or_lesson_error(text)


@FUZZ
@given(st.data())
def test_random_edits_of_a_real_lesson(data):
    src = bytearray(real_lesson_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(src) - 1))
        kind = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        chunk = data.draw(st.binary(min_size=1, max_size=8))
        if kind == "replace":
            src[at : at + len(chunk)] = chunk
        elif kind == "delete":
            del src[at : at + len(chunk)]
        else:
            src[at:at] = chunk
    parse_or_lesson_error(bytes(src))


TOML_VALUES = st.recursive(
    st.none().map(lambda _: "x")
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.dates(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(
    st.sampled_from(STEP_KEYS),
    TOML_VALUES,
)
def test_random_values_for_state_keys(key, value):
    doc = base_doc()
    doc["steps"][1][key] = value
    parse_or_lesson_error(toml_doc(doc))


@FUZZ
@given(st.dictionaries(st.sampled_from(["layer1", "layer2", "head1", "w_q", "w_o", "q"]), TOML_VALUES, max_size=3))
def test_random_weight_and_direct_tables(table):
    for key in ("weights", "direct"):
        doc = base_doc()
        doc["steps"][1][key] = {"layer1": {"head1": table}, **table}
        parse_or_lesson_error(toml_doc(doc))
