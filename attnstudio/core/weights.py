"""The learnable matrices of multi-head attention, seeded and editable.

Per layer: for each head h, W_Q, W_K, W_V of d_model × d_k; and W_O of d_model × d_model
(rows = the concatenated heads' columns). Seeded values are uniform in ±min(1, √(3/d_model))
so that projections keep roughly the spread of the embeddings, rounded to two decimals.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from attnstudio.core import seeded
from attnstudio.core.errors import MatrixError
from attnstudio.core.matrices import check_matrix, matrix_label
from attnstudio.core.settings import Settings

PROJECTIONS = ("w_q", "w_k", "w_v")


@dataclass
class HeadWeights:
    """W_Q, W_K, W_V of one head (each d_model × d_k)."""

    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray


@dataclass
class LayerWeights:
    """The heads of one layer and its output projection W_O (d_model × d_model)."""

    heads: list[HeadWeights]
    w_o: np.ndarray


@dataclass
class Weights:
    """Every layer's matrices. Edit them in place or build them from explicit arrays."""

    layers: list[LayerWeights] = field(default_factory=list)

    @classmethod
    def seeded(cls, settings: Settings) -> Weights:
        """The deterministic matrices for (d_model, heads, layers, seed), new arrays to edit."""
        return cls.seeded_read_only(settings).copy()

    @classmethod
    def seeded_read_only(cls, settings: Settings) -> Weights:
        """The same matrices, read-only and shared with every other caller: nothing copied.

        Each layer's matrices are remembered apart, keyed without the number of layers (a
        layer's keys do not name it), so going from 7 layers to 8 seeds only the new one.
        The lists are new on each call; only the arrays, which cannot be written, are shared.
        """
        layers = []
        for key in _layer_keys(settings):
            heads, w_o = SEEDED_LAYERS.get(key)
            layers.append(LayerWeights([HeadWeights(*m) for m in heads], w_o))
        return cls(layers)

    @staticmethod
    def unseeded_values(settings: Settings) -> int:
        """How many values ``seeded_read_only(settings)`` would still generate (0: all in memory).

        The window asks before a change of size or seed and, when there are many, seeds on a
        worker thread first (0.4–0.6 s at the largest settings): see docs/architecture.md, "Seeding".
        """
        per_layer = 4 * settings.d_model * settings.d_model  # W_Q, W_K, W_V of every head, and W_O
        return per_layer * sum(not SEEDED_LAYERS.has(key) for key in _layer_keys(settings))

    def fits(self, settings: Settings) -> bool:
        """Whether these matrices have the shapes ``settings`` asks for."""
        if len(self.layers) != settings.layers:
            return False
        dk = (settings.d_model, settings.d_k)
        return all(
            len(layer.heads) == settings.heads
            and layer.w_o.shape == (settings.d_model, settings.d_model)
            and all(getattr(hw, p).shape == dk for hw in layer.heads for p in PROJECTIONS)
            for layer in self.layers
        )

    def checked(self, settings: Settings) -> Weights:
        """Validate every matrix (shape and finite values); raise MatrixError naming the first bad one."""
        if len(self.layers) != settings.layers:
            raise MatrixError(f"weights are given for {len(self.layers)} layer(s), settings ask for {settings.layers}")
        out = []
        dk = (settings.d_model, settings.d_k)
        for li, layer in enumerate(self.layers):
            if len(layer.heads) != settings.heads:
                    raise MatrixError(
                    f"layer {li + 1} has weights for {len(layer.heads)} head(s), settings ask for {settings.heads}"
                )
            heads = [
                HeadWeights(
                    *(_checked(f"{matrix_label(p)} (layer {li + 1}, head {hi + 1})", getattr(hw, p), dk)
                      for p in PROJECTIONS)
                )
                for hi, hw in enumerate(layer.heads)
            ]
            w_o = _checked(f"W_O (layer {li + 1})", layer.w_o, (settings.d_model, settings.d_model))
            out.append(LayerWeights(heads, w_o))
        return Weights(out)

    def copy(self) -> Weights:
        return Weights(
            [
                LayerWeights([HeadWeights(h.w_q.copy(), h.w_k.copy(), h.w_v.copy()) for h in lw.heads], lw.w_o.copy())
                for lw in self.layers
            ]
        )


def _checked(name: str, m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``m`` itself when it is a seeded matrix of that shape (finite, read-only: nothing to
    check or copy, 268 MB at the largest settings), else ``check_matrix``'s checked copy."""
    if _SEEDED_ARRAYS.get(id(m)) is m and m.shape == shape:
        return m
    return check_matrix(name, m, shape)


def _layer_keys(settings: Settings) -> list[tuple[int, int, int, int]]:
    return [(settings.d_model, settings.heads, settings.seed, li) for li in range(settings.layers)]


SeededLayer = tuple[tuple[tuple[np.ndarray, ...], ...], np.ndarray]


class _SeededLayers:
    """The seeded layers used last, read-only, shared by every caller and thread.

    Keyed by (d_model, heads, seed, layer) and not by the number of layers (a layer's keys
    do not name it), so going from 7 layers to 8 seeds only the new one. A layer is seeded
    outside the lock: the window's worker thread may seed while the UI thread reads others
    (two threads asking for the same new layer both seed it; the values are the same).
    """

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self.misses = 0  # layers seeded (for tests and the curious)
        self._layers: OrderedDict[tuple[int, int, int, int], SeededLayer] = OrderedDict()
        self._lock = threading.Lock()

    def has(self, key: tuple[int, int, int, int]) -> bool:
        with self._lock:
            return key in self._layers

    def get(self, key: tuple[int, int, int, int]) -> SeededLayer:
        with self._lock:
            layer = self._layers.get(key)
            if layer is not None:
                self._layers.move_to_end(key)
                return layer
            self.misses += 1
        layer = _seed_layer(*key)
        with self._lock:
            self._layers[key] = layer
            self._layers.move_to_end(key)
            while len(self._layers) > self.kept:
                self._layers.popitem(last=False)
        return layer

    def clear(self) -> None:
        with self._lock:
            self._layers.clear()


# Two full sets at the largest settings (8 layers of 33.5 MB each); many more for small ones.
SEEDED_LAYERS = _SeededLayers(kept=16)
# Every seeded matrix alive, by id: ``checked`` passes them through (weakly held: a matrix
# no layer keeps any more drops out).
_SEEDED_ARRAYS: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


def _seed_layer(d: int, h: int, s: int, li: int) -> SeededLayer:
    """One layer's seeded (W_Q, W_K, W_V) per head and W_O, read-only.

    Values are uniform in ±min(1, √(3/d_model)); the keys name seed, d_model, heads, layer
    and head.
    """
    dk = d // h
    a = min(1.0, math.sqrt(3.0 / d))

    def frozen(m: np.ndarray) -> np.ndarray:
        m.setflags(write=False)
        _SEEDED_ARRAYS[id(m)] = m
        return m

    heads = tuple(
        tuple(frozen(seeded.matrix(f"{p}|{s}|{d}|{h}|{li}|{hi}", d, dk, a)) for p in PROJECTIONS)
        for hi in range(h)
    )
    return heads, frozen(seeded.matrix(f"w_o|{s}|{d}|{h}|{li}", d, d, a))
