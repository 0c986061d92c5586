"""Lessons authored in the window: what is on screen recorded as a lesson step, and the
lesson being written as an immutable ``Draft``.

Recording turns a ``Snapshot`` into the ``StepState`` a lesson file would give (the same
type ``core.lessons`` reads), so a recorded step is played by ``StudioModel.open_lesson``
/ ``go_to_step`` exactly as a step read from a file, and written by
``core.lesson_write``. A step keeps what the format can say: the sentence, the lesson
settings, the matrices that differ from the seeded ones (X and typed-in Q/K/V as they are
for the current tokens), the stage, layer and head, the highlights and the weights'
colour scale. The selected query row, the theme and zoom, the backend and the number
type (float32) belong to the presenter and the machine and are not recorded.

A ``Draft`` is a value like a snapshot: each operation returns a new draft, so the window
can keep the last good one when a change is refused.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from attnstudio.core.lesson_schema import (
    ID_PATTERN,
    MAX_STEPS,
    MAX_TEXT,
    MAX_TOKENS,
    SETTING_KEYS,
    Lesson,
    LessonError,
    LessonStep,
    StepState,
    Where,
    narration_markup,
    text,
)
from attnstudio.core.lesson_write import lesson_toml
from attnstudio.core.lessons import parse_lesson
from attnstudio.core.settings import Settings
from attnstudio.core.weights import Weights
from attnstudio.studio.inputs import Inputs, adapt_direct, adapt_embeddings, fill_direct
from attnstudio.studio.rules import tokens_of
from attnstudio.studio.snapshot import Snapshot, frozen_array, frozen_weights, same

__all__ = ["AUTHORED", "Draft", "lesson_settings", "record", "step_state"]

# What Lesson.source says for a lesson that lives in the editor, not in a file yet.
AUTHORED = "the lesson editor"


def lesson_settings(s: Settings) -> Settings:
    """The settings a lesson can carry (backend and number type are the machine's)."""
    values = {name: getattr(s, name) for name in SETTING_KEYS}
    values["temperature"] = float(values["temperature"])
    return Settings(**values).validated()


def step_state(snap: Snapshot) -> StepState:
    """The lesson state that shows what ``snap`` shows; LessonError when it cannot be a step
    (no tokens, too many)."""
    where = Where(AUTHORED)
    tokens = tokens_of(snap.sentence)
    if not tokens:
        raise where.error("sentence", "there is no sentence to show: type one before recording a step")
    if len(tokens) > MAX_TOKENS:
        raise where.error("sentence", f"has {len(tokens)} tokens; a lesson step may have at most {MAX_TOKENS}")
    settings = lesson_settings(snap.settings)
    weights: Weights | None = None if _all_seeded(snap.weights, settings) else frozen_weights(snap.weights)
    emb = None if snap.embeddings is None else frozen_array(adapt_embeddings(snap.embeddings, tokens, settings))
    direct = {key: adapt_direct(ov, tokens) for key, ov in snap.direct}
    if any(np.isnan(m).any() for m in direct.values()):
        # Rows of tokens the typed-in matrix did not have follow X·W: a file holds numbers.
        inputs = Inputs(snap.sentence, tokens, settings, weights or Weights.seeded_read_only(settings), emb, direct)
        direct = fill_direct(inputs)
    return StepState(
        snap.sentence, settings, emb, weights, {k: frozen_array(m) for k, m in direct.items()},
        snap.stage, snap.layer, snap.head, tuple(snap.highlight_rows), tuple(snap.highlight_cells),
        tokens, snap.weights_scale,
        # A step shows the drawn masks only under their own mask (core.lesson_steps).
        snap.padding if settings.mask == "padding" else (), snap.mask_cells if settings.mask == "custom" else (),
    )


def record(snap: Snapshot, title: str, narration: str, formula: str | None = None) -> LessonStep:
    """A lesson step showing ``snap``, with its text checked as a lesson file's would be."""
    title, narration, formula = check_text(title, narration, formula)
    return LessonStep(title, narration, formula, step_state(snap))


def check_text(title: str, narration: str, formula: str | None) -> tuple[str, str, str | None]:
    """The step's title, narration (the narration's markup subset) and formula (empty: none),
    checked; LessonError naming the field."""
    where = Where(AUTHORED)
    title = text(where, "title", title, MAX_TEXT["title"])
    narration = narration_markup(where, "narration", text(where, "narration", narration, MAX_TEXT["narration"]))
    if formula is not None and not formula.strip():
        formula = None
    if formula is not None:
        formula = text(where, "formula", formula, MAX_TEXT["formula"])
    return title, narration, formula


def _all_seeded(w: Weights, settings: Settings) -> bool:
    return same(w, Weights.seeded_read_only(settings))


@dataclass(frozen=True)
class Draft:
    """A lesson being written: id, title, summary and its steps so far (possibly none)."""

    id: str = "my-lesson"
    title: str = "My lesson"
    summary: str = "A lesson recorded in Attention Studio."
    steps: tuple[LessonStep, ...] = ()

    @classmethod
    def from_lesson(cls, lesson: Lesson) -> Draft:
        """A lesson to go on editing (a built-in one, or one read from a file)."""
        return cls(lesson.id, lesson.title, lesson.summary, lesson.steps)

    def named(self, lesson_id: str, title: str, summary: str) -> Draft:
        where = Where(AUTHORED)
        lesson_id = text(where, "id", lesson_id.strip(), MAX_TEXT["id"])
        if not ID_PATTERN.fullmatch(lesson_id):
            raise where.error("id", f"{lesson_id!r} must be lowercase letters, digits, '-' or '_' (e.g. \"my-lesson\")")
        return dataclasses.replace(self, id=lesson_id, title=text(where, "title", title, MAX_TEXT["title"]),
                                   summary=text(where, "summary", summary, MAX_TEXT["summary"]))

    def add(self, step: LessonStep, at: int | None = None) -> Draft:
        """``step`` inserted before index ``at`` (at the end by default)."""
        if len(self.steps) >= MAX_STEPS:
            raise LessonError(AUTHORED, f"a lesson has at most {MAX_STEPS} steps")
        at = len(self.steps) if at is None else max(0, min(at, len(self.steps)))
        return dataclasses.replace(self, steps=(*self.steps[:at], step, *self.steps[at:]))

    def replace_step(self, index: int, step: LessonStep) -> Draft:
        self._check(index)
        return dataclasses.replace(self, steps=(*self.steps[:index], step, *self.steps[index + 1:]))

    def with_text(self, index: int, title: str, narration: str, formula: str | None = None) -> Draft:
        """Step ``index`` with new words and the same state."""
        self._check(index)
        title, narration, formula = check_text(title, narration, formula)
        step = dataclasses.replace(self.steps[index], title=title, narration=narration, formula=formula)
        return self.replace_step(index, step)

    def move(self, index: int, to: int) -> Draft:
        """Step ``index`` moved to position ``to`` (clamped); the others keep their order."""
        self._check(index)
        steps = list(self.steps)
        step = steps.pop(index)
        steps.insert(max(0, min(to, len(steps))), step)
        return dataclasses.replace(self, steps=tuple(steps))

    def delete(self, index: int) -> Draft:
        self._check(index)
        return dataclasses.replace(self, steps=self.steps[:index] + self.steps[index + 1:])

    def lesson(self, source: str = AUTHORED) -> Lesson:
        """The draft as a Lesson to play; LessonError when it has no step yet."""
        if not self.steps:
            raise LessonError(source, "the lesson has no steps yet: record one with 'Add this as a lesson step'")
        return Lesson(self.id, self.title, self.summary, self.steps, source)

    def toml(self) -> str:
        """The lesson file's text, checked by reading it back: a text that would not give the
        same steps is never handed out (LessonError instead)."""
        lesson = self.lesson()
        out = lesson_toml(lesson)
        back = parse_lesson(out, AUTHORED)
        if not same(back.steps, lesson.steps):
            differ = next(k for k, (a, b) in enumerate(zip(back.steps, lesson.steps), 1) if not same(a, b))
            raise LessonError(AUTHORED, "would not read back as recorded; the format cannot say this step", differ)
        return out

    def _check(self, index: int) -> None:
        if not 0 <= index < len(self.steps):
            raise LessonError(AUTHORED, f"there is no step {index + 1}: the lesson has {len(self.steps)}")
