"""The lesson format's data model and the checks on each value a lesson file gives.

A lesson file is TOML (data only, never code): ``id``, ``title``, ``summary``, optional
``[defaults]`` and ``[[steps]]``. This module holds what a checked lesson *is* (Lesson,
LessonStep, StepState), the error every problem becomes (LessonError), the format's limits
and the per-value checks (types, matrices, markup). ``lesson_steps`` turns the values into
steps, with inheritance; ``lessons`` reads files. docs/lessons.md describes the format.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnstudio.core.errors import AttnStudioError, SettingsError
from attnstudio.core.settings import Settings
from attnstudio.core.trace import STAGE_KEYS
from attnstudio.core.weights import Weights

# Limits that keep a hostile or mistaken file from freezing the app.
MAX_FILE_BYTES = 1 << 20  # 1 MiB: refused before parsing
MAX_STEPS = 200
MAX_TOKENS = 500
MAX_SEED = 2**63
MAX_TEXT = {"id": 64, "title": 200, "summary": 2000, "narration": 4000, "formula": 500}
FORMAT_VERSION = 1

TOP_KEYS = ("format", "id", "title", "summary", "defaults", "steps")
TEXT_KEYS = ("title", "narration", "formula")
STATE_KEYS = (
    "sentence", "settings", "embeddings", "weights", "direct",
    "stage", "layer", "head", "highlight_rows", "highlight_cells", "weights_scale",
    "padding", "mask_cells",
)
# ``predict``: a question the step asks before it shows its answer (core.predict computes it).
# ``compare``: the step is shown beside an earlier step's state, with the difference.
# ``opens``: a panel of the window the step opens when it is shown (``OPENS``).
STEP_KEYS = TEXT_KEYS + STATE_KEYS + ("predict", "compare", "opens")
# What a step may open: the scaling lab (time and memory measured against N on this machine).
OPENS = ("scaling-lab",)
# The settings a lesson may set; backend and dtype belong to the machine, not the lesson.
SETTING_KEYS = (
    "d_model", "heads", "layers", "temperature", "scale",
    "mask", "normalizer", "positional", "residual", "seed",
)
HEAD_MATRICES = ("w_q", "w_k", "w_v")
NARRATION_TAGS = ("b", "i", "br", "code", "sub", "sup")
DEFAULT_STAGE = "weights"
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")


class LessonError(AttnStudioError):
    """A lesson that cannot be used, and why, in one line naming the file, step and key.

    ``source`` is the file (or "built-in …"), ``step`` the 1-based step (None for the top
    level, 0 for ``[defaults]``), ``key`` the dotted key in the file (None when the problem
    is the whole file), ``problem`` the bare reason.
    """

    def __init__(self, source: str, problem: str, step: int | None = None, key: str | None = None):
        self.source, self.problem, self.step, self.key = source, problem, step, key
        where = [_one_line(source)]
        if step == 0:
            where.append("[defaults]")
        elif step is not None:
            where.append(f"step {step}")
        if key is not None:
            where.append(f"key '{_one_line(key, 80)}'")
        super().__init__(f"{', '.join(where)}: {_one_line(problem, 400)}")


def _one_line(text: str, limit: int | None = None) -> str:
    """``text`` on one line, cut to ``limit`` characters (a hostile file can hold huge keys)."""
    flat = str(text).replace("\r", " ").replace("\n", " ")
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, eq=False)
class StepState:
    """The complete state of one step after inheriting from the steps before it.

    Arrays are read-only (the lesson is shared): copy them (``Weights.copy()``,
    ``array.copy()``) before editing. ``embeddings`` (N × d_model) is None for the toy
    embeddings; ``weights`` is None for the seeded ones, else a full set where the
    matrices the file did not give are seeded (composed when read, shared between steps:
    core.lesson_steps.StepWeights). ``direct`` maps (layer, head, 'q'|'k'|'v'),
    0-based, to an N × d_k matrix. ``layer``, ``head`` and the highlights are 0-based.
    """

    sentence: str
    settings: Settings
    embeddings: np.ndarray | None
    weights: Weights | None
    direct: dict[tuple[int, int, str], np.ndarray]
    stage: str
    layer: int
    head: int
    highlight_rows: tuple[int, ...]
    highlight_cells: tuple[tuple[int, int], ...]
    tokens: tuple[str, ...] = ()
    # How the weights are coloured (core.trace.WEIGHT_SCALES); None: the presenter's choice.
    weights_scale: str | None = None
    # What the drawn masks hide (core/masks.py), 0-based: the padding tokens (settings.mask
    # "padding") and the (query, key) cells (settings.mask "custom").
    padding: tuple[int, ...] = ()
    mask_cells: tuple[tuple[int, int], ...] = ()


PREDICT_KEYS = ("ask", "row", "question", "options")
# What a predict step may ask (docs/lessons.md, "Predict, then reveal"):
PREDICT_ASKS = ("most-weight", "sharper-or-flatter", "exact-zeros")
SHARPNESS_OPTIONS = ("sharper", "flatter", "same")
MAX_QUESTION = 300


@dataclass(frozen=True)
class Predict:
    """A step's question about its attention weights (of the layer and head it shows).

    ``ask``: "most-weight" (which key gets the most weight in ``row``), "sharper-or-flatter"
    (does ``row`` — or, with ``row`` None, the whole matrix on average — get sharper or
    flatter than in the step before: its entropy falls or rises) or "exact-zeros" (which
    weights of ``row``, or of the whole matrix, are exactly 0). ``row`` is 0-based.
    ``options`` are the choices offered for "sharper-or-flatter" (empty for the others).
    The answer is never stored: core.predict computes it from the step's trace.
    """

    ask: str
    row: int | None
    question: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class LessonStep:
    """One step: a title, narration (markup: <b> <i> <br> <code> <sub> <sup>), an optional
    plain-text formula, the state to show, and an optional question asked first."""

    title: str
    narration: str
    formula: str | None
    state: StepState
    # The question asked before the weights are shown (None: the step only shows).
    predict: Predict | None = None
    # The step (0-based) whose state is shown beside this one as A, with B − A (None: none).
    compare: int | None = None
    # A panel the window opens when the step is shown (one of ``OPENS``; None: none).
    opens: str | None = None


@dataclass(frozen=True)
class Lesson:
    """A checked lesson: its id, title, one-paragraph summary and steps (at least one).

    ``source`` is the file path it came from, or "built-in".
    """

    id: str
    title: str
    summary: str
    steps: tuple[LessonStep, ...]
    source: str


class Where:
    """Where a value sits in the file, to build LessonErrors that point at it."""

    def __init__(self, source: str, step: int | None = None):
        self.source, self.step = source, step

    def error(self, key: str | None, problem: str) -> LessonError:
        return LessonError(self.source, problem, self.step, key)


def unknown_key(where: Where, prefix: str, key: str, allowed: tuple[str, ...]) -> LessonError:
    """The error for a key the format does not know, with a 'did you mean' when one is close."""
    full = f"{prefix}{key}"
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(allowed)}"
    return where.error(full, f"unknown key ({hint})")


def check_keys(where: Where, prefix: str, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in table:
        if key not in allowed:
            raise unknown_key(where, prefix, key, allowed)


def type_name(value: Any, mapping: str = "a table") -> str:
    """How a value's type is called in messages; ``mapping`` names a dict (a TOML "table",
    a JSON "object"), and None is JSON's "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return mapping
    return f"a {type(value).__name__}"


def text(where: Where, key: str, value: Any, limit: int, allow_empty: bool = False) -> str:
    """A string value, checked for type, emptiness and length."""
    if not isinstance(value, str):
        raise where.error(key, f"must be text in quotes, not {type_name(value)}")
    if not allow_empty and not value.strip():
        raise where.error(key, "must not be empty")
    if len(value) > limit:
        raise where.error(key, f"is {len(value)} characters long; at most {limit} are allowed")
    return value


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\s*(/?)>")


def narration_markup(where: Where, key: str, value: str) -> str:
    """Check that narration uses only the small HTML subset; returns it unchanged.

    Allowed: <b> <i> <code> <sub> <sup> (closed in order) and <br> (or <br/>). A literal
    '<' must be written &lt; so the text never becomes other HTML (links, images, tables).
    """
    allowed = ", ".join(f"<{t}>" for t in NARRATION_TAGS)
    stack: list[str] = []
    pos = 0
    while (start := value.find("<", pos)) != -1:
        m = _TAG.match(value, start)
        if m is None:
            snippet = value[start : start + 12]
            raise where.error(
                key, f"'{snippet}' is not a tag the narration allows ({allowed}); write &lt; for a literal <"
            )
        closing, tag, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        if tag not in NARRATION_TAGS:
            raise where.error(key, f"<{m.group(2)}> is not allowed in narration; use only {allowed}")
        if tag == "br":
            if closing:
                raise where.error(key, "</br> is not a tag: write <br> for a line break")
        elif self_closing:
            raise where.error(key, f"<{tag}/> is not a tag: write <{tag}>…</{tag}>")
        elif closing:
            if not stack or stack[-1] != tag:
                expected = f"</{stack[-1]}>" if stack else "no closing tag"
                raise where.error(key, f"</{tag}> does not close an open <{tag}> (expected {expected})")
            stack.pop()
        else:
            stack.append(tag)
        pos = m.end()
    if stack:
        raise where.error(key, f"<{stack[-1]}> is never closed: add </{stack[-1]}>")
    return value


def whole_number(where: Where, key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(key, f"must be a whole number, not {type_name(value)}")
    if not low <= value <= high:
        raise where.error(key, f"must be from {low} to {high}, not {value}")
    return value


def numbers(where: Where, key: str, value: Any, ndim: int) -> np.ndarray:
    """A vector (ndim 1) or matrix (ndim 2) of plain numbers, as float64 (not yet shape-checked).

    Strings and true/false are refused even though NumPy would convert them: a lesson
    author who wrote "0.5" in quotes should hear about it.
    """
    what = "a list of numbers" if ndim == 1 else "a list of rows (lists of numbers)"
    if not isinstance(value, list) or not value:
        got = "an empty list" if isinstance(value, list) else type_name(value)
        raise where.error(key, f"must be {what}, not {got}")
    rows = value if ndim == 2 else [value]
    width = None
    for r, row in enumerate(rows, start=1):
        if not isinstance(row, list) or not row:
            raise where.error(key, f"row {r} must be a non-empty list of numbers, not {type_name(row)}")
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise where.error(
                key, f"row {r} has {len(row)} numbers but row 1 has {width}: every row needs the same length"
            )
        for c, cell in enumerate(row, start=1):
            place = f"row {r}, column {c}" if ndim == 2 else f"entry {c}"
            if isinstance(cell, bool) or not isinstance(cell, (int, float)):
                raise where.error(key, f"{place} must be a number, not {type_name(cell)}")
            if isinstance(cell, int) and abs(cell) > 10**15:
                raise where.error(key, f"{place} is too large ({cell})")
    arr = np.array(rows, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        r, c = (int(i) + 1 for i in np.argwhere(bad)[0])
        place = f"row {r}, column {c}" if ndim == 2 else f"entry {c}"
        raise where.error(key, f"{place} is not a finite number (nan and inf are not allowed)")
    return arr if ndim == 2 else arr[0]


def frozen(arr: np.ndarray) -> np.ndarray:
    """The array, made read-only: lesson data is shared by every step that inherits it."""
    arr.setflags(write=False)
    return arr


def setting_value(where: Where, name: str, value: Any) -> Any:
    """One setting checked on its own, through Settings.validated (ranges live there)."""
    key = f"settings.{name}"
    if name == "seed" and isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_SEED:
        raise where.error(key, f"must be between -2^63 and 2^63, not {value}")
    probe: dict[str, Any] = {name: value}
    if name == "heads":
        # A probe d_model that the heads value divides, so only the heads value is judged.
        ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1024
        probe["d_model"] = value if ok else 1
    try:
        Settings(**probe).validated()
    except SettingsError as exc:
        raise where.error(key, str(exc)) from None
    return float(value) if name == "temperature" else value


def settings_table(where: Where, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(
            "settings", f"must be a table (settings = {{ ... }} or [steps.settings]), not {type_name(value)}"
        )
    check_keys(where, "settings.", value, SETTING_KEYS)
    return {name: setting_value(where, name, v) for name, v in value.items()}


def stage_name(where: Where, value: Any) -> str:
    if not isinstance(value, str):
        raise where.error("stage", f"must be text, one of {', '.join(STAGE_KEYS)}; not {type_name(value)}")
    if value not in STAGE_KEYS:
        raise unknown_stage(where, value)
    return value


def unknown_stage(where: Where, value: str) -> LessonError:
    close = difflib.get_close_matches(value, STAGE_KEYS, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return where.error("stage", f"'{value}' is not a stage; {hint}stages: {', '.join(STAGE_KEYS)}")


TokenRef = int | str  # a 1-based position or a token's text


def token_ref(where: Where, key: str, value: Any) -> TokenRef:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise where.error(key, f"a token is named by its position (1, 2, …) or its text, not {type_name(value)}")
    if isinstance(value, int) and value < 1:
        raise where.error(key, f"token positions count from 1, not {value}")
    if isinstance(value, str) and not value.strip():
        raise where.error(key, "a token text must not be empty")
    return value


def highlight_rows(where: Where, value: Any) -> tuple[TokenRef, ...]:
    if not isinstance(value, list):
        raise where.error("highlight_rows", f"must be a list of token positions or texts, not {type_name(value)}")
    return tuple(token_ref(where, "highlight_rows", v) for v in value)


def token_refs(where: Where, key: str, value: Any) -> tuple[TokenRef, ...]:
    """A list of token references (``padding``), each given once."""
    if not isinstance(value, list):
        raise where.error(key, f"must be a list of token positions or texts, not {type_name(value)}")
    refs = tuple(token_ref(where, key, v) for v in value)
    for i, ref in enumerate(refs):
        if ref in refs[:i]:
            raise where.error(key, f"entry {i + 1} names {ref!r} again: give each token once")
    return refs


def highlight_cells(where: Where, value: Any, key: str = "highlight_cells") -> tuple[tuple[TokenRef, TokenRef], ...]:
    if not isinstance(value, list):
        raise where.error(key, f"must be a list of [row, column] pairs, not {type_name(value)}")
    cells = []
    for i, pair in enumerate(value, start=1):
        if not isinstance(pair, list) or len(pair) != 2:
            raise where.error(key, f"entry {i} must be a [row, column] pair, e.g. [\"it\", \"cat\"] or [8, 2]")
        cells.append((token_ref(where, key, pair[0]), token_ref(where, key, pair[1])))
    return tuple(cells)


def resolve_refs(where: Where, key: str, ref: TokenRef, tokens: tuple[str, ...]) -> list[int]:
    """The 0-based positions a reference names: a 1-based position, or every token with that text."""
    if isinstance(ref, int):
        if ref > len(tokens):
            raise where.error(key, f"token {ref} does not exist: the sentence has {len(tokens)} tokens")
        return [ref - 1]
    hits = [i for i, t in enumerate(tokens) if t == ref] or [
        i for i, t in enumerate(tokens) if t.casefold() == ref.casefold()
    ]
    if not hits:
        close = difflib.get_close_matches(ref, tokens, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise where.error(key, f"'{ref}' is not a token of the sentence{hint}")
    return hits


def layer_head_index(where: Where, key: str, name: str, kind: str, limit: int) -> int:
    """'layer2' → 1 (0-based); a key not of that form is an unknown key."""
    m = re.fullmatch(rf"{kind}([0-9]{{1,3}})", name)
    if m is None:
        raise where.error(key, f"expected '{kind}1', '{kind}2', … (counted from 1), not '{name}'")
    n = int(m.group(1))
    if not 1 <= n <= limit:
        raise where.error(key, f"{kind} numbers go from 1 to {limit}, not {n}")
    return n - 1


def predict_table(where: Where, value: Any, state: StepState, prev: StepState | None) -> Predict:
    """A step's ``predict`` table, checked against the step's tokens and the step before."""
    if not isinstance(value, dict):
        raise where.error("predict", f"must be a table (predict = {{ ask = \"most-weight\", row = \"it\" }}), "
                          f"not {type_name(value)}")
    check_keys(where, "predict.", value, PREDICT_KEYS)
    if "ask" not in value:
        raise where.error("predict.ask", f"is missing: say what the step asks, one of {', '.join(PREDICT_ASKS)}")
    ask = value["ask"]
    if not isinstance(ask, str) or ask not in PREDICT_ASKS:
        close = difflib.get_close_matches(str(ask), PREDICT_ASKS, n=1, cutoff=0.5) if isinstance(ask, str) else []
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise where.error("predict.ask", f"{ask!r} is not a question this format asks; {hint}"
                          f"one of {', '.join(PREDICT_ASKS)}")
    row: int | None = None
    if "row" in value:
        ref = token_ref(where, "predict.row", value["row"])
        hits = resolve_refs(where, "predict.row", ref, state.tokens)
        if len(hits) > 1:
            raise where.error("predict.row", f"'{ref}' names {len(hits)} tokens (positions "
                              f"{', '.join(str(h + 1) for h in hits)}): give the position of one")
        row = hits[0]
    elif ask == "most-weight":
        raise where.error("predict.row", "is missing: \"most-weight\" asks about one query row "
                          "(a token's position or text)")
    if ask == "sharper-or-flatter":
        if prev is None:
            raise where.error("predict", "\"sharper-or-flatter\" compares with the step before, "
                              "and the first step has none")
        if prev.tokens != state.tokens:
            raise where.error("predict", "\"sharper-or-flatter\" compares with the step before, "
                              "whose sentence has other tokens: give both steps the same sentence")
        if state.layer >= prev.settings.layers or state.head >= prev.settings.heads:
            raise where.error("predict", f"\"sharper-or-flatter\" compares layer {state.layer + 1}, head "
                              f"{state.head + 1} with the step before, which has no such head")
    options: tuple[str, ...] = ()
    if "options" in value:
        if ask != "sharper-or-flatter":
            raise where.error("predict.options", f"only \"sharper-or-flatter\" offers options; "
                              f"\"{ask}\" is answered by clicking the matrix")
        raw = value["options"]
        if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
            raise where.error("predict.options", f"must be a list of texts from {', '.join(SHARPNESS_OPTIONS)}")
        for o in raw:
            if o not in SHARPNESS_OPTIONS:
                raise where.error("predict.options", f"{o!r} is not an option; choose from "
                                  f"{', '.join(SHARPNESS_OPTIONS)}")
        if len(set(raw)) != len(raw) or len(raw) < 2:
            raise where.error("predict.options", "needs at least two different options")
        options = tuple(raw)
    elif ask == "sharper-or-flatter":
        options = SHARPNESS_OPTIONS
    if "question" in value:
        question = text(where, "predict.question", value["question"], MAX_QUESTION)
        if "<" in question:
            raise where.error("predict.question", "is plain text: no markup (write 'less than' for <)")
    else:
        question = default_question(ask, None if row is None else state.tokens[row])
    return Predict(ask, row, question, options)


def compare_step(where: Where, value: Any, index: int) -> int:
    """A step's ``compare`` key: "previous" or { with_step = K } (K counts from 1, another step
    before or after this one); the 0-based step it names. ``index`` is this step's (0-based)."""
    example = 'compare = "previous" or compare = { with_step = 2 }'
    if value == "previous":
        if index == 0:
            raise where.error("compare", "\"previous\" on the first step: there is no step before it")
        return index - 1
    if isinstance(value, dict):
        check_keys(where, "compare.", value, ("with_step",))
        if "with_step" not in value:
            raise where.error("compare.with_step", f"is missing: {example}")
        k = value["with_step"]
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise where.error("compare.with_step", f"must be a step number from 1, not {k!r}")
        if k - 1 == index:
            raise where.error("compare.with_step", f"names this step ({k}): compare with another step")
        return k - 1
    raise where.error("compare", f"must be \"previous\" or a table, not {value!r}: {example}")


def opens_value(where: Where, value: Any) -> str:
    """A step's ``opens`` key: the panel it opens, one of ``OPENS``."""
    if not isinstance(value, str) or value not in OPENS:
        got = repr(value) if isinstance(value, str) else type_name(value)
        raise where.error("opens", f"must be one of {', '.join(repr(o) for o in OPENS)}, not {got}")
    return value


def default_question(ask: str, token: str | None) -> str:
    """The question a predict table asks when it gives no ``question`` of its own."""
    if ask == "most-weight":
        return f"Which word will '{token}' give the most weight?"
    if ask == "sharper-or-flatter":
        whose = f"the row of '{token}'" if token is not None else "attention (on average over the rows)"
        return f"Will {whose} get sharper or flatter than in the step before?"
    where = f"in the row of '{token}'" if token is not None else ""
    return f"Which weights {where} will be exactly 0?".replace("  ", " ")
