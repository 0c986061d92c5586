"""What is on screen and what the user changed, frozen: the studio's ``Snapshot``.

A snapshot is the value that undo, workspaces and compare store. It holds no Qt and no
live objects, only values: the arrays in it are read-only, so a snapshot taken now still
says the same thing after any number of later edits (the model replaces arrays, never
writes into them). ``same`` compares two snapshots exactly (arrays bit for bit).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnstudio.core.lesson_schema import Lesson
from attnstudio.core.predict import Response
from attnstudio.core.settings import Settings
from attnstudio.core.trace import WEIGHT_SCALES
from attnstudio.core.weights import Weights
from attnstudio.studio.inputs import DirectKey, RowOverride

__all__ = ["DEFAULT_SENTENCE", "DEFAULT_WEIGHTS_SCALE", "MAX_ZOOM", "MIN_ZOOM", "THEMES", "WEIGHT_SCALES",
           "WORK_FIELDS", "Snapshot", "frozen_array", "frozen_weights", "same"]

ShapeKey = tuple[int, int, int, int]  # (d_model, heads, layers, seed)
# Edits kept for a matrix size the user left: (weights, X override, direct Q/K/V).
Stashed = tuple[Weights, RowOverride | None, tuple[tuple[DirectKey, RowOverride], ...]]

THEMES = ("dark", "light")
# The weights' colours: over 0..1 ("unit"), over 0..(the matrix's largest weight) ("max"), or
# each row over 0..(its own largest weight) ("row"). The default is "max": on 0..1 toy weights
# of 0.03–0.3 were one dark shade and no pattern showed; stretched, they span the map, and
# with 0 kept at the bottom the colours stay proportional (twice the weight, twice as far up
# the map), so within one matrix a sharp row still shows one strong cell among faint ones
# and a flat row an even band; the colour bar says where its top is. It is not honest
# *between* matrices: a flat matrix (T = 4) fills the map as a sharp one does, so a lesson
# that compares sharpness across its steps (temperature, scaling) reads better on "unit", and
# sets it (a step's `weights_scale`). "row" is never the default: it makes a flat row look as
# strong as a sharp one. The names are core.trace.WEIGHT_SCALES.
DEFAULT_WEIGHTS_SCALE = "max"
MIN_ZOOM, MAX_ZOOM = 0.5, 4.0
DEFAULT_SENTENCE = "The cat sat on the mat because it was tired"
# The user's work in a snapshot: what saving keeps track of and undo steps through (not the
# view, the display options or what is pointed at).
WORK_FIELDS = ("sentence", "settings", "weights", "embeddings", "direct", "stash", "padding", "mask_cells")


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The studio's whole state. Fields, by who cares:

    - the computation: ``sentence``, ``settings``, ``weights``, ``embeddings`` (X given by
      the user, rows tied to their tokens), ``direct`` (Q/K/V given directly), ``stash``
      (edits kept per matrix size), ``edited`` (some matrix differs from the seeded one),
      ``padding`` and ``mask_cells`` (what the padding and custom masks hide, in token
      positions; kept while another mask is chosen, used only under their own: core/masks.py);
    - what is on view: ``stage``, ``layer``, ``head``;
    - what is pointed at: ``selected_row`` (the query row whose arithmetic is open, -1 for
      none), ``highlight_rows`` and ``highlight_cells`` (a lesson step's outlines), all in
      token positions;
    - display options: ``theme``, ``zoom`` (text size factor), ``weights_scale``;
    - the lesson: ``lesson`` (None when none is open), ``step`` (0-based, -1 with none) and
      ``before_lesson``, the user's own state when the lesson opened (what closing it brings
      back; None with no lesson), and ``answers``, the learner's responses to the lesson's
      questions by step (0-based; studio.predicting);
    - compare: ``pinned``, the state pinned as A (its own ``pinned`` None), shown beside the
      live state B and their difference (studio.compare). Pinning is not a change of the
      work: undo keeps the pin as it is, saving leaves it out.
    """

    sentence: str = DEFAULT_SENTENCE
    settings: Settings = dataclasses.field(default_factory=Settings)
    weights: Weights = dataclasses.field(default_factory=lambda: Weights.seeded_read_only(Settings()))
    embeddings: RowOverride | None = None
    direct: tuple[tuple[DirectKey, RowOverride], ...] = ()
    stash: tuple[tuple[ShapeKey, Stashed], ...] = ()
    edited: bool = False
    padding: tuple[int, ...] = ()
    mask_cells: tuple[tuple[int, int], ...] = ()
    stage: str = "tokens"
    layer: int = 0
    head: int = 0
    selected_row: int = -1
    highlight_rows: tuple[int, ...] = ()
    highlight_cells: tuple[tuple[int, int], ...] = ()
    theme: str = "dark"
    zoom: float = 1.0
    weights_scale: str = DEFAULT_WEIGHTS_SCALE
    lesson: Lesson | None = None
    step: int = -1
    before_lesson: Snapshot | None = None
    answers: tuple[tuple[int, Response], ...] = ()
    pinned: Snapshot | None = None

    def direct_dict(self) -> dict[DirectKey, RowOverride]:
        return dict(self.direct)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot) and same(self, other)

    __hash__ = None  # type: ignore[assignment]  # holds arrays: compared by value, never hashed


def same(a: Any, b: Any) -> bool:
    """Exact equality through dataclasses, tuples, lists and dicts; arrays bit for bit
    (same shape, dtype and values, NaN equal to NaN in the same place); weights by their
    matrices."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f")))
    if isinstance(a, Weights) and isinstance(b, Weights):
        # A lesson step's weights (core.lesson_steps.StepWeights) are built when read:
        # the same matrices as a plain Weights, only not held.
        return same(a.layers, b.layers)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b) and type(a) is type(b)


def frozen_array(a: np.ndarray) -> np.ndarray:
    """``a`` itself when it is already read-only, else a read-only copy."""
    if not a.flags.writeable:
        return a
    out = np.array(a, dtype=np.float64)
    out.setflags(write=False)
    return out


def frozen_weights(w: Weights) -> Weights:
    """The same matrices, every one read-only (shared where it already was)."""
    from attnstudio.core.weights import HeadWeights, LayerWeights

    return Weights([
        LayerWeights([HeadWeights(frozen_array(h.w_q), frozen_array(h.w_k), frozen_array(h.w_v)) for h in lw.heads],
                     frozen_array(lw.w_o))
        for lw in w.layers
    ])
