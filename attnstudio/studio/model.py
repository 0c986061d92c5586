"""StudioModel: the one owner of what the studio computes, shows and points at (no Qt).

Its state is one immutable ``Snapshot``. Every change goes through ``apply`` (or a mutator
built on it), which checks everything it was given before changing anything: on a bad
value it raises a StudioError / SettingsError / MatrixError naming what is wrong, and the
model and its listeners see nothing. A successful change replaces the snapshot and
announces, once, the kinds that changed (``events``: inputs, view, selection, display,
lesson); ``with model.batch():`` groups several changes into one announcement.

Rules that keep views honest:
- the selected row and the highlights name token positions: they are cleared whenever the
  tokens change, unless the same change sets them (a lesson step), and when a lesson opens,
  steps or closes;
- a change of d_model, heads, layers or seed re-seeds the matrices and keeps the user's
  edits of the old size, which come back on switching back (``stash``, at most 8 sizes);
- the view (layer, head) always lies inside the settings, or inside the real model's sizes
  while one is open (``open_model``): it is a lens on the sentence, not part of the work;
  the settings and matrices it fixes are refused while it is open.

The path of one edit, and where a new stage or option goes: docs/architecture.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from attnstudio.core.embeddings import embed
from attnstudio.core.errors import AttnStudioError, MatrixError, SettingsError
from attnstudio.core.explain import token_labels
from attnstudio.core.lesson_schema import Lesson, LessonStep, Predict
from attnstudio.core.lessons import compute_step
from attnstudio.core.masks import cells_within, check_cells, check_padding
from attnstudio.core.matrices import check_matrix, direct_label
from attnstudio.core.predict import Answer, Response, step_answer
from attnstudio.core.settings import Settings
from attnstudio.core.tokenize import tokenize
from attnstudio.core.trace import QUERY_ROW_STAGES, STAGE_KEYS, TOKEN_BY_TOKEN
from attnstudio.core.weights import Weights
from attnstudio.studio import edits, predicting, rules
from attnstudio.studio.compare import row_change, what_differs
from attnstudio.studio.events import Events
from attnstudio.studio.inputs import DirectKey, Inputs, RowOverride, adapt_direct, adapt_embeddings
from attnstudio.studio.rules import StudioError, index_in, one_of, tokens_of
from attnstudio.studio.snapshot import (
    THEMES,
    WEIGHT_SCALES,
    Snapshot,
    frozen_array,
    frozen_weights,
    same,
)

CHANGES = ("sentence", "settings", "weights", "embeddings", "direct", "padding", "mask_cells", "stage", "layer",
           "head", "selected_row", "highlight_rows", "highlight_cells", "theme", "zoom", "weights_scale")
_INPUT_FIELDS = ("sentence", "settings", "weights", "embeddings", "direct", "padding", "mask_cells")
_VIEW_FIELDS = ("stage", "layer", "head", "pinned")  # pinned: what is compared with (view)
_SELECTION_FIELDS = ("selected_row", "highlight_rows", "highlight_cells")
_DISPLAY_FIELDS = ("theme", "zoom", "weights_scale")
_LESSON_FIELDS = ("lesson", "step", "before_lesson", "answers")


class StudioModel:
    """See the module docstring. Read the state through the properties or ``snapshot()``."""

    def __init__(self, sentence: str | None = None, settings: Settings | None = None) -> None:
        base = Snapshot()
        if settings is not None:
            s = settings.validated()
            base = replace(base, settings=s, weights=Weights.seeded_read_only(s))
        if sentence is not None:
            base = replace(base, sentence=str(sentence))
        self._s = base
        self._generation = 0
        self._pin_generation = 0  # counts pins (studio.compare): A's computations are ordered by it
        self._real: Any = None  # core.real_model.RealModel while one is open
        self._model_w_q: dict[tuple[int, int], np.ndarray] = {}  # its heads' W_Q as edited (read-only)
        self.events = Events()
        # What is computed from the open step's traces when first asked for ("answer": its
        # question's answer, "change": what changed in its row): name → (lesson, step, value).
        self._step_cache: dict[str, tuple[Lesson | None, int, Any]] = {}

    # ---- reading ---------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Everything, frozen (cheap: the state already is a Snapshot)."""
        return self._s

    sentence = property(lambda self: self._s.sentence)
    settings = property(lambda self: self._s.settings)
    weights = property(lambda self: self._s.weights)
    stage = property(lambda self: self._s.stage)
    layer = property(lambda self: self._s.layer)
    head = property(lambda self: self._s.head)
    selected_row = property(lambda self: self._s.selected_row)
    highlight_rows = property(lambda self: self._s.highlight_rows)
    highlight_cells = property(lambda self: self._s.highlight_cells)
    theme = property(lambda self: self._s.theme)
    zoom = property(lambda self: self._s.zoom)
    weights_scale = property(lambda self: self._s.weights_scale)
    padding = property(lambda self: self._s.padding)
    mask_cells = property(lambda self: self._s.mask_cells)
    lesson = property(lambda self: self._s.lesson)
    step_index = property(lambda self: self._s.step)
    pinned = property(lambda self: self._s.pinned)

    @property
    def generation(self) -> int:
        """Counts changes of the inputs: orders computations so a stale result can be dropped."""
        return self._generation

    @property
    def step(self) -> LessonStep | None:
        s = self._s
        return s.lesson.steps[s.step] if s.lesson is not None and s.step >= 0 else None

    @property
    def real(self) -> Any:
        """The real model open (a core.real_model.RealModel), or None for the toy model."""
        return self._real

    def view_sizes(self) -> tuple[int, int]:
        """(layers, heads) the layer and head on view lie within: the open model's, else the settings'."""
        if self._real is not None:
            return self._real.info.layers, self._real.info.heads
        return self._s.settings.layers, self._s.settings.heads

    def tokens(self) -> tuple[str, ...]:
        """The current tokens (the open model's subwords, [CLS] and [SEP] included), or ()
        for an empty sentence."""
        return self._tokens_of(self._s.sentence)

    def _tokens_of(self, sentence: str) -> tuple[str, ...]:
        if self._real is None:
            return tokens_of(sentence)
        try:
            return tuple(self._real.encode(sentence).tokens) if sentence.strip() else ()
        except AttnStudioError:
            return ()

    def has_embeddings_override(self) -> bool:
        return self._s.embeddings is not None

    def direct_keys(self) -> frozenset[DirectKey]:
        return frozenset(k for k, _ in self._s.direct)

    def is_direct(self, layer: int, head: int, name: str) -> bool:
        return (layer, head, name) in self.direct_keys()

    def inputs(self) -> Inputs:
        """The frozen inputs of one computation; overrides moved to the current tokens."""
        s = self._s
        if self._real is not None:
            try:
                tokens = tuple(self._real.encode(s.sentence).tokens) if s.sentence.strip() else ()
            except AttnStudioError as exc:
                return Inputs(s.sentence, (), s.settings, s.weights, error=str(exc), generation=self._generation)
            return Inputs(s.sentence, tokens, s.settings, s.weights, generation=self._generation, model=self._real,
                          model_w_q=tuple(self._model_w_q.items()))
        return self._inputs_of(s, self._generation)

    def _inputs_of(self, s: Snapshot, generation: int) -> Inputs:
        try:
            tokens = tuple(tokenize(s.sentence))
        except AttnStudioError as exc:
            return Inputs(s.sentence, (), s.settings, s.weights, error=str(exc), generation=generation)
        emb = adapt_embeddings(s.embeddings, tokens, s.settings) if s.embeddings else None
        direct = {key: adapt_direct(ov, tokens) for key, ov in s.direct}
        return Inputs(s.sentence, tokens, s.settings, s.weights, emb, direct, generation=generation,
                      padding=s.padding, mask_cells=s.mask_cells)

    def matrix(self, name: str, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """A weight matrix (read-only): name in w_q, w_k, w_v (per head) or w_o (per layer)."""
        layer = self._s.layer if layer is None else layer
        head = self._s.head if head is None else head
        lw = self._s.weights.layers[layer]
        return lw.w_o if name == "w_o" else getattr(lw.heads[head], name)

    def embeddings_matrix(self) -> np.ndarray | None:
        """X as the user sees it for the current tokens (override or seeded), None when empty."""
        tokens = self.tokens()
        if not tokens:
            return None
        s = self._s
        if s.embeddings is not None:
            return adapt_embeddings(s.embeddings, tokens, s.settings)
        return embed(list(tokens), s.settings.d_model, s.settings.seed)

    def view_highlights(self, stage: str | None = None) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
        """(rows, cells) to outline on ``stage`` (the one on view by default), in token positions:
        the lesson step's rows everywhere, its cells on the token × token stages, and the
        selected query row where rows are query tokens."""
        s = self._s
        stage = s.stage if stage is None else stage
        rows = set(s.highlight_rows)
        if s.selected_row >= 0 and stage in QUERY_ROW_STAGES:
            rows.add(s.selected_row)
        cells = s.highlight_cells if stage in TOKEN_BY_TOKEN else ()
        return tuple(sorted(rows)), tuple(cells)

    # ---- changing everything at once -------------------------------------------------------
    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group changes into one announcement (one recompute)."""
        with self.events.batch():
            yield

    def apply(self, **changes: Any) -> None:
        """Change any of CHANGES at once, all or nothing (see the module docstring).

        ``settings`` is a Settings or a dict of changes; ``weights`` None means the seeded
        matrices; ``embeddings`` None drops the X override; ``direct`` replaces every direct
        matrix ({(layer, head, 'q'|'k'|'v'): N × d_k}, {} for none); ``padding`` (token
        positions) and ``mask_cells`` ((query, key) positions) replace what the padding and
        custom masks hide (MaskError for a position outside the sentence or one given twice).
        """
        unknown = sorted(set(changes) - set(CHANGES))
        if unknown:
            raise StudioError(f"cannot change {', '.join(unknown)}: one of {', '.join(CHANGES)}")
        new, notes = self._plan(changes)
        self._commit(new, notes)

    def restore(self, snap: Snapshot) -> None:
        """Make ``snap`` the state, exactly (checked first: a snapshot that does not fit
        together raises and changes nothing)."""
        if not isinstance(snap, Snapshot):
            raise StudioError(f"restore needs a Snapshot, not {type(snap).__name__}")
        if self._real is not None:
            rules.check_snapshot(snap, self.view_sizes())
        else:
            rules.check_snapshot(snap)
        self._commit(snap, [])

    def fit_view(self, snap: Snapshot) -> Snapshot:
        """``snap`` with its layer, head and selected row inside what is computed now (the open
        model's sizes and tokens, else its own settings'): for undo, which brings back work
        recorded while a real model was open, or before one was."""
        layers, heads = self.view_sizes() if self._real is not None else (snap.settings.layers, snap.settings.heads)
        n = len(self._tokens_of(snap.sentence))
        return replace(snap, layer=min(snap.layer, layers - 1), head=min(snap.head, heads - 1),
                       selected_row=snap.selected_row if snap.selected_row < n else -1)

    # ---- a real model ------------------------------------------------------------------------
    def open_model(self, model: Any) -> None:
        """Compute the sentence with ``model`` (a loaded core.real_model.RealModel) instead of
        the toy pipeline; the toy work stays as it is, for ``close_model``. Refused (StudioError)
        while a lesson is open: its steps are the toy model's."""
        s = self._s
        if s.lesson is not None:
            raise StudioError("close the lesson before opening a model: its steps set the toy model")
        self._real = model
        self._model_w_q = {}
        layers, heads = self.view_sizes()
        # A pinned comparison is dropped: its A is the toy model's, B would be the real one.
        new = replace(s, layer=min(s.layer, layers - 1), head=min(s.head, heads - 1), selected_row=-1,
                      highlight_rows=(), highlight_cells=(), pinned=None)
        self._commit(new, [f"{model.info.name}: {layers} layers × {heads} heads. File ▸ Close Model goes back "
                           "to the toy model"], force=("inputs", "view", "selection"))

    def close_model(self) -> None:
        """Back to the toy model, with the toy work as it was."""
        if self._real is None:
            return
        name, self._real = self._real.info.name, None
        self._model_w_q = {}
        self._commit(self.fit_view(self._s), [f"{name} closed: the toy model is back"],
                     force=("inputs", "view", "selection"))

    def model_w_q(self, layer: int, head: int) -> np.ndarray:
        """The open model's W_Q of (layer, head) as the next trace uses it (edited or its own), read-only."""
        if self._real is None:
            raise StudioError("no model is open")
        m = self._model_w_q.get((layer, head))
        return m if m is not None else frozen_array(self._real.w_q(layer, head))

    def model_edits(self) -> frozenset[tuple[int, int]]:
        """The (layer, head)s whose W_Q differs from the open model's own."""
        return frozenset(self._model_w_q)

    def set_model_w_q_cell(self, layer: int, head: int, row: int, col: int, value: str | float) -> float:
        """Edit one cell of the open model's W_Q of (layer, head) (the model itself is not
        changed: the edit is the studio's, until Reset or Close Model); returns the value."""
        base = self.model_w_q(layer, head)
        new, v = edits.cell(base, f"W_Q of layer {layer + 1}, head {head + 1}", row, col, value)
        self._model_w_q[(layer, head)] = frozen_array(new)
        self._commit(self._s, [], force=("inputs",))
        return v

    def reset_model_edits(self) -> None:
        """The open model's own W_Q in every head again."""
        if self._model_w_q:
            self._model_w_q = {}
            self._commit(self._s, ["Reset: the model's own W_Q in every head"], force=("inputs",))

    def _refuse_while_real(self, what: str) -> None:
        if self._real is not None:
            raise StudioError(f"{self._real.info.name} fixes {what}: close the model (File ▸ Close Model) "
                              "to change them")

    # ---- inputs ------------------------------------------------------------------------------
    def set_sentence(self, text: str) -> None:
        """Any text is accepted; an empty one shows a message and keeps every edit."""
        self.apply(sentence=text)

    def set_setting(self, **changes: Any) -> None:
        """Change settings; raise SettingsError (and change nothing) when they are invalid."""
        self.apply(settings=changes)

    def set_weight_cell(self, layer: int, head: int, name: str, row: int, col: int, value: str | float) -> float:
        """Set W_Q/W_K/W_V of (layer, head) or W_O of layer (name 'w_o', head ignored); returns the value."""
        new, v = edits.weight_cell(self._s.weights, layer, head, name, row, col, value)
        self._set_matrices(weights=frozen_weights(new))
        return v

    def set_weight(self, layer: int, head: int, name: str, matrix: Any) -> None:
        """Replace a whole weight matrix (checked for shape and finite values)."""
        self._set_matrices(weights=frozen_weights(edits.weight(self._s.weights, layer, head, name, matrix)))

    def set_embedding_cell(self, row: int, col: int, value: str | float) -> float:
        """Edit X (the token embeddings, before positional encoding) for the current tokens."""
        base = self.embeddings_matrix()
        if base is None:
            raise MatrixError("there are no tokens: type a sentence before editing X")
        new, v = edits.cell(base, "X (embeddings)", row, col, value)
        self._set_matrices(embeddings=RowOverride(frozen_array(new), self.tokens()))
        return v

    def set_embeddings(self, matrix: Any | None) -> None:
        """Replace X for the current tokens (None: back to the seeded toy vectors)."""
        self.apply(embeddings=matrix)

    def set_direct(self, layer: int, head: int, name: str, matrix: Any) -> None:
        """Give Q, K or V of (layer, head) directly, detached from X·W (N × d_k)."""
        direct = self._s.direct_dict()
        direct[(layer, head, name)] = RowOverride(
            frozen_array(edits.direct_matrix(self._s.settings, self.tokens(), layer, head, name, matrix)),
            self.tokens())
        self._set_matrices(direct=tuple(direct.items()))

    def set_direct_cell(self, layer: int, head: int, name: str, row: int, col: int, value: str | float,
                        current: np.ndarray | None = None) -> float:
        """Edit one cell of a direct Q/K/V. ``current`` is the matrix on screen; it is the base
        when the stored one has rows that still follow X·W (after the sentence changed)."""
        key = (layer, head, name)
        stored = self._s.direct_dict().get(key)
        base = adapt_direct(stored, self.tokens()) if stored is not None else None
        if base is None or np.isnan(base).any():
            if current is None:
                raise MatrixError(f"{name.upper()} has rows that follow X·W: give the matrix on screen")
            base = np.asarray(current, dtype=np.float64)
        new, v = edits.cell(base, direct_label(name, layer, head), row, col, value)
        self.set_direct(layer, head, name, new)
        return v

    def clear_direct(self, layer: int | None = None, head: int | None = None, name: str | None = None) -> None:
        """Back to Q/K/V = X·W for the matching keys (all of them with no arguments)."""
        keep = tuple((k, v) for k, v in self._s.direct
                     if not ((layer is None or k[0] == layer) and (head is None or k[1] == head)
                             and (name is None or k[2] == name)))
        if len(keep) != len(self._s.direct):
            self._set_matrices(direct=keep)

    def randomize(self) -> int:
        """A new seed: fresh seeded weights and embeddings; returns the seed."""
        seed = self.new_seed()
        self.set_setting(seed=seed)
        return seed

    def new_seed(self) -> int:
        """A random seed from 1 to 9,999, other than the current one (what Randomize picks)."""
        rng = np.random.default_rng()
        seed = self._s.settings.seed
        while seed == self._s.settings.seed:
            seed = int(rng.integers(1, 10_000))
        return seed

    def reset(self) -> None:
        """The seeded values for the current seed: every edit and direct matrix dropped (with a
        real model open: its own W_Q in every head again)."""
        if self._real is not None:
            self.reset_model_edits()
            return
        s = self._s
        stash = tuple((k, v) for k, v in s.stash if k != rules.shape_key(s.settings))
        new = replace(s, weights=Weights.seeded_read_only(s.settings), embeddings=None, direct=(),
                      edited=False, stash=stash)
        self._commit(new, [f"Reset: seeded values for seed {s.settings.seed}"])

    def identity(self, name: str, layer: int | None = None, head: int | None = None) -> None:
        """Ones on the diagonal (the whole identity where square), zeros elsewhere."""
        layer = self._s.layer if layer is None else layer
        head = self._s.head if head is None else head
        n, s = len(self.tokens()), self._s.settings
        if name == "x":
            self.set_embeddings(np.eye(n, s.d_model))
        elif name in ("q", "k", "v"):
            self.set_direct(layer, head, name, np.eye(n, s.d_k))
        else:
            self.set_weight(layer, head, name, np.eye(*self.matrix(name, layer, head).shape))

    def toggle_padding(self, token: int) -> None:
        """Mark token ``token`` as padding, or unmark it (the padding mask hides its key column)."""
        index_in("token", token, len(self.tokens()))
        padding = set(self._s.padding) ^ {int(token)}
        self.apply(padding=sorted(padding))

    def toggle_mask_cell(self, row: int, col: int) -> None:
        """Mask cell (query ``row``, key ``col``) of the custom mask, or unmask it."""
        n = len(self.tokens())
        cell = (index_in("query row", row, n), index_in("key column", col, n))
        self.apply(mask_cells=sorted(set(self._s.mask_cells) ^ {cell}))

    # ---- compare (studio.compare; docs/architecture.md, "Compare") ---------------------------
    def pin(self) -> None:
        """Pin the state now as A: any later change makes the live state B, shown beside it.
        Not a change of the work (announced as a view change; undo keeps the pin). Refused while
        a real model is open: A would be computed by the toy pipeline."""
        if self._real is not None:
            raise StudioError(f"compare pins the toy model's state: close {self._real.info.name} "
                              "(File ▸ Close Model) to compare")
        self._commit(replace(self._s, pinned=pinned_of(self._s)),
                     ["Pinned as A: now change anything to compare (F8 unpins)"])

    def unpin(self) -> None:
        """Back to the one live state."""
        if self._s.pinned is not None:
            self._commit(replace(self._s, pinned=None), [])

    def pinned_inputs(self) -> Inputs | None:
        """The inputs of the pinned A (computed as B's are), or None with nothing pinned. Their
        generation changes whenever the pin does, so a stale A can be told apart."""
        a = self._s.pinned
        return None if a is None else self._inputs_of(a, self._pin_generation)

    # ---- what is on view ---------------------------------------------------------------------
    def set_stage(self, key: str) -> None:
        self.apply(stage=key)

    def next_stage(self) -> None:
        i = STAGE_KEYS.index(self._s.stage)
        self.apply(stage=STAGE_KEYS[min(i + 1, len(STAGE_KEYS) - 1)])

    def prev_stage(self) -> None:
        i = STAGE_KEYS.index(self._s.stage)
        self.apply(stage=STAGE_KEYS[max(i - 1, 0)])

    def set_view(self, layer: int | None = None, head: int | None = None) -> None:
        """Show (layer, head), each clamped into the settings; None keeps it."""
        s = self._s
        layers, heads = self.view_sizes()
        self.apply(layer=s.layer if layer is None else max(0, min(int(layer), layers - 1)),
                   head=s.head if head is None else max(0, min(int(head), heads - 1)))

    def select_row(self, row: int) -> None:
        """Open one query row's arithmetic (-1 closes it)."""
        self.apply(selected_row=row)

    # ---- lessons ---------------------------------------------------------------------------
    def open_lesson(self, lesson: Lesson) -> None:
        """Open ``lesson`` on its first step; raise StudioError (changing nothing) when that
        step cannot be shown."""
        self._go(lesson, 0)

    def go_to_step(self, index: int) -> None:
        """Apply step ``index`` (0-based, clamped to the lesson); nothing without a lesson."""
        lesson = self._s.lesson
        if lesson is not None:
            self._go(lesson, max(0, min(int(index), len(lesson.steps) - 1)))

    def next_step(self) -> None:
        s = self._s
        if s.lesson is not None and s.step < len(s.lesson.steps) - 1:
            self.go_to_step(s.step + 1)

    def prev_step(self) -> None:
        s = self._s
        if s.lesson is not None and s.step > 0:
            self.go_to_step(s.step - 1)

    def close_lesson(self) -> None:
        """Stop the lesson and bring back the user's own work as it was when the lesson opened,
        the weights' colours included (a lesson may set them); theme and zoom stay as they are
        now: they are the presenter's. No row is selected, as after any lesson change."""
        s = self._s
        if s.lesson is None:
            return
        mine = s.before_lesson or s
        back = replace(mine, lesson=None, step=-1, before_lesson=None, selected_row=-1,
                       highlight_rows=(), highlight_cells=(), theme=s.theme, zoom=s.zoom, answers=())
        self._commit(back, ["Lesson closed: your own sentence, settings and matrices are back"])

    @property
    def off_script(self) -> bool:
        """Whether a lesson is open but the screen shows another stage, layer or head than its
        step (the presenter jumped): the narration should say so."""
        step = self.step
        s = self._s
        return step is not None and (s.stage, s.layer, s.head) != (step.state.stage, step.state.layer,
                                                                     step.state.head)

    def first_step(self) -> None:
        self.go_to_step(0)

    # ---- predict steps (studio.predicting; docs/lessons.md, "Predict, then reveal") ----------
    def question(self) -> Predict | None:
        """The open step's question, or None."""
        return predicting.question(self._s)

    def response(self) -> Response | None:
        """The learner's response to it so far."""
        return predicting.response(self._s)

    @property
    def asking(self) -> bool:
        """Whether the open step's question waits for an answer (its weights are hidden)."""
        return predicting.asking(self._s)

    def covered_weights(self, layer: int, head: int) -> np.ndarray | None:
        """The weights of (layer, head) that must not be shown now (True), or None."""
        return predicting.covered_weights(self._s, layer, head)

    def step_answer(self) -> Answer | None:
        """The computed answer to the open step's question (core.predict), or None."""
        s = self._s
        if s.lesson is None or predicting.question(s) is None:
            return None
        return self._for_step("answer", step_answer)

    def step_change(self) -> str | None:
        """What changed in the step's row since the step it follows (its ``compare`` step, else
        the one before), in words, from the two steps' traces (studio.compare.row_change): "Since
        step 5: row of 'it': tired 0.41 → 0.33 after adding key it". The row is the step's
        first outlined row, else its question's. None on the first step, for a step without
        such a row, and while its question waits (the sentence would give the answer away)."""
        s = self._s
        if s.lesson is None or s.step < 0 or self.asking:
            return None
        return self._for_step("change", step_change)

    def _for_step(self, what: str, compute: Callable[[Lesson, int], Any]) -> Any:
        """``compute(lesson, step)`` for the step on view, computed once per lesson and step."""
        s = self._s
        assert s.lesson is not None  # the callers ask only while a lesson is open
        lesson, index, value = self._step_cache.get(what, (None, -1, None))
        if lesson is not s.lesson or index != s.step:
            value = compute(s.lesson, s.step)
            self._step_cache[what] = (s.lesson, s.step, value)
        return value

    def answer_cell(self, row: int, col: int) -> bool:
        """A click on weight (row, col): True when it answered (or marked a cell for) the question."""
        return self._respond(predicting.on_cell(self._s, row, col))

    def answer_token(self, col: int) -> bool:
        """A click on a word: True when it answered "most-weight"."""
        return self._respond(predicting.on_token(self._s, col))

    def answer_option(self, option: str) -> bool:
        """An option of "sharper-or-flatter" chosen (StudioError for one the question lacks)."""
        return self._respond(predicting.on_option(self._s, option))

    def check_marks(self) -> bool:
        """"Check" the cells marked for "exact-zeros"."""
        return self._respond(predicting.on_check(self._s))

    def reveal(self) -> bool:
        """The presenter shows the answer without one (a show of hands): True when it revealed."""
        return self._respond(predicting.on_reveal(self._s))

    def _respond(self, r: Response | None) -> bool:
        if r is None:
            return False
        self._commit(replace(self._s, answers=predicting.with_response(self._s, r)), [])
        return True

    def last_step(self) -> None:
        lesson = self._s.lesson
        if lesson is not None:
            self.go_to_step(len(lesson.steps) - 1)

    def step_forward(self) -> None:
        """The clicker's "next": the lesson's next step when one is open, else the next stage."""
        if self._s.lesson is not None:
            self.next_step()
        else:
            self.next_stage()

    def step_back(self) -> None:
        if self._s.lesson is not None:
            self.prev_step()
        else:
            self.prev_stage()

    def _go(self, lesson: Lesson, index: int) -> None:
        if self._real is not None:
            raise StudioError(f"{lesson.source}: lessons run on the toy model: close {self._real.info.name} "
                              "(File ▸ Close Model) first")
        step = lesson.steps[index]
        new = self._step_plan(lesson, index)
        # A step that compares shows the state of the step it names as A (studio.compare);
        # any other step shows none, the user's own pin included (closing the lesson brings it back).
        pinned = pinned_of(self._step_plan(lesson, step.compare)) if step.compare is not None else None
        # The step says what the screen shows: the notes about re-seeding are not news.
        s = self._s
        before = s.before_lesson if s.lesson is not None else s
        answers = s.answers if s.lesson is lesson else ()  # another lesson (or opened again): ask again
        self._commit(replace(new, lesson=lesson, step=index, before_lesson=before, answers=answers,
                             pinned=pinned), [])

    def _step_plan(self, lesson: Lesson, index: int) -> Snapshot:
        """The snapshot that shows step ``index`` (raises StudioError when it cannot be shown)."""
        st = lesson.steps[index].state
        try:
            # The machine's backend stays the user's choice: a lesson does not set it.
            settings = st.settings.with_(backend=self._s.settings.backend).validated()
            new, _notes = self._plan({
                "sentence": st.sentence, "settings": settings, "weights": st.weights,
                "embeddings": st.embeddings, "direct": st.direct, "padding": st.padding,
                "mask_cells": st.mask_cells, "stage": st.stage, "layer": st.layer,
                "head": st.head, "selected_row": -1, "highlight_rows": st.highlight_rows,
                "highlight_cells": st.highlight_cells,
                **({"weights_scale": st.weights_scale} if st.weights_scale is not None else {}),
            })
        except AttnStudioError as exc:
            raise StudioError(f"{lesson.source}, step {index + 1}: cannot be shown: {exc}") from None
        return new

    # ---- internals ---------------------------------------------------------------------------
    def _set_matrices(self, **trusted: Any) -> None:
        """Replace already-checked matrices (weights, embeddings, direct) and mark them edited."""
        self._refuse_while_real("its matrices")
        s = self._s
        self._commit(replace(s, **trusted, edited=True), [])

    def _plan(self, changes: dict[str, Any]) -> tuple[Snapshot, list[str]]:
        """The snapshot ``changes`` lead to, and its notes; raises without side effects."""
        s = self._s
        settings = s.settings
        if "settings" in changes:
            value = changes["settings"]
            if not isinstance(value, Settings):
                try:
                    value = s.settings.with_(**dict(value))
                except TypeError as exc:
                    raise SettingsError(f"unknown setting: {exc}") from None
            settings = value.validated()
            if settings.with_(backend=s.settings.backend, dtype=s.settings.dtype) != s.settings:
                self._refuse_while_real("its sizes and attention (d_model, heads, layers, seed, mask, "
                                        "temperature, normalizer, positions)")
        if any(k in changes for k in ("weights", "embeddings", "direct", "padding", "mask_cells")):
            self._refuse_while_real("its matrices and has no masks to draw")
        sentence = str(changes.get("sentence", s.sentence))
        tokens = self._tokens_of(sentence)
        n = len(tokens)
        quiet = "weights" in changes
        weights, emb, direct, stash, edited, notes = rules.resized(s, settings, quiet)
        if "weights" in changes:
            w = changes["weights"]
            weights = Weights.seeded_read_only(settings) if w is None else frozen_weights(w.checked(settings))
            edited = edited or w is not None
        if "embeddings" in changes:
            m = changes["embeddings"]
            emb = None if m is None else RowOverride(
                frozen_array(check_matrix("X (embeddings)", m, (n, settings.d_model))), tokens)
            edited = edited or emb is not None
        if "direct" in changes:
            direct = tuple(((layer, head, name), RowOverride(frozen_array(
                edits.direct_matrix(settings, tokens, layer, head, name, m)), tokens))
                for (layer, head, name), m in ((rules.direct_key(k), m) for k, m in dict(changes["direct"]).items()))
            edited = edited or bool(direct)
        # The masks are the toy work's: counted on the toy tokens even while a model (whose
        # tokens add [CLS], [SEP] and subwords) is open.
        padding, mask_cells = self._masks(changes, len(tokens_of(sentence)), notes)
        stage = changes.get("stage", s.stage)
        if stage not in STAGE_KEYS:
            raise StudioError(f"unknown stage {stage!r}: one of {', '.join(STAGE_KEYS)}")
        layers, heads = self.view_sizes() if self._real is not None else (settings.layers, settings.heads)
        layer = index_in("layer", changes["layer"], layers) if "layer" in changes else min(s.layer, layers - 1)
        head = index_in("head", changes["head"], heads) if "head" in changes else min(s.head, heads - 1)
        same_tokens = tokens == self._tokens_of(s.sentence)
        selected = s.selected_row if same_tokens else -1
        if "selected_row" in changes:
            selected = -1 if changes["selected_row"] in (None, -1) else index_in("row", changes["selected_row"], n)
        rows = s.highlight_rows if same_tokens else ()
        if "highlight_rows" in changes:
            rows = tuple(index_in("highlighted row", r, n) for r in changes["highlight_rows"])
        cells = s.highlight_cells if same_tokens else ()
        if "highlight_cells" in changes:
            cells = tuple((index_in("highlighted cell row", r, n), index_in("highlighted cell column", c, n))
                          for r, c in changes["highlight_cells"])
        theme = one_of("theme", changes.get("theme", s.theme), THEMES)
        scale = one_of("weights colour scale", changes.get("weights_scale", s.weights_scale), WEIGHT_SCALES)
        zoom = rules.zoom(changes.get("zoom", s.zoom))
        new = replace(s, sentence=sentence, settings=settings, weights=weights, embeddings=emb, direct=direct,
                      stash=stash, edited=edited, padding=padding, mask_cells=mask_cells, stage=stage, layer=layer,
                      head=head, selected_row=selected,
                      highlight_rows=rows, highlight_cells=cells, theme=theme, zoom=zoom, weights_scale=scale)
        return new, notes

    def _masks(self, changes: dict[str, Any], n: int,
               notes: list[str]) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]]:
        """The padding tokens and masked cells after ``changes``: checked against the N tokens
        when given (MaskError); when the sentence shrinks, those beyond it are dropped with a
        note (undo brings them back)."""
        s = self._s
        padding = check_padding(changes["padding"], n) if "padding" in changes else \
            tuple(i for i in s.padding if i < n)
        cells = check_cells(changes["mask_cells"], n) if "mask_cells" in changes else cells_within(s.mask_cells, n)
        lost = []
        if "padding" not in changes and len(padding) < len(s.padding):
            lost.append(f"{len(s.padding) - len(padding)} padding token(s)")
        if "mask_cells" not in changes and len(cells) < len(s.mask_cells):
            lost.append(f"{len(s.mask_cells) - len(cells)} masked cell(s)")
        if lost:
            notes.append(f"{' and '.join(lost)} beyond the {n} tokens dropped (undo brings them back)")
        return padding, cells

    def _commit(self, new: Snapshot, notes: list[str], force: tuple[str, ...] = ()) -> None:
        """``force``: kinds announced although the snapshot's fields for them did not change
        (a real model opened or closed changes what is computed, outside the snapshot)."""
        old, self._s = self._s, new
        kinds = [kind for kind, names in (("inputs", _INPUT_FIELDS), ("view", _VIEW_FIELDS),
                                           ("selection", _SELECTION_FIELDS), ("display", _DISPLAY_FIELDS),
                                           ("lesson", _LESSON_FIELDS))
                 if kind in force or any(not same(getattr(old, f), getattr(new, f)) for f in names)]
        if "inputs" in kinds:
            self._generation += 1
        if not same(old.pinned, new.pinned):
            self._pin_generation += 1
        with self.events.batch():
            self.events.changed(*kinds)
            for text in notes:
                self.events.note(text)


def pinned_of(s: Snapshot) -> Snapshot:
    """What pinning ``s`` keeps as A: its inputs and view, without the lesson, the stash or
    what is pointed at (A is a state to compare with, never one to go back to)."""
    return replace(s, pinned=None, lesson=None, step=-1, before_lesson=None, answers=(), stash=(),
                   selected_row=-1, highlight_rows=(), highlight_cells=())


def step_change(lesson: Lesson, index: int) -> str | None:
    """StudioModel.step_change for step ``index`` (0-based) of ``lesson``, computed from the
    lesson's own states (core.lessons.compute_step), never from what was typed."""
    step = lesson.steps[index]
    before = step.compare if step.compare is not None else index - 1
    if before < 0:
        return None
    st = step.state
    row = st.highlight_rows[0] if st.highlight_rows else (step.predict.row if step.predict is not None else None)
    if row is None or not 0 <= row < len(st.tokens):
        return None
    prev = lesson.steps[before]
    try:
        a, b = compute_step(prev), compute_step(step)
    except AttnStudioError:
        return None
    change = row_change(a, b, st.layer, st.head, token_labels(st.tokens)[row], what_differs(prev.state, st))
    return f"Since step {before + 1}: {change}" if change else None
