"""Do two backends compute the same trace? Stage by stage, the largest difference.

Used by the GPU check (attnstudio/gpu_check.py: NumPy against CuPy on the same inputs) and
testable anywhere (NumPy against NumPy). For every stage of every head and layer:

    diff = max |a − b| over the cells, with a cell −∞ in both (masked) counted as 0,
           and a cell finite in one and not the other (or NaN) as ∞;
    scale = max(1, max |a| over a's finite cells);   agree when diff ≤ tolerance · scale.

The tolerance follows the dtype (``TOLERANCE``): float32 keeps about 7 digits and a sum of
d_k products loses a few more; float64 keeps 15.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from attnstudio.core.backends import Backend, numpy_backend
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import Settings
from attnstudio.core.trace import HEAD_STAGES, LAYER_MATRICES, Trace

TOLERANCE = {"float32": 1e-5, "float64": 1e-11}
VECTORS = ("row_sums", "row_entropy")


def max_difference(a: Any, b: Any) -> tuple[float, float]:
    """(diff, scale) of two host arrays of one shape, as the module docstring defines them."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0, 1.0
    same_inf = np.isinf(a) & np.isinf(b) & (np.sign(a) == np.sign(b))
    finite = np.isfinite(a) & np.isfinite(b)
    if np.any(~(same_inf | finite)):
        return float("inf"), 1.0
    diff = float(np.max(np.abs(np.where(finite, a, 0.0) - np.where(finite, b, 0.0))))
    shown = np.abs(a[np.isfinite(a)])
    return diff, max(1.0, float(shown.max()) if shown.size else 1.0)


def trace_differences(a: Trace, b: Trace) -> dict[str, float]:
    """The largest diff / scale of each named matrix over every layer and head: the head stages,
    the row sums and entropies, and the layer matrices (input, concat, heads) and residual."""
    a, b = a.host(), b.host()
    worst: dict[str, float] = {}

    def note(name: str, x: Any, y: Any) -> None:
        diff, scale = max_difference(x, y)
        worst[name] = max(worst.get(name, 0.0), diff / scale)

    for li, (la, lb) in enumerate(zip(a.layers, b.layers, strict=True)):
        for ha, hb in zip(la.heads, lb.heads, strict=True):
            for name in HEAD_STAGES:
                note(name, ha.stage(name), hb.stage(name))
            for name in VECTORS:
                note(name, getattr(ha, name), getattr(hb, name))
        for name in LAYER_MATRICES:
            note(name, a.matrix(name, li), b.matrix(name, li))
        note("residual", la.residual, lb.residual)
    return worst


@dataclass(frozen=True)
class Case:
    """One agreement check: a label, N tokens, and the settings (backend set by the check)."""

    label: str
    n: int
    settings: Settings


def cases(sizes: tuple[int, ...] = (16, 300, 1024)) -> list[Case]:
    """Settings that reach every stage's code paths, each at every size and in both dtypes."""
    kinds = {
        "softmax, 1 head": Settings(d_model=64, heads=1),
        "causal, 4 heads, 2 layers": Settings(d_model=64, heads=4, layers=2, mask="causal"),
        "sparsemax, no scaling": Settings(d_model=32, heads=2, normalizer="sparsemax", scale=False),
        "entmax-1.5, T = 0.5, positions": Settings(d_model=32, heads=2, normalizer="entmax15", temperature=0.5,
                                                   positional=True),
    }
    return [Case(f"{label}, {dtype}", n, s.with_(dtype=dtype))
            for n in sizes for label, s in kinds.items() for dtype in ("float32", "float64")]


def agreement(case: Case, other: Backend, reference: Backend | None = None) -> dict[str, Any]:
    """Compute ``case`` on ``reference`` (NumPy) and on ``other`` from the same inputs and say
    whether every stage agrees within the dtype's tolerance."""
    reference = reference or numpy_backend()
    tokens = [f"w{i % 97}" for i in range(case.n)]
    ref = compute(tokens, case.settings, backend=reference)
    got = compute(tokens, case.settings, backend=other)
    worst = trace_differences(ref, got)
    tol = TOLERANCE[case.settings.dtype]
    return {"case": case.label, "n": case.n, "dtype": case.settings.dtype, "backend": got.backend.name,
            "tolerance": tol, "worst": max(worst.values()), "stages": worst,
            "ok": got.backend.name == other.name and all(v <= tol for v in worst.values())}
