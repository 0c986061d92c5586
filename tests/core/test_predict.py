"""Predict steps: the `predict` key of the lesson format, the answers computed from each
step's trace, and `trace --lesson --format json`.

Every built-in answer is checked against an independent computation written here: the
weights recomputed from the step's q and k by plain loops (dot products, √d_k, the mask,
temperature), normalized by scipy's softmax or a sort-based sparsemax; entropies by scipy.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax
from scipy.stats import entropy as scipy_entropy

from attnstudio.cli import main
from attnstudio.core.lesson_schema import SHARPNESS_OPTIONS, LessonError
from attnstudio.core.lesson_write import lesson_toml
from attnstudio.core.lessons import builtin_lessons, compute_step, load_lesson, parse_lesson
from attnstudio.core.predict import Response, answer, covered, judge, step_predict_json

PREDICT_LESSONS = ("temperature", "causal", "sparsemax", "scaling", "trophy-suitcase", "dog-bites-man")


def sparsemax_ref(z: np.ndarray) -> np.ndarray:
    """Sparsemax by sorting (Martins & Astudillo 2016), −∞ entries get 0."""
    finite = z[np.isfinite(z)]
    s = np.sort(finite)[::-1]
    cums = np.cumsum(s)
    k = max(i + 1 for i in range(s.size) if 1 + (i + 1) * s[i] > cums[i])
    tau = (cums[k - 1] - 1) / k
    return np.where(np.isfinite(z), np.maximum(z - tau, 0.0), 0.0)


def weights_ref(step) -> np.ndarray:
    """The step's weights from its own q and k, by loops and scipy (not the app's pipeline)."""
    st = step.state
    s = st.settings
    h = compute_step(step).head(st.layer, st.head)
    q, k = np.asarray(h.q), np.asarray(h.k)
    n, dk = q.shape
    out = np.zeros((n, n))
    for i in range(n):
        z = np.array([sum(q[i, t] * k[j, t] for t in range(dk)) for j in range(n)])
        if s.scale:
            z = z / math.sqrt(dk)
        if s.mask == "causal":
            z = np.array([z[j] if j <= i else -np.inf for j in range(n)])
        z = z / s.temperature
        assert s.normalizer in ("softmax", "sparsemax"), "extend the reference for this normalizer"
        out[i] = scipy_softmax(z) if s.normalizer == "softmax" else sparsemax_ref(z)
    return out


def predict_steps():
    for les in builtin_lessons():
        for i, step in enumerate(les.steps):
            if step.predict is not None:
                yield les, i, step


def test_at_least_five_builtin_lessons_ask_and_which():
    asking = {les.id for les, _, _ in predict_steps()}
    assert asking == set(PREDICT_LESSONS)


@pytest.mark.parametrize(("les", "index", "step"), list(predict_steps()),
                         ids=[f"{les.id}-{i + 1}" for les, i, _ in predict_steps()])
def test_each_builtin_answer_equals_an_independent_computation(les, index, step):
    p = step.predict
    st = step.state
    prev = compute_step(les.steps[index - 1]) if index > 0 else None
    ans = answer(p, compute_step(step), st.layer, st.head, previous=prev)
    ref = weights_ref(step)
    np.testing.assert_allclose(ref, np.asarray(compute_step(step).head(st.layer, st.head).weights), atol=1e-9)
    if p.ask == "most-weight":
        best = max(range(ref.shape[1]), key=lambda c: ref[p.row, c])
        assert ans.cells == ((p.row, best),)
        assert f"{ref[p.row, best]:.2f}" in ans.why  # the why quotes the winner's weight
        assert ans.tokens[best] in ans.why
    elif p.ask == "sharper-or-flatter":
        before_step = les.steps[index - 1]
        ref_before = weights_ref(before_step)
        h_now = [scipy_entropy(r, base=2) for r in ref]
        h_before = [scipy_entropy(r, base=2) for r in ref_before]
        if p.row is None:
            b, a = float(np.mean(h_before)), float(np.mean(h_now))
        else:
            b, a = h_before[p.row], h_now[p.row]
        want = "same" if abs(a - b) < 0.01 else ("sharper" if a < b else "flatter")
        assert ans.option == want
        assert f"{b:.2f}" in ans.why and f"{a:.2f}" in ans.why
    else:
        rows = range(ref.shape[0]) if p.row is None else [p.row]
        want = {(r, c) for r in rows for c in range(ref.shape[1]) if ref[r, c] == 0.0}
        assert set(ans.cells) == want and want  # every built-in zeros question has zeros
        assert ans.why.startswith(f"{len(want)} weights are exactly 0")


def test_the_causal_zeros_are_exactly_the_cells_above_the_diagonal():
    les = load_lesson("causal")
    _i, step = next((i, s) for i, s in enumerate(les.steps) if s.predict is not None)
    n = len(step.state.tokens)
    ans = answer(step.predict, compute_step(step))
    assert set(ans.cells) == {(r, c) for r in range(n) for c in range(n) if c > r}
    assert "−∞" in ans.why


def test_the_sparsemax_why_quotes_the_threshold_computed_here():
    step = next(s for s in load_lesson("sparsemax").steps if s.predict is not None)
    ans = answer(step.predict, compute_step(step))
    scores = np.asarray(compute_step(step).head().masked)[step.predict.row]
    p = sparsemax_ref(scores)
    support = p > 0
    tau = float((scores[support].sum() - 1) / support.sum())
    assert f"cut-off {tau:.2f}" in ans.why
    for c in np.flatnonzero(~support):
        assert f"'{step.state.tokens[c]}'" in ans.why


def test_covered_hides_the_row_asked_about_or_the_whole_matrix():
    step = next(s for s in load_lesson("trophy-suitcase").steps if s.predict is not None)
    n = len(step.state.tokens)
    c = covered(step.predict, n)
    assert c.sum() == n and c[step.predict.row].all()
    zeros = next(s for s in load_lesson("causal").steps if s.predict is not None)
    assert covered(zeros.predict, 6).all()


def test_judging_is_right_for_the_answer_and_kind_otherwise():
    les = load_lesson("trophy-suitcase")
    step = next(s for s in les.steps if s.predict is not None)
    ans = answer(step.predict, compute_step(step), step.state.layer, step.state.head)
    (r, c), = ans.cells
    right = judge(ans, Response(cells=((r, c),), final=True))
    assert right.right is True and "suitcase" in right.text
    wrong = judge(ans, Response(cells=((r, 1),), final=True))
    assert wrong.right is False and "trophy" in wrong.text and "suitcase" in wrong.text
    assert judge(ans, None).right is None
    assert judge(ans, Response(revealed=True)).right is None
    zeros = next(s for s in load_lesson("causal").steps if s.predict is not None)
    zans = answer(zeros.predict, compute_step(zeros))
    assert judge(zans, Response(cells=zans.cells, final=True)).right is True
    partial = judge(zans, Response(cells=(*zans.cells[:3], (0, 0)), final=True))
    assert partial.right is False and "3 of the 15" in partial.text and "1 that is not 0" in partial.text


def test_lessons_with_questions_survive_writing_and_reading_back():
    for lid in PREDICT_LESSONS:
        les = load_lesson(lid)
        back = parse_lesson(lesson_toml(les), "back.toml")
        assert [s.predict for s in back.steps] == [s.predict for s in les.steps]


# ---------------------------------------------------------------- the format

BASE = """
id = "q"
title = "Q"
summary = "S"
[defaults]
sentence = "the cat sat on the mat"
[[steps]]
title = "one"
narration = "first"
[[steps]]
title = "two"
narration = "second"
settings = { temperature = 0.5 }
"""


def with_predict(table: str, step: int = 2) -> str:
    parts = BASE.split("[[steps]]")
    parts[step] = parts[step] + f"predict = {table}\n"
    return "[[steps]]".join(parts)


def refused(table: str, step: int = 2) -> LessonError:
    with pytest.raises(LessonError) as info:
        parse_lesson(with_predict(table, step), "q.toml")
    return info.value


def test_a_valid_predict_table_parses_with_defaults():
    les = parse_lesson(with_predict('{ ask = "sharper-or-flatter", row = "cat" }'), "q.toml")
    p = les.steps[1].predict
    assert (p.ask, p.row, p.options) == ("sharper-or-flatter", 1, SHARPNESS_OPTIONS)
    assert "'cat'" in p.question and les.steps[0].predict is None
    les = parse_lesson(with_predict('{ ask = "most-weight", row = 3, question = "Where?" }'), "q.toml")
    assert (les.steps[1].predict.row, les.steps[1].predict.question) == (2, "Where?")
    les = parse_lesson(with_predict('{ ask = "sharper-or-flatter", options = ["flatter", "sharper"] }'), "q.toml")
    assert les.steps[1].predict.options == ("flatter", "sharper") and les.steps[1].predict.row is None


@pytest.mark.parametrize(("table", "step", "key", "words"), [
    ('"most-weight"', 2, "predict", "must be a table"),
    ('{ row = "cat" }', 2, "predict.ask", "is missing"),
    ('{ ask = "most-wieght", row = "cat" }', 2, "predict.ask", "did you mean 'most-weight'"),
    ('{ ask = 3 }', 2, "predict.ask", "not a question"),
    ('{ ask = "most-weight" }', 2, "predict.row", "is missing"),
    ('{ ask = "most-weight", row = 9 }', 2, "predict.row", "token 9 does not exist: the sentence has 6 tokens"),
    ('{ ask = "most-weight", row = "dog" }', 2, "predict.row", "not a token"),
    ('{ ask = "most-weight", row = "the" }', 2, "predict.row", "names 2 tokens"),
    ('{ ask = "most-weight", row = 0 }', 2, "predict.row", "count from 1"),
    ('{ ask = "sharper-or-flatter" }', 1, "predict", "the first step has none"),
    ('{ ask = "exact-zeros", options = ["sharper", "flatter"] }', 2, "predict.options", "only"),
    ('{ ask = "sharper-or-flatter", options = ["sharper", "hotter"] }', 2, "predict.options", "'hotter'"),
    ('{ ask = "sharper-or-flatter", options = ["sharper"] }', 2, "predict.options", "at least two"),
    ('{ ask = "exact-zeros", answer = [1, 2] }', 2, "predict.answer", "unknown key"),
    ('{ ask = "exact-zeros", question = "" }', 2, "predict.question", "must not be empty"),
    ('{ ask = "exact-zeros", question = "a <b>bold</b> one" }', 2, "predict.question", "plain text"),
])
def test_bad_predict_tables_are_refused_naming_step_and_key(table, step, key, words):
    err = refused(table, step)
    assert err.step == step and err.key == key
    assert words in str(err), str(err)
    assert f"step {step}, key '{key}'" in str(err)


def test_a_comparison_across_a_new_sentence_is_refused():
    text = with_predict('{ ask = "sharper-or-flatter" }').replace(
        'settings = { temperature = 0.5 }', 'sentence = "a dog ran"')
    with pytest.raises(LessonError, match="other tokens"):
        parse_lesson(text, "q.toml")


# ---------------------------------------------------------------- trace JSON


def test_trace_json_carries_each_steps_question_and_computed_answer(capsys):
    assert main(["trace", "--lesson", "temperature", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    les = load_lesson("temperature")
    assert len(doc["steps"]) == len(les.steps)
    for i, (obj, step) in enumerate(zip(doc["steps"], les.steps, strict=True)):
        if step.predict is None:
            assert obj["predict"] is None
            continue
        got = obj["predict"]
        assert got["ask"] == "sharper-or-flatter" and got["question"] == step.predict.question
        assert "sharper" in got["asks_for"]
        # Independent: entropies of the JSON's own weights, by scipy.
        before = doc["steps"][i - 1]["layers"][0]["heads"][0]["weights"][step.predict.row]
        now = obj["layers"][0]["heads"][0]["weights"][step.predict.row]
        want = "sharper" if scipy_entropy(now, base=2) < scipy_entropy(before, base=2) else "flatter"
        assert got["answer"]["option"] == want
        assert re.search(r"\d\.\d\d to \d\.\d\d bits", got["answer"]["why"])


def test_trace_json_of_one_step_gives_cells_one_based_with_their_tokens(capsys):
    les = load_lesson("sparsemax")
    k = next(i for i, s in enumerate(les.steps, start=1) if s.predict is not None)
    assert main(["trace", "--lesson", "sparsemax", "--step", str(k), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    weights = doc["layers"][0]["heads"][0]["weights"]
    got = doc["predict"]["answer"]
    want = [[r + 1, c + 1] for r, row in enumerate(weights) for c, w in enumerate(row)
            if w == 0.0 and r == les.steps[k - 1].predict.row]
    assert got["cells"] == want
    assert got["tokens"] == [[doc["tokens"][r - 1], doc["tokens"][c - 1]] for r, c in want]
    assert step_predict_json(les, 0) is None


def test_the_docs_name_the_lessons_that_ask():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "lessons.md").read_text(encoding="utf-8")
    para = text[text.index("Six built-in lessons ask"):]
    para = para[: para.index("\n\n")]
    assert set(re.findall(r"`([a-z-]+)`", para)) == set(PREDICT_LESSONS)
