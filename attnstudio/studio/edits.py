"""Edits of one matrix, computed as new arrays: the checked value of a cell, a weight matrix
replaced in a new ``Weights``. Nothing here changes its arguments (the studio model keeps
its arrays read-only and replaces them), and every refusal is a MatrixError naming the
matrix, the cell and the value that stays.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from attnstudio.core.errors import MatrixError
from attnstudio.core.matrices import check_direct, check_matrix, direct_label, matrix_label, parse_cell
from attnstudio.core.settings import Settings
from attnstudio.core.weights import PROJECTIONS, LayerWeights, Weights


def weight_name(name: str, layer: int, head: int) -> str:
    """"W_Q (layer 1, head 2)", or "W_O (layer 1)" for the per-layer output projection."""
    if name == "w_o":
        return f"W_O (layer {layer + 1})"
    return f"{matrix_label(name)} (layer {layer + 1}, head {head + 1})"


def cell_value(text_or_value: str | float, where: str, old: float) -> float:
    """``parse_cell`` with the cell named in the message and the value that stays."""
    try:
        return parse_cell(text_or_value)  # type: ignore[arg-type]  # it takes numbers too
    except MatrixError as exc:
        raise MatrixError(f"{where}: {exc} — kept {old:.4g}") from None


def cell(base: np.ndarray, name: str, row: int, col: int, value: str | float) -> tuple[np.ndarray, float]:
    """A copy of ``base`` with cell (row, col) set to the checked ``value``; and that value."""
    where = f"{name} row {row + 1}, column {col + 1}"
    if not (0 <= row < base.shape[0] and 0 <= col < base.shape[1]):
        raise MatrixError(f"{where} does not exist: the matrix is {base.shape[0]} × {base.shape[1]}")
    v = cell_value(value, where, float(base[row, col]))
    new = np.array(base, dtype=np.float64)
    new[row, col] = v
    return new, v


def weight_matrix(weights: Weights, layer: int, head: int, name: str) -> np.ndarray:
    """W_Q/W_K/W_V of (layer, head) or W_O of layer; MatrixError for one that does not exist."""
    if name != "w_o" and name not in PROJECTIONS:
        raise MatrixError(f"unknown weight matrix {name!r}: one of {', '.join((*PROJECTIONS, 'w_o'))}")
    if not 0 <= layer < len(weights.layers) or (name != "w_o" and not 0 <= head < len(weights.layers[layer].heads)):
        raise MatrixError(f"{weight_name(name, layer, head)} does not exist")
    lw = weights.layers[layer]
    return lw.w_o if name == "w_o" else getattr(lw.heads[head], name)


def replaced(weights: Weights, layer: int, head: int, name: str, new: np.ndarray) -> Weights:
    """``weights`` with one matrix replaced (the others shared, not copied)."""
    layers = list(weights.layers)
    lw = layers[layer]
    if name == "w_o":
        layers[layer] = LayerWeights(lw.heads, new)
    else:
        heads = list(lw.heads)
        heads[head] = replace(heads[head], **{name: new})
        layers[layer] = LayerWeights(heads, lw.w_o)
    return Weights(layers)


def weight_cell(weights: Weights, layer: int, head: int, name: str, row: int, col: int,
                value: str | float) -> tuple[Weights, float]:
    """New weights with one cell set, and the value it got."""
    old = weight_matrix(weights, layer, head, name)
    new, v = cell(old, weight_name(name, layer, head), row, col, value)
    return replaced(weights, layer, head, name, new), v


def weight(weights: Weights, layer: int, head: int, name: str, matrix: Any) -> Weights:
    """New weights with one whole matrix replaced (checked for shape and finite values)."""
    old = weight_matrix(weights, layer, head, name)
    return replaced(weights, layer, head, name, check_matrix(weight_name(name, layer, head), matrix, old.shape))


def direct_matrix(settings: Settings, tokens: tuple[str, ...], layer: int, head: int, name: str,
                  matrix: Any) -> np.ndarray:
    """A direct Q/K/V for (layer, head), checked: N × d_k of finite numbers, for a head that exists."""
    if not (0 <= layer < settings.layers and 0 <= head < settings.heads):
        raise MatrixError(f"{direct_label(name, layer, head)} does not exist")
    return check_direct(name, layer, head, matrix, len(tokens), settings.d_k)
