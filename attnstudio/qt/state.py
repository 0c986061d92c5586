"""StudioState: the one place the studio's inputs live (edit → **state** → compute → trace → views).

Widgets call the mutators; a bad edit raises an AttnStudioError naming what is wrong and
changes nothing. Every successful change schedules ONE ``changed`` signal: changes made
in the same turn of the event loop, or within one frame (16 ms) of the last signal, are
coalesced, so a drag over a cell costs at most one recompute per frame. ``view_changed``
says the stage, layer or head to show moved (no recompute needed). ``note`` carries a
sentence for the status bar ("weights re-seeded …").

Arrays held here are never modified in place (copy on write), so an ``Inputs`` snapshot
taken for a worker thread stays valid while editing continues.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from attnstudio.core.embeddings import embed
from attnstudio.core.errors import AttnStudioError, MatrixError
from attnstudio.core.matrices import check_matrix, parse_cell
from attnstudio.core.settings import Settings
from attnstudio.core.tokenize import tokenize
from attnstudio.core.trace import STAGE_KEYS
from attnstudio.core.weights import PROJECTIONS, LayerWeights, Weights, matrix_label
from attnstudio.qt.inputs import DirectKey, Inputs, RowOverride, adapt_direct, adapt_embeddings

DEFAULT_SENTENCE = "The cat sat on the mat because it was tired"
FRAME_MS = 16
# Settings whose change gives the matrices new shapes or new seeded values.
_SHAPE_KEYS = ("d_model", "heads", "layers", "seed")
_KEEP: Any = object()


def cell_value(text_or_value: str | float, where: str, old: float) -> float:
    """``parse_cell`` with the cell named in the message and the value that stays."""
    try:
        return parse_cell(text_or_value)  # type: ignore[arg-type]  (it takes numbers too)
    except MatrixError as exc:
        raise MatrixError(f"{where}: {exc} — kept {old:.4g}") from None


class StudioState(QObject):
    """The sentence, Settings, Weights, overrides and the stage/layer/head on view."""

    changed = Signal()
    view_changed = Signal()
    note = Signal(str)

    def __init__(self, sentence: str = DEFAULT_SENTENCE, settings: Settings | None = None, parent=None):
        super().__init__(parent)
        self._sentence = sentence
        self._settings = (settings or Settings()).validated()
        self._weights = Weights.seeded(self._settings)
        self._embeddings: RowOverride | None = None
        self._direct: dict[DirectKey, RowOverride] = {}
        # Edits per matrix shape, so going d_model 4 → 8 → 4 brings the 4-wide edits back.
        self._stash: dict[tuple[int, ...], tuple[Weights, RowOverride | None, dict]] = {}
        self._edited = False  # any matrix differs from the seeded one
        self._stage = "tokens"
        self._layer = 0
        self._head = 0
        self._generation = 0
        self._last_emit = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._emit_changed)

    # ---- reading -------------------------------------------------------------------
    @property
    def sentence(self) -> str:
        return self._sentence

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def weights(self) -> Weights:
        return self._weights

    @property
    def stage(self) -> str:
        return self._stage

    @property
    def layer(self) -> int:
        return self._layer

    @property
    def head(self) -> int:
        return self._head

    @property
    def generation(self) -> int:
        return self._generation

    def has_embeddings_override(self) -> bool:
        return self._embeddings is not None

    def direct_keys(self) -> frozenset[DirectKey]:
        return frozenset(self._direct)

    def is_direct(self, layer: int, head: int, name: str) -> bool:
        return (layer, head, name) in self._direct

    def tokens(self) -> tuple[str, ...]:
        """The current tokens, or () for an empty sentence."""
        try:
            return tuple(tokenize(self._sentence))
        except AttnStudioError:
            return ()

    def snapshot(self) -> Inputs:
        """The frozen inputs of one computation; overrides moved to the current tokens."""
        try:
            tokens = tuple(tokenize(self._sentence))
        except AttnStudioError as exc:
            return Inputs(self._sentence, (), self._settings, self._weights, error=str(exc),
                          generation=self._generation)
        emb = adapt_embeddings(self._embeddings, tokens, self._settings) if self._embeddings else None
        direct = {key: adapt_direct(ov, tokens) for key, ov in self._direct.items()}
        return Inputs(self._sentence, tokens, self._settings, self._weights, emb, direct,
                      generation=self._generation)

    def matrix(self, name: str, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """A weight matrix: name in w_q, w_k, w_v (per head) or w_o (per layer)."""
        layer = self._layer if layer is None else layer
        head = self._head if head is None else head
        lw = self._weights.layers[layer]
        return lw.w_o if name == "w_o" else getattr(lw.heads[head], name)

    def embeddings_matrix(self) -> np.ndarray | None:
        """X as the user sees it for the current tokens (override or seeded), None when empty."""
        tokens = self.tokens()
        if not tokens:
            return None
        if self._embeddings is not None:
            return adapt_embeddings(self._embeddings, tokens, self._settings)
        return embed(list(tokens), self._settings.d_model, self._settings.seed)

    # ---- mutators: inputs ------------------------------------------------------------
    def set_sentence(self, text: str) -> None:
        """Any text is accepted; an empty one shows a message and keeps every edit."""
        if text != self._sentence:
            self._sentence = text
            self._schedule()

    def set_setting(self, **changes: Any) -> None:
        """Change settings; raise SettingsError (and change nothing) when they are invalid."""
        self._apply_settings(self._settings.with_(**changes))
        self._schedule()

    def set_weight_cell(self, layer: int, head: int, name: str, row: int, col: int, value: str | float) -> float:
        """Set W_Q/W_K/W_V of (layer, head) or W_O of layer (name 'w_o', head ignored)."""
        old = self.matrix(name, layer, head)
        where = f"{_weight_name(name, layer, head)} row {row + 1}, column {col + 1}"
        _check_index(where, old, row, col)
        v = cell_value(value, where, float(old[row, col]))
        new = old.copy()
        new[row, col] = v
        self._replace_weight(layer, head, name, new)
        return v

    def set_weight(self, layer: int, head: int, name: str, matrix: Any) -> None:
        """Replace a whole weight matrix (checked for shape and finite values)."""
        old = self.matrix(name, layer, head)
        new = check_matrix(_weight_name(name, layer, head), matrix, old.shape)
        self._replace_weight(layer, head, name, new)

    def set_embedding_cell(self, row: int, col: int, value: str | float) -> float:
        """Edit X (the token embeddings, before positional encoding) for the current tokens."""
        base = self.embeddings_matrix()
        if base is None:
            raise MatrixError("there are no tokens: type a sentence before editing X")
        where = f"X (embeddings) row {row + 1}, column {col + 1}"
        _check_index(where, base, row, col)
        v = cell_value(value, where, float(base[row, col]))
        new = base.copy()
        new[row, col] = v
        self._embeddings = RowOverride(new, self.tokens())
        self._edited = True
        self._schedule()
        return v

    def set_embeddings(self, matrix: Any | None) -> None:
        """Replace X for the current tokens (None: back to the seeded toy vectors)."""
        if matrix is None:
            self._embeddings = None
        else:
            tokens = self.tokens()
            m = check_matrix("X (embeddings)", matrix, (len(tokens), self._settings.d_model))
            self._embeddings = RowOverride(m, tokens)
            self._edited = True
        self._schedule()

    def set_direct(self, layer: int, head: int, name: str, matrix: Any) -> None:
        """Give Q, K or V of (layer, head) directly, detached from X·W (N × d_k)."""
        tokens = self.tokens()
        label = f"{name.upper()} (layer {layer + 1}, head {head + 1}, direct)"
        if name not in ("q", "k", "v") or not (0 <= layer < self._settings.layers and 0 <= head < self._settings.heads):
            raise MatrixError(f"{label} does not exist")
        m = check_matrix(label, matrix, (len(tokens), self._settings.d_k))
        self._direct[(layer, head, name)] = RowOverride(m, tokens)
        self._edited = True
        self._schedule()

    def set_direct_cell(self, layer: int, head: int, name: str, row: int, col: int, value: str | float,
                        current: np.ndarray | None = None) -> float:
        """Edit one cell of a direct Q/K/V. ``current`` is the matrix on screen; it is the base
        when the stored one has rows that still follow X·W (after the sentence changed)."""
        key = (layer, head, name)
        tokens = self.tokens()
        base = adapt_direct(self._direct[key], tokens) if key in self._direct else None
        if base is None or np.isnan(base).any():
            if current is None:
                raise MatrixError(f"{name.upper()} has rows that follow X·W: give the matrix on screen")
            base = np.asarray(current, dtype=np.float64)
        where = f"{name.upper()} (layer {layer + 1}, head {head + 1}, direct) row {row + 1}, column {col + 1}"
        _check_index(where, base, row, col)
        v = cell_value(value, where, float(base[row, col]))
        new = base.copy()
        new[row, col] = v
        self.set_direct(layer, head, name, new)
        return v

    def clear_direct(self, layer: int | None = None, head: int | None = None, name: str | None = None) -> None:
        """Back to Q/K/V = X·W for the matching keys (all of them with no arguments)."""
        keep = {k: v for k, v in self._direct.items()
                if not ((layer is None or k[0] == layer) and (head is None or k[1] == head)
                        and (name is None or k[2] == name))}
        if len(keep) != len(self._direct):
            self._direct = keep
            self._schedule()

    def randomize(self) -> int:
        """A new seed: fresh seeded weights and embeddings; returns the seed."""
        seed = int(np.random.default_rng().integers(1, 10_000))
        while seed == self._settings.seed:
            seed = int(np.random.default_rng().integers(1, 10_000))
        self.set_setting(seed=seed)
        return seed

    def reset(self) -> None:
        """The seeded values for the current seed: every edit and direct matrix dropped."""
        self._weights = Weights.seeded(self._settings)
        self._embeddings = None
        self._direct = {}
        self._edited = False
        self._stash.pop(self._shape_key(self._settings), None)
        self.note.emit(f"Reset: seeded values for seed {self._settings.seed}")
        self._schedule()

    def identity(self, name: str, layer: int | None = None, head: int | None = None) -> None:
        """Ones on the diagonal (the whole identity where square), zeros elsewhere."""
        layer = self._layer if layer is None else layer
        head = self._head if head is None else head
        if name == "x":
            tokens = self.tokens()
            self.set_embeddings(np.eye(len(tokens), self._settings.d_model))
        elif name in ("q", "k", "v"):
            self.set_direct(layer, head, name, np.eye(len(self.tokens()), self._settings.d_k))
        else:
            self.set_weight(layer, head, name, np.eye(*self.matrix(name, layer, head).shape))

    # ---- mutators: what is on view ---------------------------------------------------
    def set_stage(self, key: str) -> None:
        if key not in STAGE_KEYS:
            raise ValueError(f"unknown stage {key!r}: one of {', '.join(STAGE_KEYS)}")
        if key != self._stage:
            self._stage = key
            self.view_changed.emit()

    def set_view(self, layer: int | None = None, head: int | None = None) -> None:
        layer = self._layer if layer is None else max(0, min(layer, self._settings.layers - 1))
        head = self._head if head is None else max(0, min(head, self._settings.heads - 1))
        if (layer, head) != (self._layer, self._head):
            self._layer, self._head = layer, head
            self.view_changed.emit()

    def apply(self, sentence: Any = _KEEP, settings: Any = _KEEP, weights: Any = _KEEP,
              embeddings: Any = _KEEP, direct: Any = _KEEP, stage: Any = _KEEP,
              layer: Any = _KEEP, head: Any = _KEEP) -> None:
        """Set several things at once with ONE recompute (what a lesson step needs).

        ``settings`` is a Settings or a dict of changes; ``embeddings`` None clears the
        override; ``direct`` replaces every direct matrix ({} clears them). All of it is
        checked before anything changes: on error nothing changes.
        """
        new_settings = self._settings
        if settings is not _KEEP:
            new_settings = (settings if isinstance(settings, Settings) else self._settings.with_(**settings))
            new_settings = new_settings.validated()
        new_sentence = self._sentence if sentence is _KEEP else str(sentence)
        try:
            tokens = tuple(tokenize(new_sentence))
        except AttnStudioError:
            tokens = ()
        new_weights = None
        if weights is not _KEEP and weights is not None:
            new_weights = weights.checked(new_settings)
        new_emb = _KEEP
        if embeddings is not _KEEP:
            new_emb = None if embeddings is None else RowOverride(
                check_matrix("X (embeddings)", embeddings, (len(tokens), new_settings.d_model)), tokens)
        new_direct = _KEEP
        if direct is not _KEEP:
            new_direct = {
                tuple(k): RowOverride(check_matrix(f"{k[2].upper()} (direct)", m, (len(tokens), new_settings.d_k)),
                                      tokens)
                for k, m in (direct or {}).items()
            }
        if stage is not _KEEP and stage not in STAGE_KEYS:
            raise ValueError(f"unknown stage {stage!r}")
        # Everything is checked: now change.
        self._sentence = new_sentence
        if new_settings is not self._settings:
            self._apply_settings(new_settings, quiet=new_weights is not None)
        if new_weights is not None:
            self._weights = new_weights.copy()
            self._edited = True
        if new_emb is not _KEEP:
            self._embeddings = new_emb
            self._edited = self._edited or new_emb is not None
        if new_direct is not _KEEP:
            self._direct = new_direct
            self._edited = self._edited or bool(new_direct)
        view_before = (self._stage, self._layer, self._head)
        if stage is not _KEEP:
            self._stage = stage
        self._layer = self._layer if layer is _KEEP else int(layer)
        self._head = self._head if head is _KEEP else int(head)
        self._clamp_view()
        if (self._stage, self._layer, self._head) != view_before:
            self.view_changed.emit()
        self._schedule()

    # ---- internals -------------------------------------------------------------------
    def _apply_settings(self, new: Settings, quiet: bool = False) -> None:
        new = new.validated()
        old = self._settings
        if new == old:
            return
        if any(getattr(new, k) != getattr(old, k) for k in _SHAPE_KEYS):
            edited = self._edited
            if edited:
                self._stash[self._shape_key(old)] = (self._weights, self._embeddings, self._direct)
                while len(self._stash) > 8:  # a bounded memory of earlier sizes
                    self._stash.pop(next(iter(self._stash)))
            stashed = self._stash.pop(self._shape_key(new), None)
            if stashed is not None:
                self._weights, self._embeddings, self._direct = stashed
                self._edited = True
                msg = "your earlier edits for these sizes are back"
            else:
                self._weights = Weights.seeded(new)
                if new.d_model != old.d_model or new.seed != old.seed:
                    self._embeddings = None
                if new.d_k != old.d_k or new.heads != old.heads or new.layers < old.layers:
                    self._direct = {}
                self._edited = self._embeddings is not None or bool(self._direct)
                msg = "weights re-seeded"
                if edited:
                    msg += " (edits to matrices of the old shape cannot carry over: they come back if you switch back)"
            what = ", ".join(f"{k} {getattr(old, k)} → {getattr(new, k)}" for k in _SHAPE_KEYS
                             if getattr(new, k) != getattr(old, k))
            if not quiet:
                self.note.emit(f"{what}: {msg}")
        self._settings = new
        self._clamp_view()

    @staticmethod
    def _shape_key(s: Settings) -> tuple[int, ...]:
        return (s.d_model, s.heads, s.layers, s.seed)

    def _clamp_view(self) -> None:
        self._layer = max(0, min(self._layer, self._settings.layers - 1))
        self._head = max(0, min(self._head, self._settings.heads - 1))

    def _replace_weight(self, layer: int, head: int, name: str, new: np.ndarray) -> None:
        layers = list(self._weights.layers)
        lw = layers[layer]
        if name == "w_o":
            layers[layer] = LayerWeights(lw.heads, new)
        elif name in PROJECTIONS:
            heads = list(lw.heads)
            heads[head] = replace(heads[head], **{name: new})
            layers[layer] = LayerWeights(heads, lw.w_o)
        else:
            raise MatrixError(f"unknown weight matrix {name!r}")
        self._weights = Weights(layers)
        self._edited = True
        self._schedule()

    def _schedule(self) -> None:
        self._generation += 1
        if self._timer.isActive():
            return
        since = (time.perf_counter() - self._last_emit) * 1000.0
        self._timer.start(int(max(0.0, FRAME_MS - since)) if since < FRAME_MS else 0)

    def _emit_changed(self) -> None:
        self._last_emit = time.perf_counter()
        self.changed.emit()

    def flush(self) -> None:
        """Emit a pending ``changed`` now (tests and the lesson player use it)."""
        if self._timer.isActive():
            self._timer.stop()
            self._emit_changed()


def _weight_name(name: str, layer: int, head: int) -> str:
    if name == "w_o":
        return f"W_O (layer {layer + 1})"
    return f"{matrix_label(name)} (layer {layer + 1}, head {head + 1})"


def _check_index(where: str, m: np.ndarray, row: int, col: int) -> None:
    if not (0 <= row < m.shape[0] and 0 <= col < m.shape[1]):
        raise MatrixError(f"{where} does not exist: the matrix is {m.shape[0]} × {m.shape[1]}")

