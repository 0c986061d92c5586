"""The masks a person can choose or draw: which (query, key) cells become −∞ before normalizing.

``Settings.mask`` names the kind; the cells of the two drawn kinds depend on the sentence's
N, so they are not settings but arguments of ``core.pipeline.compute``:

- "none": nothing is masked.
- "causal": every key after its query (j > i): a token cannot look ahead.
- "padding": the KEY column of every padding token, for every query, as a key padding mask
  does in BERT. A padding token's own query row is computed like any other and attends over
  the tokens that are not padding (a model computes it and ignores its output); only when
  every token is padding is a row left with no key (see below).
- "custom": exactly the cells given, (query, key) pairs counted from 0.

A masked cell is −∞ on the masked stage and gets weight exactly 0 from every normalizer. A
row whose every key is masked has nothing to attend to: softmax would compute 0/0 = NaN, so
the pipeline gives that row weights of exactly 0 (its output row is 0) and says so in the
trace's warnings; the views show it as a row of masked cells. docs/architecture.md, "Masks".
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from attnstudio.core.errors import MaskError

MASK_KINDS = ("none", "causal", "padding", "custom")
# How a mask's cells are named: (query, key), both 0-based token positions.
Cell = tuple[int, int]


def _position(what: str, value: Any, n: int) -> int:
    try:
        index = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        index = None
    if index is None:
        raise MaskError(f"{what} must be a token position (a whole number), not {value!r}")
    if not 0 <= index < n:
        raise MaskError(f"{what} {index} does not exist: the sentence has tokens 0..{n - 1} (counted from 0)")
    return index


def check_padding(value: Iterable[Any] | None, n: int) -> tuple[int, ...]:
    """The padding token positions, sorted; MaskError for one outside 0..n−1 or given twice."""
    out: list[int] = []
    for v in value or ():
        i = _position("padding token", v, n)
        if i in out:
            raise MaskError(f"padding token {i} is given twice")
        out.append(i)
    return tuple(sorted(out))


def check_cells(value: Iterable[Any] | None, n: int) -> tuple[Cell, ...]:
    """The custom mask's (query, key) cells, sorted; MaskError for a cell that is not a pair of
    positions inside 0..n−1, or that is given twice."""
    out: set[Cell] = set()
    for pair in value or ():
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise MaskError(f"a masked cell is a (query, key) pair of token positions, not {pair!r}")
        cell = (_position("masked cell's query", pair[0], n), _position("masked cell's key", pair[1], n))
        if cell in out:
            raise MaskError(f"masked cell ({cell[0]}, {cell[1]}) is given twice")
        out.add(cell)
    return tuple(sorted(out))


def mask_matrix(kind: str, n: int, padding: Sequence[int] = (), cells: Sequence[Cell] = ()) -> np.ndarray | None:
    """N × N booleans, True where (query i, key j) is masked; None for "none".

    ``padding`` and ``cells`` must already be checked (``check_padding``, ``check_cells``);
    each counts only under its own kind, so the studio may keep them while another is chosen.
    """
    if kind == "none":
        return None
    if kind == "causal":
        return np.triu(np.ones((n, n), dtype=bool), k=1)
    m = np.zeros((n, n), dtype=bool)
    if kind == "padding":
        m[:, list(padding)] = True
    elif kind == "custom":
        if cells:
            rows, cols = zip(*cells, strict=True)
            m[list(rows), list(cols)] = True
    else:
        raise MaskError(f"mask must be one of {', '.join(MASK_KINDS)}, not {kind!r}")
    return m


def empty_rows(mask: np.ndarray | None) -> list[int]:
    """The rows of ``mask`` whose every key is masked (they get weights of exactly 0)."""
    if mask is None or mask.shape[1] == 0:
        return []
    return [int(i) for i in np.flatnonzero(mask.all(axis=1))]


def cells_within(cells: tuple[Cell, ...], n: int) -> tuple[Cell, ...]:
    """The cells that lie inside an N-token sentence (both positions below n)."""
    return tuple(c for c in cells if c[0] < n and c[1] < n)


def parse_cells_text(text: str) -> list[Cell]:
    """``"3,3 3,4"`` or ``"3:3;3:4"`` → [(3, 3), (3, 4)]: the command line's --mask-cells."""
    out: list[Cell] = []
    for part in text.replace(";", " ").split():
        bits = part.replace(":", ",").split(",")
        if len(bits) != 2 or not all(b.strip().lstrip("-").isdigit() for b in bits):
            raise MaskError(f"--mask-cells takes QUERY,KEY pairs of token positions (from 0) separated by "
                            f"spaces, e.g. \"3,3 3,4\"; not {part!r}")
        out.append((int(bits[0]), int(bits[1])))
    return out


def parse_positions_text(text: str) -> list[int]:
    """``"5,6"`` or ``"5 6"`` → [5, 6]: the command line's --padding."""
    parts = text.replace(",", " ").split()
    if not all(p.lstrip("-").isdigit() for p in parts):
        raise MaskError(f"--padding takes token positions (from 0), e.g. \"5,6\"; not {text!r}")
    return [int(p) for p in parts]
