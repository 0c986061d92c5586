"""Predict, then reveal: the answer to a lesson step's question, computed from its trace.

A lesson step may ask before it shows (``LessonStep.predict``, docs/lessons.md): which key
gets the most weight, whether a row gets sharper or flatter than in the step before, which
weights are exactly 0. The answer is never typed into the lesson file: ``answer`` computes
it from the step's trace (and the previous step's, for a comparison), with a one-line
"why" made of the same numbers. ``judge`` compares a learner's response with it.

    >>> lesson = load_lesson("temperature")
    >>> step = lesson.steps[1]
    >>> answer(step.predict, compute_step(step), step.state.layer, step.state.head,
    ...        previous=compute_step(lesson.steps[0])).option
    'sharper'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnstudio.core.lesson_schema import Lesson, Predict
from attnstudio.core.lessons import compute_step
from attnstudio.core.trace import Trace

# Entropies closer than this (bits) count as "the same": a change a class cannot see.
SAME_BITS = 0.01
# Weights this close to the row's largest tie with it (two keys with equal scores).
TIE = 1e-9


@dataclass(frozen=True)
class Answer:
    """What a question's answer is, computed: ``cells`` (row, column) for "most-weight" (the
    winning cell, several on a tie) and "exact-zeros" (every weight that is exactly 0),
    ``option`` for "sharper-or-flatter"; ``why`` says it in one line with the numbers;
    ``asks_for`` says how to answer."""

    ask: str
    question: str
    asks_for: str
    cells: tuple[tuple[int, int], ...]
    option: str | None
    why: str
    tokens: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """For ``attnstudio trace --lesson ID --format json``: question, what is asked for and
        the computed answer (cells 1-based, as lesson files count)."""
        answer: dict[str, Any] = {"why": self.why}
        if self.option is not None:
            answer["option"] = self.option
        else:
            answer["cells"] = [[r + 1, c + 1] for r, c in self.cells]
            answer["tokens"] = [[self.tokens[r], self.tokens[c]] for r, c in self.cells]
        return {"ask": self.ask, "question": self.question, "asks_for": self.asks_for, "answer": answer}


@dataclass(frozen=True)
class Response:
    """A learner's response to one step's question: the cells clicked (for "most-weight", the
    one clicked; for "exact-zeros", those marked), or the option chosen. ``final`` False: cells
    still being marked. ``revealed``: the presenter showed the answer without one."""

    cells: tuple[tuple[int, int], ...] = ()
    option: str | None = None
    final: bool = False
    revealed: bool = False


@dataclass(frozen=True)
class Verdict:
    """How a response compares with the answer: ``right`` (None when nothing was answered)
    and one kind sentence saying so."""

    right: bool | None
    text: str


def covered(predict: Predict, n: int) -> np.ndarray:
    """The weights (n × n, True) a question is about: hidden until it is answered."""
    out = np.zeros((n, n), dtype=bool)
    if predict.row is None:
        out[:] = True
    elif predict.row < n:
        out[predict.row] = True
    return out


def asks_for(predict: Predict, tokens: tuple[str, ...]) -> str:
    """How the learner answers, in one line."""
    if predict.ask == "most-weight":
        return f"a key: click a cell in the row of '{tokens[predict.row or 0]}', or a word"
    if predict.ask == "sharper-or-flatter":
        return "one of: " + ", ".join(predict.options)
    return "click each weight that will be exactly 0, then Check (none: Check with none marked)"


def answer(predict: Predict, trace: Trace, layer: int = 0, head: int = 0, previous: Trace | None = None) -> Answer:
    """The question's answer from ``trace`` (head ``head`` of layer ``layer``); "sharper-or-flatter"
    needs ``previous``, the trace of the step before (the same tokens)."""
    t = trace.host()
    h = t.head(layer, head)
    weights = np.asarray(h.weights, dtype=np.float64)
    masked = np.asarray(h.masked, dtype=np.float64)
    tokens = t.tokens
    how = asks_for(predict, tokens)
    if predict.ask == "most-weight":
        cells, why = _most_weight(predict.row or 0, weights, masked, tokens, t.settings.scale)
        return Answer(predict.ask, predict.question, how, cells, None, why, tokens)
    if predict.ask == "sharper-or-flatter":
        if previous is None:
            raise ValueError("a sharper-or-flatter question needs the previous step's trace")
        before = np.asarray(previous.host().head(layer, head).row_entropy, dtype=np.float64)
        now = np.asarray(h.row_entropy, dtype=np.float64)
        option, why = _sharpness(predict, before, now, tokens)
        return Answer(predict.ask, predict.question, how, (), option, why, tokens)
    rows = range(weights.shape[0]) if predict.row is None else (predict.row,)
    cells = tuple((r, c) for r in rows for c in range(weights.shape[1]) if weights[r, c] == 0.0)
    why = _zeros_why(cells, weights, masked, tokens, t.settings.normalizer, t.settings.temperature, predict.row)
    return Answer(predict.ask, predict.question, how, cells, None, why, tokens)


def _num(x: float) -> str:
    """Two decimals, with a true minus sign (as the window writes numbers)."""
    return f"{x:.2f}".replace("-", "−")


def _score_word(scale: bool) -> str:
    return "scaled score" if scale else "score"


def _most_weight(row: int, weights: np.ndarray, masked: np.ndarray, tokens: tuple[str, ...],
                 scale: bool) -> tuple[tuple[tuple[int, int], ...], str]:
    w = weights[row]
    best = float(np.max(w))
    cols = [c for c in range(w.size) if best - w[c] <= TIE]
    names = " and ".join(f"'{tokens[c]}'" for c in cols)
    score = masked[row, cols[0]]
    word = _score_word(scale)
    if len(cols) == 1:
        why = (f"{names} gets {_num(best)} of the weight: its {word} {_num(score)} is the row's largest "
               f"(the weights keep the scores' order)")
    else:
        why = f"{names} tie with {_num(best)} each: their {word}s ({_num(score)}) are the row's largest"
    return tuple((row, c) for c in cols), why


def _sharpness(predict: Predict, before: np.ndarray, now: np.ndarray,
               tokens: tuple[str, ...]) -> tuple[str, str]:
    if predict.row is None:
        b, a = float(np.nanmean(before)), float(np.nanmean(now))
        whose = "The mean row entropy"
    else:
        b, a = float(before[predict.row]), float(now[predict.row])
        whose = f"The entropy of the row of '{tokens[predict.row]}'"
    delta = a - b
    if abs(delta) < SAME_BITS:
        option, meaning = "same", "about the same spread"
    elif delta < 0:
        option, meaning = "sharper", "lower entropy, so the weight gathers on fewer words"
    else:
        option, meaning = "flatter", "higher entropy, so the weight spreads over more words"
    return option, f"{whose} went from {b:.2f} to {a:.2f} bits: {meaning}"


def _cut_off(weights_row: np.ndarray, masked_row: np.ndarray, normalizer: str, temperature: float) -> float | None:
    """The score below which a sparse normalizer gives exactly 0, read back from its output:
    sparsemax p = max(z − τ, 0), entmax-1.5 p = max(z/2 − τ, 0)², with z = score / T."""
    support = weights_row > 0
    if not support.any():
        return None
    z = masked_row[support] / temperature
    p = weights_row[support]
    if normalizer == "sparsemax":
        tau = float(np.mean(z - p))
        return tau * temperature
    if normalizer == "entmax15":
        tau = float(np.mean(z / 2 - np.sqrt(p)))
        return 2 * tau * temperature
    return None


def _zeros_why(cells: tuple[tuple[int, int], ...], weights: np.ndarray, masked: np.ndarray,
               tokens: tuple[str, ...], normalizer: str, temperature: float, row: int | None) -> str:
    if not cells:
        if normalizer in ("softmax", "naive-softmax"):
            return "No weight is exactly 0: exp(x) > 0 for every finite score, so softmax gives every key some weight"
        return f"No weight is exactly 0: every score is above its row's cut-off under {normalizer}"
    by_mask = [(r, c) for r, c in cells if math.isinf(masked[r, c]) and masked[r, c] < 0]
    cut = [(r, c) for r, c in cells if (r, c) not in by_mask]
    count = f"{len(cells)} weight{'s are' if len(cells) != 1 else ' is'} exactly 0"
    if by_mask and not cut:
        return f"{count}: each is masked (score −∞), and exp(−∞) = 0"
    parts = []
    if by_mask:
        parts.append(f"{len(by_mask)} masked (score −∞, and exp(−∞) = 0)")
    if cut:
        if row is not None:
            names = ", ".join(f"'{tokens[c]}'" for _, c in cut)
            scores = ", ".join(_num(masked[r, c]) for r, c in cut)
            limit = _cut_off(weights[row], masked[row], normalizer, temperature)
            below = f"the cut-off {_num(limit)}" if limit is not None else "the cut-off"
            parts.append(f"{names}: scores {scores}, at or below {below}")
        else:
            parts.append(f"{len(cut)} whose score is at or below its row's cut-off under {normalizer}")
    return f"{count}: " + "; ".join(parts)


def judge(ans: Answer, response: Response | None) -> Verdict:
    """Compare a learner's ``response`` with the computed answer, kindly."""
    if response is None or not (response.final or response.revealed):
        return Verdict(None, "")
    if response.revealed and not response.final:
        return Verdict(None, "The answer, for everyone:")
    tok = ans.tokens
    if ans.ask == "most-weight":
        picked = response.cells[0][1] if response.cells else -1
        winners = {c for _, c in ans.cells}
        if picked in winners:
            return Verdict(True, f"Right: '{tok[picked]}' gets the most weight.")
        chosen = f"'{tok[picked]}'" if 0 <= picked < len(tok) else "nothing"
        best = " and ".join(f"'{tok[c]}'" for c in sorted(winners))
        return Verdict(False, f"Not quite: you chose {chosen}; {best} gets the most.")
    if ans.ask == "sharper-or-flatter":
        if response.option == ans.option:
            return Verdict(True, f"Right: {ans.option}.")
        return Verdict(False, f"Not quite: you said {response.option}; it is {ans.option}.")
    want, got = set(ans.cells), set(response.cells)
    if want == got:
        return Verdict(True, "Right: exactly those weights are 0." if want else "Right: none is exactly 0.")
    hit, extra = len(want & got), len(got - want)
    parts = [f"you marked {hit} of the {len(want)} zero{'s' if len(want) != 1 else ''}"]
    if extra:
        parts.append(f"and {extra} that {'are' if extra != 1 else 'is'} not 0")
    return Verdict(False, "Not quite: " + " ".join(parts) + ".")


def step_answer(lesson: Lesson, index: int, trace: Trace | None = None) -> Answer | None:
    """The answer to step ``index`` (0-based)'s question, from its trace (computed here unless
    given) and, for a comparison, the previous step's; None when the step asks nothing."""
    step = lesson.steps[index]
    if step.predict is None:
        return None
    trace = trace if trace is not None else compute_step(step)
    previous = compute_step(lesson.steps[index - 1]) if step.predict.ask == "sharper-or-flatter" else None
    return answer(step.predict, trace, step.state.layer, step.state.head, previous)


def step_predict_json(lesson: Lesson, index: int, trace: Trace | None = None) -> dict[str, Any] | None:
    """Step ``index`` (0-based)'s question with its computed answer, as JSON (None: it asks
    nothing). ``trace``: the step's trace when already computed."""
    ans = step_answer(lesson, index, trace)
    return None if ans is None else ans.to_json()


def answer_text(ans: Answer) -> str:
    """The computed answer in words, to stand beside the learner's."""
    tok = ans.tokens
    if ans.option is not None:
        return ans.option
    if ans.ask == "most-weight":
        return " and ".join(f"'{tok[c]}'" for _, c in ans.cells)
    if not ans.cells:
        return "none"
    rows = {r for r, _ in ans.cells}
    if len(rows) == 1:
        return ", ".join(f"'{tok[c]}'" for _, c in ans.cells)
    return f"the {len(ans.cells)} outlined weights" + (
        " (" + ", ".join(f"{tok[r]}→{tok[c]}" for r, c in ans.cells) + ")" if len(ans.cells) <= 4 else "")


def response_text(ans: Answer, response: Response | None) -> str:
    """The learner's response in words ('' when the presenter revealed without one)."""
    if response is None or not response.final:
        return ""
    tok = ans.tokens
    if ans.ask == "sharper-or-flatter":
        return response.option or ""
    if ans.ask == "most-weight":
        return f"'{tok[response.cells[0][1]]}'" if response.cells else ""
    if not response.cells:
        return "none"
    right = len(set(response.cells) & set(ans.cells))
    return f"{len(response.cells)} marked, {right} of them exactly 0"
