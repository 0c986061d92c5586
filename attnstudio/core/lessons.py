"""Lessons: ordered steps of narration and state, read from TOML data files.

    >>> lesson = load_lesson("it-cat")
    >>> trace = compute_step(lesson.steps[2])
    >>> trace.head().weights.shape
    (4, 4)

A lesson is data, never code: files are parsed with ``tomllib`` and every value is checked
(types, shapes against the sentence and d_model, ranges, unknown keys, size limits).
Whatever is wrong — a missing file, invalid UTF-8, truncated TOML, a matrix that does not
fit — becomes one LessonError whose one-line message names the file, the step and the key,
so the app can show it and keep running. docs/lessons.md documents the format.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from attnstudio.core.backends import Backend, resolve_backend
from attnstudio.core.file_text import FileTextError, file_text
from attnstudio.core.lesson_schema import (
    FORMAT_VERSION,
    ID_PATTERN,
    MAX_FILE_BYTES,
    MAX_STEPS,
    MAX_TEXT,
    STEP_KEYS,
    TOP_KEYS,
    Lesson,
    LessonError,
    LessonStep,
    StepState,
    Where,
    check_keys,
    compare_step,
    narration_markup,
    opens_value,
    predict_table,
    text,
    type_name,
)
from attnstudio.core.lesson_steps import STATE_KEYS, Changes, StepResolver, overlay, parse_changes
from attnstudio.core.pipeline import compute
from attnstudio.core.trace import Trace
from attnstudio.core.weights import Weights
from attnstudio.resources import lessons_dir

__all__ = [
    "BUILTIN_ORDER",
    "Lesson",
    "LessonError",
    "LessonStep",
    "StepState",
    "builtin_lesson_ids",
    "builtin_lessons",
    "compute_step",
    "load_lesson",
    "parse_lesson",
]

# Teaching order: one query by hand → the whole pipeline → the knobs of the softmax
# (scaling, temperature, its numerics) → masks → positions → heads → layers → other
# normalizers → what it costs.
BUILTIN_ORDER = (
    "it-cat",
    "qkv-walkthrough",
    "scaling",
    "temperature",
    "stable-softmax",
    "causal",
    "dog-bites-man",
    "multi-head",
    "trophy-suitcase",
    "sparsemax",
    "quadratic-cost",
)


def builtin_lesson_ids() -> list[str]:
    """The ids of the built-in lessons, in teaching order (files not in the order come last)."""
    found = sorted(p.name[: -len(".toml")] for p in lessons_dir().iterdir() if p.name.endswith(".toml"))
    rank = {lid: i for i, lid in enumerate(BUILTIN_ORDER)}
    return sorted(found, key=lambda lid: (rank.get(lid, len(rank)), lid))


def builtin_lessons() -> list[Lesson]:
    """Every built-in lesson, parsed and checked, in teaching order."""
    return [load_lesson(lid) for lid in builtin_lesson_ids()]


def load_lesson(id_or_path: str | os.PathLike[str]) -> Lesson:
    """A built-in lesson by id (e.g. "it-cat"), or a lesson file by path.

    Raises LessonError (never another exception) when it cannot be found, read or checked.
    """
    if isinstance(id_or_path, str) and id_or_path in builtin_lesson_ids():
        resource = lessons_dir() / f"{id_or_path}.toml"
        data = resource.read_bytes()
        return parse_lesson(data, f"built-in lesson {id_or_path}.toml", builtin=True)
    path = Path(id_or_path)
    name = str(id_or_path)
    try:
        if not path.exists():
            raise LessonError(name, _not_found(name))
        if not path.is_file():
            raise LessonError(name, "is not a file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LessonError(name, _too_big(path.stat().st_size))
        with path.open("rb") as fh:  # read at most the limit + 1: the file may grow meanwhile
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise LessonError(name, f"cannot be read: {exc.strerror or exc}") from None
    return parse_lesson(data, name)


def _not_found(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, builtin_lesson_ids(), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"no such file and no built-in lesson of that id; {hint}built-in: {', '.join(builtin_lesson_ids())}"


def _too_big(size: int) -> str:
    return f"is {size:,} bytes; a lesson file may be at most {MAX_FILE_BYTES:,} bytes (1 MiB)"


def parse_lesson(text_or_bytes: str | bytes, source: str, *, builtin: bool = False) -> Lesson:
    """Check the TOML text of a lesson and return it; ``source`` names it in messages.

    ``Lesson.source`` is ``source``, or "built-in" when ``builtin`` is true.
    """
    source = str(source)
    if not isinstance(text_or_bytes, (bytes, bytearray, str)):
        raise LessonError(source, f"expected the text of a lesson file, not {type_name(text_or_bytes)}")
    try:
        doc_text = file_text(text_or_bytes, MAX_FILE_BYTES, _too_big, "; save it as UTF-8")
    except FileTextError as exc:
        raise LessonError(source, str(exc)) from None
    try:
        doc = tomllib.loads(doc_text)
    except tomllib.TOMLDecodeError as exc:
        hint = "; is the file cut short?" if "end of document" in str(exc) else ""
        raise LessonError(source, f"is not valid TOML: {exc}{hint}") from None
    except RecursionError:
        raise LessonError(source, "is not valid TOML: arrays or tables are nested too deeply") from None
    except ValueError:  # tomllib lets int() refuse numbers of more than 4300 digits
        raise LessonError(source, "is not valid TOML: it holds a number too long to read") from None
    return _lesson(doc, source, builtin)


def _lesson(doc: dict[str, Any], source: str, builtin: bool) -> Lesson:
    top = Where(source)
    check_keys(top, "", doc, TOP_KEYS)
    version = doc.get("format", FORMAT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise top.error("format", f"must be a whole number (the format version, {FORMAT_VERSION}), not {version!r}")
    if version > FORMAT_VERSION:
        raise top.error("format", f"this lesson needs format {version}; this attnstudio reads format {FORMAT_VERSION}")
    for key in ("id", "title", "summary"):
        if key not in doc:
            raise top.error(key, "is missing (every lesson needs id, title and summary)")
    lesson_id = text(top, "id", doc["id"], MAX_TEXT["id"])
    if not ID_PATTERN.fullmatch(lesson_id):
        raise top.error("id", f"{lesson_id!r} must be lowercase letters, digits, '-' or '_' (e.g. \"my-lesson\")")
    title = text(top, "title", doc["title"], MAX_TEXT["title"])
    summary = text(top, "summary", doc["summary"], MAX_TEXT["summary"])

    defaults = Changes()
    if "defaults" in doc:
        if not isinstance(doc["defaults"], dict):
            raise top.error("defaults", f"must be a table ([defaults]), not {type_name(doc['defaults'])}")
        defaults = parse_changes(Where(source, 0), doc["defaults"], STATE_KEYS)

    raw_steps = doc.get("steps")
    if raw_steps is None:
        raise top.error("steps", "is missing: add at least one [[steps]] table")
    if not isinstance(raw_steps, list):
        raise top.error("steps", f"must be an array of tables ([[steps]]), not {type_name(raw_steps)}")
    if not raw_steps:
        raise top.error("steps", "is empty: a lesson needs at least one step")
    if len(raw_steps) > MAX_STEPS:
        raise top.error("steps", f"has {len(raw_steps)} steps; at most {MAX_STEPS} are allowed")

    resolver = StepResolver()
    steps: list[LessonStep] = []
    for k, raw in enumerate(raw_steps, start=1):
        where = Where(source, k)
        if not isinstance(raw, dict):
            raise where.error(None, f"must be a table ([[steps]]), not {type_name(raw)}")
        for key in ("title", "narration"):
            if key not in raw:
                raise where.error(key, "is missing (every step needs a title and a narration)")
        step_title = text(where, "title", raw["title"], MAX_TEXT["title"])
        narration = text(where, "narration", raw["narration"], MAX_TEXT["narration"])
        narration = narration_markup(where, "narration", narration)
        formula = text(where, "formula", raw["formula"], MAX_TEXT["formula"]) if "formula" in raw else None
        changes = parse_changes(where, raw, STEP_KEYS)
        if k == 1:
            changes = overlay(defaults, changes)
        state = resolver.step(where, changes)
        prev = steps[-1].state if steps else None
        predict = predict_table(where, raw["predict"], state, prev) if "predict" in raw else None
        compare = compare_step(where, raw["compare"], k - 1) if "compare" in raw else None
        opens = opens_value(where, raw["opens"]) if "opens" in raw else None
        steps.append(LessonStep(step_title, narration, formula, state, predict, compare, opens))
    for k, st in enumerate(steps, start=1):
        if st.compare is not None and st.compare >= len(steps):
            raise Where(source, k).error("compare.with_step", f"names step {st.compare + 1}; the lesson has "
                                                              f"{len(steps)} steps")
    return Lesson(lesson_id, title, summary, tuple(steps), "built-in" if builtin else source)


def compute_step(step: LessonStep | StepState, backend: Backend | str | None = None) -> Trace:
    """Run the pipeline (core.pipeline.compute) on one step's sentence, settings and matrices.

    ``backend`` is a Backend, a name ('numpy' | 'cupy' | 'auto'), or None for the step's
    settings (NumPy unless a lesson says otherwise).
    """
    state = step.state if isinstance(step, LessonStep) else step
    if isinstance(backend, str):
        backend = resolve_backend(backend, len(state.tokens))
    return compute(
        state.sentence,
        state.settings,
        weights=state.weights or Weights.seeded_read_only(state.settings),
        embeddings=state.embeddings,
        direct=state.direct or None,
        backend=backend,
        padding=state.padding,
        mask_cells=state.mask_cells,
    )
