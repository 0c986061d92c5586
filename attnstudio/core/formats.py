"""A trace as text: a terminal table, CSV blocks, or a JSON object (``version`` is
JSON_VERSION, raised whenever its keys change).

JSON cannot hold −∞ or NaN: a masked (−∞) cell, and any other non-finite value, is written
as ``null``.

Every format can hold a part of a trace: one layer, one head of each layer, or one head
(``layer`` / ``head``, 0-based, None for all); the JSON keeps its schema and says in
``selected`` (1-based) which part it holds. A real model's trace adds ``model`` and each
layer's ``after`` matrices (docs/architecture.md, "Real models").
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from attnstudio import __version__
from attnstudio.core.numbers import format_column
from attnstudio.core.trace import HEAD_STAGES, TOKEN_BY_TOKEN, Trace

JSON_VERSION = 2


def matrix_to_json(a: Any) -> list[list[float | None]]:
    """Rows of floats; non-finite cells become None (JSON null)."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    return [[float(v) if math.isfinite(v) else None for v in row] for row in arr.tolist()]


def _vector_to_json(a: Any) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(a, dtype=np.float64).tolist()]


def selection(trace: Trace, layer: int | None = None, head: int | None = None) -> list[tuple[int, list[int]]]:
    """(layer, [heads]) pairs, 0-based, of the part of ``trace`` that ``layer`` / ``head``
    pick (None: all); NoSuchIndexError names the valid range for one that does not exist."""
    if layer is not None:
        trace.layer(layer)  # raises for a layer the trace does not have
    layers = range(len(trace.layers)) if layer is None else [int(layer)]
    out = []
    for li in layers:
        count = len(trace.layers[li].heads)
        if head is not None:
            trace.head(li, head)  # raises for a head this layer does not have
        out.append((li, list(range(count)) if head is None else [head]))
    return out


def trace_to_json(trace: Trace, layer: int | None = None, head: int | None = None) -> dict[str, Any]:
    """The trace as one JSON object: tokens, settings, every stage of every head and layer,
    embeddings, positions and per-row stats, and the warnings.

    With ``layer`` and/or ``head`` (0-based) only that layer, or that head of each layer, is
    written, in the same schema: ``layers[0].heads[0]`` is layer ``layer``'s head ``head``;
    ``selected`` says which (1-based, null for all), and each layer and head its ``number``.
    """
    t = trace.host()
    picked = selection(t, layer, head)
    return {
        "version": JSON_VERSION,
        "attnstudio": __version__,
        "tokens": list(t.tokens),
        "backend": t.backend.name,
        "backend_label": t.backend.label,
        "settings": t.settings.as_dict(),
        "model": None if t.model is None else t.model.as_dict(),
        "selected": {"layer": None if layer is None else layer + 1, "head": None if head is None else head + 1},
        # What the drawn masks were given (0-based), whichever mask is chosen: core/masks.py.
        "padding": list(t.padding),
        "mask_cells": [list(c) for c in t.mask_cells],
        "embeddings": matrix_to_json(t.embeddings),
        "positions": None if t.positions is None else matrix_to_json(t.positions),
        "x": matrix_to_json(t.x),
        "layers": [
            {
                "number": li + 1,
                "heads": [
                    {
                        "number": hi + 1,
                        **{stage: matrix_to_json(h.stage(stage)) for stage in HEAD_STAGES},
                        "row_sums": _vector_to_json(h.row_sums),
                        "row_entropy_bits": _vector_to_json(h.row_entropy),
                        "direct": sorted(h.direct),
                    }
                    for hi in heads
                    for h in (t.layers[li].heads[hi],)
                ],
                "concat": matrix_to_json(t.layers[li].concat),
                "output": matrix_to_json(t.layers[li].output),
                "after": [
                    {"key": m.key, "caption": m.caption, "matrix": matrix_to_json(m.matrix)}
                    for m in t.layers[li].after
                ],
                "residual": matrix_to_json(t.layers[li].residual),
            }
            for li, heads in picked
        ],
        "warnings": list(t.warnings),
    }


def _dims(count: int) -> list[str]:
    return [f"d{j + 1}" for j in range(count)]


def _blocks(
    trace: Trace, layer: int | None = None, head: int | None = None
) -> Iterator[tuple[str, Any, Sequence[str], Sequence[str]]]:
    """(title, matrix, row labels, column labels) for every stage of the part ``layer`` /
    ``head`` pick (see trace_to_json), in pipeline order. A real model's matrices are titled
    by what they hold there (``Trace.caption``)."""
    t = trace.host()
    toks = list(t.tokens)
    dims = _dims(t.settings.d_model)
    dk = _dims(t.settings.d_k)
    if t.model is None:
        yield "embeddings X", t.x, toks, dims
    else:
        yield "embeddings " + t.caption("embeddings"), t.embeddings, toks, dims
        yield "positions " + t.caption("positions"), t.positions, toks, dims
        yield "embeddings " + t.caption("x"), t.x, toks, dims
    multi = len(t.layers) > 1 or t.settings.heads > 1
    for li, heads in selection(t, layer, head):
        lt = t.layers[li]
        for hi in heads:
            h = lt.heads[hi]
            where = f"layer {li + 1} head {hi + 1} " if multi else ""
            for stage in HEAD_STAGES:
                cols = toks if stage in TOKEN_BY_TOKEN else dk
                title = where + stage + (" (given directly)" if stage in h.direct else "")
                caption = t.caption(stage)
                yield title + (f" {caption}" if caption else ""), h.stage(stage), toks, cols
            yield where + "row sums", np.asarray(h.row_sums)[:, None], toks, ["sum"]
            yield where + "row entropy (bits)", np.asarray(h.row_entropy)[:, None], toks, ["H"]
        if head is not None:
            continue  # one head of the layer: its own stages only
        where = f"layer {li + 1} " if len(t.layers) > 1 else ""
        yield where + "heads → " + t.caption("heads", "concat·W_O"), lt.output, toks, dims
        for m in lt.after:
            yield f"{where}{m.key} {m.caption}", m.matrix, toks, _dims(np.shape(m.matrix)[1])
        if len(t.layers) > 1 or t.model is not None:
            yield where + "residual " + t.caption("residual", "X + MHA(X)"), lt.residual, toks, dims


def trace_to_table(trace: Trace, decimals: int = 3, layer: int | None = None, head: int | None = None) -> str:
    """Every stage as an aligned text table with token labels, ``decimals`` places, numbers
    written as everywhere in the app (core.numbers: "−0.250", "−∞", "1.23e4"); ``layer`` /
    ``head`` pick a part as in trace_to_json."""
    out = [
        f"tokens ({trace.n}): " + " ".join(f"{i}:{tok}" for i, tok in enumerate(trace.tokens)),
        f"backend: {trace.backend.label}",
    ]
    if trace.model is not None:
        m = trace.model
        out.append(f"model: {m.name} ({m.architecture}, {m.layers} layers × {m.heads} heads, d_model {m.d_model}, "
                   f"d_ff {m.d_ff}) from {m.folder}")
    out.append("settings: " + ", ".join(f"{k}={v}" for k, v in trace.settings.as_dict().items() if k != "backend"))
    if trace.settings.mask == "padding":
        out.append("padding tokens: " + (" ".join(str(i) for i in trace.padding) or "none"))
    if trace.settings.mask == "custom":
        out.append("masked cells (query,key): " + (" ".join(f"{i},{j}" for i, j in trace.mask_cells) or "none"))
    out += [f"warning: {w}" for w in trace.warnings]
    for title, m, rows, cols in _blocks(trace, layer, head):
        arr = np.asarray(m, dtype=np.float64)
        cells = [[format_column(v, decimals) for v in row] for row in arr.tolist()]
        width = max([len(c) for r in cells for c in r] + [len(c) for c in cols] + [1])
        label_w = max(len(r) for r in rows)
        out.append("")
        out.append(f"== {title} ({arr.shape[0]}×{arr.shape[1]}) ==")
        out.append(" " * label_w + "  " + " ".join(c.rjust(width) for c in cols))
        for label, row in zip(rows, cells):
            out.append(label.rjust(label_w) + "  " + " ".join(c.rjust(width) for c in row))
    return "\n".join(out) + "\n"


def trace_to_csv(trace: Trace, layer: int | None = None, head: int | None = None) -> str:
    """One CSV block per stage: a '# title' line, a header of column labels, one row per token
    (its position and text, then full-precision values).

    Blocks are separated by a blank line; values are Python's repr of the float, so that
    they read back exactly: −∞ is -inf, NaN is nan. ``layer`` / ``head`` pick a part as in
    trace_to_json.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    first = True
    for title, m, rows, cols in _blocks(trace, layer, head):
        if not first:
            buf.write("\n")
        first = False
        buf.write(f"# {title}\n")
        w.writerow(["pos", "token", *cols])
        for pos, (label, row) in enumerate(zip(rows, np.asarray(m, dtype=np.float64).tolist())):
            w.writerow([pos, label, *(repr(float(v)) for v in row)])
    return buf.getvalue()
