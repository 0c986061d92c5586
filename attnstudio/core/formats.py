"""A trace as text: a terminal table, CSV blocks, or a JSON object (``version`` is
JSON_VERSION, raised whenever its keys change).

JSON cannot hold −∞ or NaN: a masked (−∞) cell, and any other non-finite value, is written
as ``null``.
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

JSON_VERSION = 1


def matrix_to_json(a: Any) -> list[list[float | None]]:
    """Rows of floats; non-finite cells become None (JSON null)."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    return [[float(v) if math.isfinite(v) else None for v in row] for row in arr.tolist()]


def _vector_to_json(a: Any) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(a, dtype=np.float64).tolist()]


def trace_to_json(trace: Trace) -> dict[str, Any]:
    """The trace as one JSON object: tokens, settings, every stage of every head and layer,
    embeddings, positions and per-row stats, and the warnings."""
    t = trace.host()
    return {
        "version": JSON_VERSION,
        "attnstudio": __version__,
        "tokens": list(t.tokens),
        "backend": t.backend.name,
        "backend_label": t.backend.label,
        "settings": t.settings.as_dict(),
        # What the drawn masks were given (0-based), whichever mask is chosen: core/masks.py.
        "padding": list(t.padding),
        "mask_cells": [list(c) for c in t.mask_cells],
        "embeddings": matrix_to_json(t.embeddings),
        "positions": None if t.positions is None else matrix_to_json(t.positions),
        "x": matrix_to_json(t.x),
        "layers": [
            {
                "heads": [
                    {
                        **{stage: matrix_to_json(h.stage(stage)) for stage in HEAD_STAGES},
                        "row_sums": _vector_to_json(h.row_sums),
                        "row_entropy_bits": _vector_to_json(h.row_entropy),
                        "direct": sorted(h.direct),
                    }
                    for h in layer.heads
                ],
                "concat": matrix_to_json(layer.concat),
                "output": matrix_to_json(layer.output),
                "residual": matrix_to_json(layer.residual),
            }
            for layer in t.layers
        ],
        "warnings": list(t.warnings),
    }


def _blocks(trace: Trace) -> Iterator[tuple[str, Any, Sequence[str], Sequence[str]]]:
    """(title, matrix, row labels, column labels) for every stage, in pipeline order."""
    t = trace.host()
    toks = list(t.tokens)
    dims = [f"d{j + 1}" for j in range(t.settings.d_model)]
    dk = [f"d{j + 1}" for j in range(t.settings.d_k)]
    yield "embeddings X", t.x, toks, dims
    multi = len(t.layers) > 1 or t.settings.heads > 1
    for li, layer in enumerate(t.layers):
        for hi, h in enumerate(layer.heads):
            where = f"layer {li + 1} head {hi + 1} " if multi else ""
            for stage in HEAD_STAGES:
                cols = toks if stage in TOKEN_BY_TOKEN else dk
                title = where + stage + (" (given directly)" if stage in h.direct else "")
                yield title, h.stage(stage), toks, cols
            yield where + "row sums", np.asarray(h.row_sums)[:, None], toks, ["sum"]
            yield where + "row entropy (bits)", np.asarray(h.row_entropy)[:, None], toks, ["H"]
        where = f"layer {li + 1} " if len(t.layers) > 1 else ""
        yield where + "heads → concat·W_O", layer.output, toks, dims
        if len(t.layers) > 1:
            yield where + "residual X + MHA(X)", layer.residual, toks, dims


def trace_to_table(trace: Trace, decimals: int = 3) -> str:
    """Every stage as an aligned text table with token labels, ``decimals`` places, numbers
    written as everywhere in the app (core.numbers: "−0.250", "−∞", "1.23e4")."""
    out = [
        f"tokens ({trace.n}): " + " ".join(f"{i}:{tok}" for i, tok in enumerate(trace.tokens)),
        f"backend: {trace.backend.label}",
        "settings: " + ", ".join(f"{k}={v}" for k, v in trace.settings.as_dict().items() if k != "backend"),
    ]
    if trace.settings.mask == "padding":
        out.append("padding tokens: " + (" ".join(str(i) for i in trace.padding) or "none"))
    if trace.settings.mask == "custom":
        out.append("masked cells (query,key): " + (" ".join(f"{i},{j}" for i, j in trace.mask_cells) or "none"))
    out += [f"warning: {w}" for w in trace.warnings]
    for title, m, rows, cols in _blocks(trace):
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


def trace_to_csv(trace: Trace) -> str:
    """One CSV block per stage: a '# title' line, a header of column labels, one row per token
    (its position and text, then full-precision values).

    Blocks are separated by a blank line; values are Python's repr of the float, so that
    they read back exactly: −∞ is -inf, NaN is nan.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    first = True
    for title, m, rows, cols in _blocks(trace):
        if not first:
            buf.write("\n")
        first = False
        buf.write(f"# {title}\n")
        w.writerow(["pos", "token", *cols])
        for pos, (label, row) in enumerate(zip(rows, np.asarray(m, dtype=np.float64).tolist())):
            w.writerow([pos, label, *(repr(float(v)) for v in row)])
    return buf.getvalue()
