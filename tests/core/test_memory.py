"""The memory estimate: equal to the arrays a real trace holds, and a refusal before any
large allocation when they would not fit (memory is injected: no test allocates much)."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from attnstudio.core import Settings, compute
from attnstudio.core.errors import AttnStudioError, NotEnoughMemoryError
from attnstudio.core.memory import check_memory, format_bytes, needed_bytes, trace_bytes
from attnstudio.core.trace import HeadTrace, LayerTrace, Trace


def arrays_bytes(obj: object) -> int:
    """The nbytes of every array a trace holds, each stage counted as the estimate counts it."""
    total = 0
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, tuple) and value and isinstance(value[0], (HeadTrace, LayerTrace)):
            total += sum(arrays_bytes(v) for v in value)
    return total


@pytest.mark.parametrize(
    "settings",
    [
        Settings(d_model=16, heads=4, layers=2, mask="causal", positional=True),
        Settings(d_model=8, heads=1, layers=1, positional=True, dtype="float32"),
        Settings(d_model=64, heads=8, layers=3, positional=True),
    ],
    ids=["4 heads 2 layers", "float32", "8 heads 3 layers"],
)
@pytest.mark.parametrize("n", [3, 40, 97])
def test_the_estimate_is_the_arrays_of_a_real_trace(settings: Settings, n: int) -> None:
    trace = compute([f"t{i}" for i in range(n)], settings)
    weights = trace_weights_bytes(trace)
    held = arrays_bytes(trace) + weights
    assert abs(trace_bytes(n, settings) - held) <= 0.1 * held


def trace_weights_bytes(trace: Trace) -> int:
    """The layer matrices W_Q, W_K, W_V, W_O the estimate counts (they live in Weights)."""
    s = trace.settings
    return s.layers * 4 * s.d_model * s.d_model * np.dtype(s.dtype).itemsize


def test_a_trace_too_large_is_refused_naming_the_need_and_what_is_available() -> None:
    settings = Settings(d_model=1024, heads=64, layers=8)
    with pytest.raises(NotEnoughMemoryError) as err:
        check_memory(5000, settings, available=22 * 10**9)
    need = needed_bytes(5000, settings)
    assert str(err.value) == f"5,000 tokens × 8 layers × 64 heads needs ≈ {format_bytes(need)}; 22 GB available"
    assert isinstance(err.value, AttnStudioError) and isinstance(err.value, MemoryError)
    assert check_memory(5000, Settings(), available=need * 100) == needed_bytes(5000, Settings())


def test_compute_refuses_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("attnstudio.core.memory.available_bytes", lambda: 10**6)
    monkeypatch.setattr("attnstudio.core.memory.CHECK_ABOVE", 0)
    refusal = r"^2,000 tokens × 1 layer × 1 head needs ≈ \d+ MB; 1.0 MB available$"
    with pytest.raises(NotEnoughMemoryError, match=refusal):
        compute(["w"] * 2000)


@pytest.mark.parametrize(("count", "text"), [(51 * 10**9, "51 GB"), (2_400_000_000, "2.4 GB"),
                                             (380 * 10**6, "380 MB"), (512, "512 bytes")])
def test_sizes_read_as_a_person_says_them(count: int, text: str) -> None:
    assert format_bytes(count) == text
