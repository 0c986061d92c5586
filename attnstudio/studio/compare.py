"""Compare two computations of one stage: A (the pinned state) and B (the live one), and
their difference B − A, cell for cell (no Qt; docs/architecture.md, "Compare").

The window holds two Results (A's computed by the same compute path as B's) and asks
``compare_stage`` what to draw: the two matrices as their display caches hold them, and the
difference, or a sentence saying why there is none (shapes that differ, a head that A
lacks). Views draw what it returns; they never subtract.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from attnstudio.core.explain import row_winner, token_labels
from attnstudio.core.trace import Trace
from attnstudio.studio.inputs import Inputs
from attnstudio.studio.result import Result
from attnstudio.studio.snapshot import same

# How a setting is named when it differs between A and B.
_SETTING_NAMES = {"d_model": "d_model", "heads": "heads", "layers": "layers", "temperature": "T",
                  "scale": "scaling by √d_k", "mask": "mask", "normalizer": "normalizer",
                  "positional": "positional encoding", "residual": "residual", "seed": "seed"}


@dataclass(frozen=True)
class Comparison:
    """One stage of A and of B as shown (each a display matrix and its reduction factor, or
    None where that side has no such head), and ``diff`` = B − A, or None with ``reason``."""

    a: tuple[np.ndarray, int] | None
    b: tuple[np.ndarray, int] | None
    diff: np.ndarray | None
    reason: str = ""


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """B − A cell for cell (float64). A cell equal in both is 0, also where both are −∞ (a key
    masked in A and in B has not changed); −∞ in one only gives ±∞. Raises ValueError when
    the shapes differ."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"A is {_shape(a)} and B is {_shape(b)}: no cell-for-cell difference")
    with np.errstate(invalid="ignore"):
        out = b - a
    out[a == b] = 0.0
    return out


def compare_stage(res_a: Result, res_b: Result, name: str, layer: int, head: int) -> Comparison:
    """The matrix ``name`` of (layer, head) in A and B, and B − A or why it cannot be shown."""
    a = _shown(res_a, name, layer, head)
    b = _shown(res_b, name, layer, head)
    if a is None or b is None:
        missing = "A" if a is None else "B"
        return Comparison(a, b, None, f"{missing} has no layer {layer + 1}, head {head + 1}: "
                                      "no difference to show")
    if a[1] != b[1]:
        return Comparison(a, b, None, "A and B are reduced for display by different factors: "
                                      "no cell-for-cell difference")
    if a[0].shape != b[0].shape:
        return Comparison(a, b, None, f"A is {_shape(a[0])} and B is {_shape(b[0])}: there is no "
                                      "cell-for-cell difference (another sentence with another number "
                                      "of tokens, or another width)")
    return Comparison(a, b, difference(a[0], b[0]))


def what_differs(a: Inputs | Any, b: Inputs | Any) -> str:
    """In words, what B changed from A: "T 1 → 0.5", "sentence: 9 → 11 tokens", "matrices
    edited"; "nothing yet" when they are the same. Also takes two lesson steps' states
    (core.lessons.StepState: the same fields)."""
    out = []
    if a.tokens != b.tokens:
        out.append(f"sentence ({len(a.tokens)} → {len(b.tokens)} tokens)" if len(a.tokens) != len(b.tokens)
                   else "sentence")
    for f in fields(a.settings):
        if f.name in _SETTING_NAMES:
            va, vb = getattr(a.settings, f.name), getattr(b.settings, f.name)
            if va != vb:
                out.append(f"{_SETTING_NAMES[f.name]} {_word(va)} → {_word(vb)}")
    if not same(a.weights, b.weights) or not same(a.embeddings, b.embeddings) or not same(a.direct, b.direct):
        out.append("matrices edited")
    if a.padding != b.padding or a.mask_cells != b.mask_cells:
        out.append("masked cells")
    return ", ".join(out) if out else "nothing yet"


def labels_of(res: Result) -> list[str]:
    """The token labels of a result's rows (as the heatmaps write them)."""
    return token_labels(res.trace.tokens) if res.trace is not None else []


def _shown(res: Result, name: str, layer: int, head: int) -> tuple[np.ndarray, int] | None:
    if res.trace is None or res.display is None:
        return None
    s = res.trace.settings
    if not (0 <= layer < s.layers and 0 <= head < s.heads):
        return None
    m, f = res.display.get(layer, head, name)
    return np.asarray(m), int(f)


def _shape(m: np.ndarray) -> str:
    return " × ".join(str(d) for d in m.shape)


def _word(v: object) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def masked_where(res: Result, layer: int, head: int) -> np.ndarray | None:
    """Where the mask hid keys in ``res`` for (layer, head), as shown (the masked stage's −∞),
    or None with no mask or no such head."""
    if res.trace is None or res.display is None:
        return None
    s = res.trace.settings
    if s.mask == "none" or not (0 <= layer < s.layers and 0 <= head < s.heads):
        return None
    return np.isneginf(np.asarray(res.display.get(layer, head, "masked")[0]))


def row_change(a: Trace, b: Trace, layer: int, head: int, query: str, cause: str = "") -> str | None:
    """In words, how the weights of the row of token ``query`` (a label as the views write it,
    "it" or "the#4") changed from trace A to trace B in (layer, head): the winner of B's row
    with its weight in A and in B, A's winner too where it lost, and why: the keys added or
    removed (unmasked or masked), "with another sentence", else ``cause``. E.g. "row of 'it': tired
    0.49 → 0.42 after adding key it". None where the row or the head is not in both, and
    where no weight of the row changed in its two decimals."""
    ka, kb = _row(a, layer, head, query), _row(b, layer, head, query)
    if ka is None or kb is None:
        return None
    win_b, win_a = _winner(kb), _winner(ka)
    if win_b is None:
        return None
    if ka.keys() == kb.keys() and all(f"{ka[k]:.2f}" == f"{kb[k]:.2f}" for k in ka):
        return None  # nothing changed that the two-decimal weights show
    parts = [_move(win_b, ka, kb)]
    if win_a is not None and win_a != win_b:
        parts.append(f"{_move(win_a, ka, kb)} (it had the most weight)")
    added = [k for k in kb if k not in ka]
    removed = [k for k in ka if k not in kb]
    if a.tokens != b.tokens:
        why = "with another sentence"
    elif added:
        why = f"after adding key{'s' if len(added) > 1 else ''} {', '.join(added)}"
    elif removed:
        why = f"after removing key{'s' if len(removed) > 1 else ''} {', '.join(removed)}"
    else:
        why = f"after {cause}" if cause else ""
    return f"row of '{query}': {', '.join(parts)}" + (f" {why}" if why else "")


def _row(tr: Trace, layer: int, head: int, query: str) -> dict[str, float] | None:
    """The weights of ``query``'s row by key label (in order), its masked keys left out."""
    labels = token_labels(tr.tokens)
    s = tr.settings
    if query not in labels or not (0 <= layer < s.layers and 0 <= head < s.heads):
        return None
    i = labels.index(query)
    h = tr.head(layer, head)
    w = np.asarray(tr.backend.asnumpy(h.weights[i]), dtype=np.float64)
    hidden = np.isneginf(np.asarray(tr.backend.asnumpy(h.masked[i]), dtype=np.float64))
    return {labels[j]: float(w[j]) for j in range(len(labels)) if not hidden[j]}


def _winner(keys: dict[str, float]) -> str | None:
    """The key with the most weight (core.explain.row_winner: none for an even row)."""
    j = row_winner(np.array(list(keys.values()), dtype=np.float64)) if keys else None
    return None if j is None else list(keys)[j]


def _move(key: str, ka: dict[str, float], kb: dict[str, float]) -> str:
    if key not in ka:
        return f"{key} (new) {kb[key]:.2f}"
    if key not in kb:
        return f"{key} {ka[key]:.2f} → (gone)"
    return f"{key} {ka[key]:.2f} → {kb[key]:.2f}"
