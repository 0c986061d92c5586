"""The learnable matrices of multi-head attention, seeded and editable.

Per layer: for each head h, W_Q, W_K, W_V of d_model × d_k; and W_O of d_model × d_model
(rows = the concatenated heads' columns). Seeded values are uniform in ±min(1, √(3/d_model))
so that projections keep roughly the spread of the embeddings, rounded to two decimals.
"""

from __future__ import annotations

import functools
import math
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
        d, h, s = settings.d_model, settings.heads, settings.seed
        layers = []
        for li in range(settings.layers):
            heads, w_o = _seeded_layer(d, h, s, li)
            layers.append(LayerWeights([HeadWeights(*m) for m in heads], w_o))
        return cls(layers)

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
                    *(check_matrix(f"{matrix_label(p)} (layer {li + 1}, head {hi + 1})", getattr(hw, p), dk)
                      for p in PROJECTIONS)
                )
                for hi, hw in enumerate(layer.heads)
            ]
            w_o = check_matrix(f"W_O (layer {li + 1})", layer.w_o, (settings.d_model, settings.d_model))
            out.append(LayerWeights(heads, w_o))
        return Weights(out)

    def copy(self) -> Weights:
        return Weights(
            [
                LayerWeights([HeadWeights(h.w_q.copy(), h.w_k.copy(), h.w_v.copy()) for h in lw.heads], lw.w_o.copy())
                for lw in self.layers
            ]
        )


# Two full sets at the largest settings (8 layers of 33.5 MB each); many more for small ones.
SEEDED_LAYERS_KEPT = 16


@functools.lru_cache(maxsize=SEEDED_LAYERS_KEPT)
def _seeded_layer(
    d: int, h: int, s: int, li: int
) -> tuple[tuple[tuple[np.ndarray, ...], ...], np.ndarray]:
    """One layer's seeded (W_Q, W_K, W_V) per head and W_O, read-only.

    Values are uniform in ±min(1, √(3/d_model)); the keys name seed, d_model, heads, layer
    and head. Remembered: changing the sentence, the temperature or the number of layers
    must not hash the same numbers again (2 s at the largest settings).
    """
    dk = d // h
    a = min(1.0, math.sqrt(3.0 / d))

    def frozen(m: np.ndarray) -> np.ndarray:
        m.setflags(write=False)
        return m

    heads = tuple(
        tuple(frozen(seeded.matrix(f"{p}|{s}|{d}|{h}|{li}|{hi}", d, dk, a)) for p in PROJECTIONS)
        for hi in range(h)
    )
    return heads, frozen(seeded.matrix(f"w_o|{s}|{d}|{h}|{li}", d, d, a))
