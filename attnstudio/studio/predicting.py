"""A lesson step's question in the studio: what is hidden until it is answered, and how a
click, an option or the presenter's reveal becomes the learner's response.

Pure functions of a ``Snapshot``; ``StudioModel`` commits what they return (its
``answer_*`` and ``reveal`` methods). Responses are kept per step while the lesson is open
(``Snapshot.answers``): going back to a step shows it answered; opening the lesson again
asks again. The answer itself is computed in the core (core.predict), never stored.
"""

from __future__ import annotations

import numpy as np

from attnstudio.core.lesson_schema import Predict
from attnstudio.core.predict import Response, covered
from attnstudio.studio.rules import StudioError, tokens_of
from attnstudio.studio.snapshot import Snapshot


def question(s: Snapshot) -> Predict | None:
    """The open step's question, or None."""
    if s.lesson is None or s.step < 0:
        return None
    return s.lesson.steps[s.step].predict


def response(s: Snapshot) -> Response | None:
    """The learner's response to the open step's question so far (None: none yet)."""
    return dict(s.answers).get(s.step)


def asking(s: Snapshot) -> bool:
    """Whether the open step asks a question that is not answered or revealed yet."""
    if question(s) is None:
        return False
    r = response(s)
    return r is None or not (r.final or r.revealed)


def covered_weights(s: Snapshot, layer: int, head: int) -> np.ndarray | None:
    """The weights of (layer, head) hidden now (n × n, True = hidden), or None when nothing is:
    only while the question is unanswered, only for the head the step asks about, and only
    while the sentence is the step's own."""
    p = question(s)
    if p is None or not asking(s) or s.lesson is None:
        return None
    state = s.lesson.steps[s.step].state
    if (layer, head) != (state.layer, state.head) or tokens_of(s.sentence) != state.tokens:
        return None
    return covered(p, len(state.tokens))


def on_cell(s: Snapshot, row: int, col: int) -> Response | None:
    """The response a click on weight (row, col) makes, or None when it answers nothing
    (then the click does what it always does)."""
    p = question(s)
    if p is None or not asking(s):
        return None
    n = len(tokens_of(s.sentence))
    if not (0 <= row < n and 0 <= col < n):
        return None
    if p.ask == "most-weight":
        return Response(cells=((row, col),), final=True) if row == p.row else None
    if p.ask == "exact-zeros":
        if p.row is not None and row != p.row:
            return None
        so_far = response(s)
        marked = so_far.cells if so_far is not None else ()
        cells = tuple(c for c in marked if c != (row, col)) if (row, col) in marked else (*marked, (row, col))
        return Response(cells=tuple(sorted(cells)))
    return None


def on_token(s: Snapshot, col: int) -> Response | None:
    """A click on a word: the key chosen for "most-weight" (else it answers nothing)."""
    p = question(s)
    if p is None or p.ask != "most-weight" or p.row is None:
        return None
    return on_cell(s, p.row, col)


def on_option(s: Snapshot, option: str) -> Response | None:
    """Choosing ``option`` of a "sharper-or-flatter" question."""
    p = question(s)
    if p is None or not asking(s) or p.ask != "sharper-or-flatter":
        return None
    if option not in p.options:
        raise StudioError(f"{option!r} is not an option of this question: {', '.join(p.options)}")
    return Response(option=option, final=True)


def on_check(s: Snapshot) -> Response | None:
    """"Check": the marked cells of an "exact-zeros" question become the answer (none marked:
    the answer "no weight is exactly 0")."""
    p = question(s)
    if p is None or not asking(s) or p.ask != "exact-zeros":
        return None
    r = response(s)
    return Response(cells=r.cells if r is not None else (), final=True)


def on_reveal(s: Snapshot) -> Response | None:
    """The presenter shows the answer to everyone (cells marked so far are kept)."""
    if not asking(s):
        return None
    r = response(s) or Response()
    return Response(cells=r.cells, option=r.option, final=False, revealed=True)


def with_response(s: Snapshot, r: Response) -> tuple[tuple[int, Response], ...]:
    """``s.answers`` with the open step's response replaced by ``r``."""
    return tuple(sorted({**dict(s.answers), s.step: r}.items()))
