"""The rules the studio model keeps that are not matrix edits: what a change of size does to
the matrices, which indices exist, and whether a snapshot's parts fit together. Raised
errors are StudioErrors (AttnStudioErrors), each naming what is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.masks import check_cells, check_padding
from attnstudio.core.settings import Settings
from attnstudio.core.tokenize import tokenize
from attnstudio.core.trace import STAGE_KEYS
from attnstudio.core.weights import Weights
from attnstudio.studio.inputs import RowOverride
from attnstudio.studio.snapshot import MAX_ZOOM, MIN_ZOOM, THEMES, WEIGHT_SCALES, Snapshot, Stashed

# Settings whose change gives the matrices new shapes or new seeded values.
SHAPE_KEYS = ("d_model", "heads", "layers", "seed")
STASH_SIZES = 8  # matrix sizes whose edits are kept for switching back


class StudioError(AttnStudioError):
    """A change the studio refuses (unknown stage, a row outside the sentence, …)."""


def tokens_of(sentence: str) -> tuple[str, ...]:
    """The sentence's tokens, or () when it has none (or cannot be tokenized)."""
    try:
        return tuple(tokenize(sentence))
    except AttnStudioError:
        return ()


def resized(s: Snapshot, new: Settings, quiet: bool) -> tuple[Weights, RowOverride | None,
                                                              tuple, tuple, bool, list[str]]:
    """The matrices after a settings change: re-seeded for a new size or seed, with the
    edits of the old size stashed and those of the new size brought back."""
    old = s.settings
    if not any(getattr(new, k) != getattr(old, k) for k in SHAPE_KEYS):
        return s.weights, s.embeddings, s.direct, s.stash, s.edited, []
    stash = dict(s.stash)
    if s.edited:
        stash[shape_key(old)] = (s.weights, s.embeddings, s.direct)
        while len(stash) > STASH_SIZES:  # a bounded memory of earlier sizes
            stash.pop(next(iter(stash)))
    back: Stashed | None = stash.pop(shape_key(new), None)
    if back is not None:
        weights, emb, direct = back
        edited = True
        msg = "your earlier edits for these sizes are back"
    else:
        weights = Weights.seeded_read_only(new)
        emb = None if (new.d_model != old.d_model or new.seed != old.seed) else s.embeddings
        direct = () if (new.d_k != old.d_k or new.heads != old.heads or new.layers < old.layers) else s.direct
        edited = emb is not None or bool(direct)
        msg = "weights re-seeded"
        if s.edited:
            msg += " (edits to matrices of the old shape cannot carry over: they come back if you switch back)"
    what = ", ".join(f"{k} {getattr(old, k)} → {getattr(new, k)}" for k in SHAPE_KEYS
                     if getattr(new, k) != getattr(old, k))
    return weights, emb, direct, tuple(stash.items()), edited, ([] if quiet else [f"{what}: {msg}"])


def shape_key(s: Settings) -> tuple[int, int, int, int]:
    return (s.d_model, s.heads, s.layers, s.seed)


def index_in(what: str, value: Any, count: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < count:
        raise StudioError(f"{what} {value!r} does not exist: there are {count} (counted from 0)")
    return int(value)


def one_of(what: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise StudioError(f"{what} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def zoom(value: Any) -> float:
    """A text-size factor within MIN_ZOOM … MAX_ZOOM (NaN and ∞ are outside)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not MIN_ZOOM <= value <= MAX_ZOOM:
        raise StudioError(f"zoom must be a number from {MIN_ZOOM:g} to {MAX_ZOOM:g}, not {value!r}")
    return float(value)


def direct_key(key: Any) -> tuple[int, int, str]:
    """(layer, head, 'q'|'k'|'v') of a direct matrix; StudioError for anything else."""
    if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(i, int) and not isinstance(i, bool)
                                                             for i in key[:2]) and isinstance(key[2], str)):
        raise StudioError(f"a direct matrix is named (layer, head, 'q' | 'k' | 'v'), not {key!r}")
    return key[0], key[1], key[2]


def check_snapshot(snap: Snapshot, view_sizes: tuple[int, int] | None = None) -> None:
    """Raise StudioError when the parts of ``snap`` do not fit together. ``view_sizes``:
    (layers, heads) the layer and head on view lie within when not the settings' (a real
    model is open)."""
    s = snap.settings.validated()
    if not snap.weights.fits(s):
        raise StudioError("the snapshot's weights do not fit its settings")
    n = len(tokens_of(snap.sentence))
    if snap.stage not in STAGE_KEYS:
        raise StudioError(f"unknown stage {snap.stage!r}")
    layers, heads = view_sizes or (s.layers, s.heads)
    index_in("layer", snap.layer, layers)
    index_in("head", snap.head, heads)
    if snap.selected_row != -1 and view_sizes is None:  # a real model's tokens are not the toy's
        index_in("row", snap.selected_row, n)
    for r in snap.highlight_rows:
        index_in("highlighted row", r, n)
    if check_padding(snap.padding, n) != snap.padding or check_cells(snap.mask_cells, n) != snap.mask_cells:
        raise StudioError("the padding tokens and masked cells must be sorted, each given once")
    one_of("theme", snap.theme, THEMES)
    one_of("weights colour scale", snap.weights_scale, WEIGHT_SCALES)
    if not isinstance(snap.zoom, float) or zoom(snap.zoom) != snap.zoom:
        raise StudioError(f"zoom must be a float, not {snap.zoom!r}")
    if snap.before_lesson is not None:
        if snap.lesson is None or snap.before_lesson.lesson is not None:
            raise StudioError("the state kept for after the lesson belongs to an open lesson, and has none itself")
        check_snapshot(snap.before_lesson)
    if snap.pinned is not None:
        if snap.pinned.pinned is not None or snap.pinned.lesson is not None:
            raise StudioError("the state pinned as A holds no pin and no lesson of its own")
        check_snapshot(snap.pinned)
    steps = len(snap.lesson.steps) if snap.lesson is not None else 0
    if not (0 <= snap.step < steps or (snap.lesson is None and snap.step == -1)):
        raise StudioError(f"step {snap.step} does not exist: the lesson has {steps} step(s)")
    for index, _ in snap.answers:
        if not 0 <= index < steps:
            raise StudioError(f"an answer to step {index} of a lesson with {steps} step(s)")
