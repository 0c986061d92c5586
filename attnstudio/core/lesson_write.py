"""A checked Lesson written back as the lesson TOML of docs/lessons.md.

``tomllib`` only reads, and a general TOML writer would not know the format's rules, so
this writes exactly the lesson schema. Each step is written as what it changes from the
step before (the way a person writes a lesson), following the inheritance rules of
``lesson_steps``; reading the text back gives steps equal to the ones written, value for
value: numbers are written with ``repr`` (the shortest text that reads back as the same
float), token positions rather than guesses, and a matrix the step keeps is not repeated.

The writer sees only resolved states, so it writes matrices and highlights as numbers and
positions (a word-keyed embeddings table becomes its rows). One change the format cannot
say in a step, dropping a typed-in Q, K or V while keeping another for the same sentence,
raises a LessonError naming the step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from attnstudio.core.lesson_schema import (
    DEFAULT_STAGE,
    FORMAT_VERSION,
    HEAD_MATRICES,
    SETTING_KEYS,
    SHARPNESS_OPTIONS,
    Lesson,
    LessonError,
    LessonStep,
    Predict,
    StepState,
)
from attnstudio.core.settings import Settings
from attnstudio.core.weights import Weights

__all__ = ["lesson_toml", "toml_string", "toml_value"]

WeightKey = tuple[int, int | None, str]
DirectKey = tuple[int, int, str]


def toml_string(s: str) -> str:
    """``s`` as a TOML basic string: one line, or a multi-line string when it holds line breaks.

    Backslashes, quotes and control characters are escaped; other Unicode is written as is
    (the file is UTF-8).
    """
    multi = "\n" in s
    out = []
    for ch in s:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n" and multi:
            out.append("\n")
        elif ch in _SHORT:
            out.append(_SHORT[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    body = "".join(out)
    # A line break right after the opening quotes would be dropped by a reader: start on a new line.
    return f'"""\n{body}"""' if multi else f'"{body}"'


_SHORT = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_value(value: Any, indent: str = "") -> str:
    """A value of the lesson schema: text, true/false, a whole number, a float (``repr``, so it
    reads back bit for bit), a vector, a matrix (one row per line) or a flat list."""
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not np.isfinite(f):
            raise ValueError(f"a lesson holds finite numbers only, not {f!r}")
        return repr(f)
    if isinstance(value, np.ndarray):
        if value.ndim == 2:
            rows = ",\n".join(f"{indent}    {toml_value(row)}" for row in value)
            return f"[\n{rows},\n{indent}]"
        return "[" + ", ".join(toml_value(float(v)) for v in value) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v, indent) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def lesson_toml(lesson: Lesson) -> str:
    """The lesson's TOML text; ``parse_lesson`` of it gives the same id, title, summary and steps."""
    lines = [
        f"format = {FORMAT_VERSION}",
        f"id = {toml_string(lesson.id)}",
        f"title = {toml_string(lesson.title)}",
        f"summary = {toml_string(lesson.summary)}",
    ]
    writer = _StepWriter(lesson.source)
    for k, step in enumerate(lesson.steps, start=1):
        lines.append("")
        lines.extend(writer.step(k, step))
    return "\n".join(lines) + "\n"


class _StepWriter:
    """Keeps what a reader has inherited so far, in the reader's terms, and writes each step
    as the keys that turn it into the step's state."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.prev: StepState | None = None
        self.weights: dict[WeightKey, np.ndarray] = {}  # the matrices given so far and kept
        self.direct: dict[DirectKey, np.ndarray] = {}
        self.padding: tuple[int, ...] = ()  # the drawn masks as the reader keeps them
        self.mask_cells: tuple[tuple[int, int], ...] = ()

    def step(self, k: int, step: LessonStep) -> list[str]:
        st, prev = step.state, self.prev
        keys: list[tuple[str, str]] = [("title", toml_string(step.title)), ("narration", toml_string(step.narration))]
        if step.formula is not None:
            keys.append(("formula", toml_string(step.formula)))
        new_tokens = prev is None or st.tokens != prev.tokens
        if prev is None or st.sentence != prev.sentence:
            keys.append(("sentence", toml_string(st.sentence)))
        changed = _settings_changes(prev.settings if prev else Settings(), st.settings)
        if changed:
            keys.append(("settings", "{ " + ", ".join(f"{n} = {toml_value(v)}" for n, v in changed) + " }"))
        keys.extend(self._view(st, prev, new_tokens))
        keys.extend(self._masks(st, new_tokens))
        keys.extend(_embeddings(st, prev, new_tokens))

        tables: list[str] = []
        weights = self._weights(st)
        if isinstance(weights, str):
            keys.append(("weights", weights))
        else:
            tables.extend(_matrix_tables("weights", weights))
        direct = self._direct(k, st, new_tokens)
        if isinstance(direct, str):
            keys.append(("direct", direct))
        else:
            tables.extend(_matrix_tables("direct", direct))
        if step.predict is not None:
            keys.append(("predict", _predict(step.predict, st)))
        if step.compare is not None:
            keys.append(("compare", f"{{ with_step = {step.compare + 1} }}"))
        if step.opens is not None:
            keys.append(("opens", toml_string(step.opens)))
        self.prev = st
        return ["[[steps]]", *(f"{name} = {value}" for name, value in keys), *tables]

    def _view(self, st: StepState, prev: StepState | None, new_tokens: bool) -> list[tuple[str, str]]:
        keys = []
        for name, first in (("stage", DEFAULT_STAGE), ("layer", 0), ("head", 0)):
            value = getattr(st, name)
            if value != (getattr(prev, name) if prev else first):
                keys.append((name, toml_value(value + 1 if name != "stage" else value)))
        kept_rows = () if new_tokens or prev is None else prev.highlight_rows
        if st.highlight_rows != kept_rows:
            keys.append(("highlight_rows", toml_value([_token_ref(st.tokens, r) for r in st.highlight_rows])))
        kept_cells = () if new_tokens or prev is None else prev.highlight_cells
        if st.highlight_cells != kept_cells:
            cells = [[_token_ref(st.tokens, r), _token_ref(st.tokens, c)] for r, c in st.highlight_cells]
            keys.append(("highlight_cells", toml_value(cells)))
        if st.weights_scale != (prev.weights_scale if prev else None):
            if st.weights_scale is None:  # the format has no way back to "the presenter's choice"
                raise LessonError(self.source, "weights_scale cannot go back to unset once a step set it",
                                  None, "weights_scale")
            keys.append(("weights_scale", toml_string(st.weights_scale)))
        return keys

    def _masks(self, st: StepState, new_tokens: bool) -> list[tuple[str, str]]:
        """``padding`` / ``mask_cells`` where the step shows other ones than the reader keeps
        (a step shows them only under their own mask: core.lesson_steps)."""
        if new_tokens:
            self.padding, self.mask_cells = (), ()
        keys = []
        if st.settings.mask == "padding" and st.padding != self.padding:
            keys.append(("padding", toml_value([_token_ref(st.tokens, i) for i in st.padding])))
            self.padding = st.padding
        if st.settings.mask == "custom" and st.mask_cells != self.mask_cells:
            cells = [[_token_ref(st.tokens, r), _token_ref(st.tokens, c)] for r, c in st.mask_cells]
            keys.append(("mask_cells", toml_value(cells)))
            self.mask_cells = st.mask_cells
        return keys

    def _weights(self, st: StepState) -> str | dict[WeightKey, np.ndarray]:
        """'"seeded"' or the matrices to give, so that the reader's weights become ``st.weights``."""
        s = st.settings
        kept = {key: m for key, m in self.weights.items() if _weight_fits(key, m, s)}
        if st.weights is None:
            self.weights = {}
            return '"seeded"' if kept else {}
        seeded = Weights.seeded_read_only(s)
        give: dict[WeightKey, np.ndarray] = {}
        for key, m in _weight_items(st.weights):
            base = kept[key] if key in kept else _weight_at(seeded, key)
            if not _equal(m, base):
                give[key] = m
        if not kept and not give:
            # Every matrix is the seeded one, yet the step names matrices: name one, so that
            # a reader too holds explicit (not "seeded") weights.
            key = (0, 0, "w_q")
            give[key] = _weight_at(st.weights, key)
        self.weights = {**kept, **give}
        return give

    def _direct(self, k: int, st: StepState, new_tokens: bool) -> str | dict[DirectKey, np.ndarray]:
        s, n = st.settings, len(st.tokens)
        kept = {} if new_tokens else {
            (li, hi, m): a for (li, hi, m), a in self.direct.items()
            if li < s.layers and hi < s.heads and a.shape == (n, s.d_k)
        }
        self.direct = dict(st.direct)
        dropped = sorted(set(kept) - set(st.direct))
        if dropped and st.direct:
            li, hi, name = dropped[0]
            raise LessonError(
                self.source,
                f"drops the typed-in {name.upper()} of layer {li + 1}, head {hi + 1} but keeps other typed-in "
                "matrices for the same sentence: the lesson format cannot say that in one step "
                "(give the dropped matrix in the step, or drop them all)",
                k, "direct")
        if dropped:
            return '"none"'
        return {key: a for key, a in st.direct.items() if key not in kept or not _equal(a, kept[key])}


def _settings_changes(before: Settings, after: Settings) -> list[tuple[str, Any]]:
    return [(n, getattr(after, n)) for n in SETTING_KEYS
            if getattr(after, n) != getattr(before, n) or type(getattr(after, n)) is not type(getattr(before, n))]


def _embeddings(st: StepState, prev: StepState | None, new_tokens: bool) -> list[tuple[str, str]]:
    before = prev.embeddings if prev is not None else None
    if st.embeddings is None:
        return [("embeddings", '"toy"')] if before is not None else []
    if before is not None and not new_tokens and _equal(before, st.embeddings):
        return []
    return [("embeddings", toml_value(st.embeddings))]


def _predict(p: Predict, st: StepState) -> str:
    """A step's question as an inline table (its answer is computed, never written)."""
    items = [f"ask = {toml_string(p.ask)}"]
    if p.row is not None:
        items.append(f"row = {toml_value(_token_ref(st.tokens, p.row))}")
    items.append(f"question = {toml_string(p.question)}")
    if p.options and p.options != SHARPNESS_OPTIONS:
        items.append(f"options = {toml_value(list(p.options))}")
    return "{ " + ", ".join(items) + " }"


def _token_ref(tokens: Sequence[str], pos: int) -> int | str:
    """A token's text when it names only that token (easier to read), else its 1-based position."""
    text = tokens[pos]
    if text.strip() and sum(t == text for t in tokens) == 1 and not text.isdigit():
        return text
    return pos + 1


def _weight_items(w: Weights) -> Iterable[tuple[WeightKey, np.ndarray]]:
    for li, lw in enumerate(w.layers):
        for hi, hw in enumerate(lw.heads):
            for name in HEAD_MATRICES:
                yield (li, hi, name), getattr(hw, name)
        yield (li, None, "w_o"), lw.w_o


def _weight_at(w: Weights, key: WeightKey) -> np.ndarray:
    li, hi, name = key
    lw = w.layers[li]
    return lw.w_o if hi is None else getattr(lw.heads[hi], name)


def _weight_fits(key: WeightKey, m: np.ndarray, s: Settings) -> bool:
    li, hi, _ = key
    if li >= s.layers or (hi is not None and hi >= s.heads):
        return False
    return m.shape == ((s.d_model, s.d_model) if hi is None else (s.d_model, s.d_k))


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


_MATRIX_ORDER = ("w_q", "w_k", "w_v", "w_o", "q", "k", "v")


def _matrix_tables(kind: str, mats: dict[Any, np.ndarray]) -> list[str]:
    """``[steps.weights.layer1]`` (w_o) and ``[steps.<kind>.layer1.head1]`` tables, in order."""
    lines: list[str] = []
    groups: dict[tuple[int, int | None], list[tuple[str, np.ndarray]]] = {}
    def order(key: Any) -> tuple[int, int, int]:
        li, hi, name = key
        return li, -1 if hi is None else hi, _MATRIX_ORDER.index(name)

    for (li, hi, name), m in sorted(mats.items(), key=lambda kv: order(kv[0])):
        groups.setdefault((li, hi), []).append((name, m))
    for (li, hi), items in groups.items():
        table = f"steps.{kind}.layer{li + 1}" + ("" if hi is None else f".head{hi + 1}")
        lines.extend(("", f"[{table}]"))
        lines.extend(f"{name} = {toml_value(m)}" for name, m in items)
    return lines
