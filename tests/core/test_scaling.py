"""The scaling lab's arithmetic: the fitted exponent against numpy.polyfit and exact power
laws, the extrapolation against the fitted line evaluated here, the memory at 128k and 200k
tokens against a count of the trace's arrays, and the words the lab shows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from attnstudio.core.memory import format_bytes
from attnstudio.core.scaling import (
    FIT_FROM,
    TARGETS,
    Progress,
    by_backend,
    doubling_sizes,
    fit_power_law,
    format_count,
    format_duration,
    format_tick,
    largest_choices,
    summary_table,
    target,
)

SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]


@pytest.mark.parametrize("exponent", [2.0, 1.5, 2.37])
def test_an_exact_power_law_gives_its_exponent_and_constant(exponent: float) -> None:
    c = 3.1e-6
    fit = fit_power_law(SIZES, [c * n**exponent for n in SIZES])
    assert fit is not None
    assert fit.exponent == pytest.approx(exponent, abs=1e-12)
    assert 10**fit.log10_c == pytest.approx(c, rel=1e-9)
    assert fit.ms_at(200_000) == pytest.approx(c * 200_000**exponent, rel=1e-9)


def test_the_fit_is_polyfit_of_log_time_on_log_n_over_the_large_sizes() -> None:
    rng = np.random.default_rng(7)
    ms = [0.2 + 1e-5 * n**2 * rng.uniform(0.8, 1.3) for n in SIZES]
    fit = fit_power_law(SIZES, ms)
    large = [i for i, n in enumerate(SIZES) if n >= FIT_FROM]
    slope, intercept = np.polyfit(np.log10([SIZES[i] for i in large]), np.log10([ms[i] for i in large]), 1)
    assert fit is not None and fit.sizes == (512, 1024, 2048, 4096)
    assert fit.exponent == pytest.approx(slope, abs=1e-12)
    assert fit.log10_c == pytest.approx(intercept, abs=1e-12)
    for n in TARGETS:
        assert fit.ms_at(n) == pytest.approx(10 ** np.polyval([slope, intercept], math.log10(n)), rel=1e-9)


def test_the_small_sizes_do_not_move_the_fit() -> None:
    ms = [1e-5 * n**2 for n in SIZES]
    flat = [5.0 if n < FIT_FROM else t for n, t in zip(SIZES, ms)]  # overhead-bound small sizes
    a, b = fit_power_law(SIZES, ms), fit_power_law(SIZES, flat)
    assert a is not None and b is not None and a.exponent == pytest.approx(b.exponent, abs=1e-12)
    # Over every size the same data would give a slope well below 2: why the fit starts at 512.
    whole = np.polyfit(np.log10(SIZES), np.log10(flat), 1)[0]
    assert whole < 1.5


def test_no_fit_without_two_large_sizes() -> None:
    assert fit_power_law([16, 32, 64, 512], [1, 2, 3, 4]) is None
    assert fit_power_law([], []) is None
    assert fit_power_law([512, 1024], [1.0, 4.0]) is not None


def test_memory_at_the_targets_is_the_trace_counted_by_hand() -> None:
    for n in TARGETS:
        d = 64  # one head of width 64: d_model = d_k = 64, one layer, float32 (4 bytes)
        per_head = 4 * n * d + 4 * n * n + 2 * n  # q k v output; scores scaled masked weights; sums, H
        per_layer = per_head + 4 * n * d + 4 * d * d  # input concat output residual; W_Q W_K W_V W_O
        trace = 4 * (per_layer + 3 * n * d)  # embeddings, positions, x
        t = target(n, available=10**12)
        assert t.scores == n * n
        assert t.trace_bytes == trace
        assert t.needed_bytes == trace + 3 * n * n * 4  # three N × N scratch arrays, no mask
        assert t.fits is (t.needed_bytes <= 10**12)
    assert target(200_000, None).fits is None
    assert target(200_000, 10**15).fits is True and target(200_000, 22 * 10**9).fits is False


def test_the_sizes_double_and_the_largest_offered_fits_in_memory() -> None:
    assert doubling_sizes(4096) == SIZES
    assert doubling_sizes(1000) == [16, 32, 64, 128, 256, 512]

    def needed(n: int) -> int:
        d = 64
        trace = 4 * (4 * n * d + 4 * n * n + 2 * n + 4 * n * d + 4 * d * d + 3 * n * d)
        return trace + 3 * n * n * 4

    available = needed(8192) + 1  # 8,192 fits, 16,384 does not
    assert largest_choices(available) == [256, 512, 1024, 2048, 4096, 8192]
    assert largest_choices(needed(8192) - 1)[-1] == 4096
    assert largest_choices(None)[-1] == 65_536


def test_durations_counts_and_ticks_read_as_people_write_them() -> None:
    assert [format_duration(ms) for ms in (0.213, 2.46, 28.4, 1400, 41 * 60e3, 3.2 * 3.6e6, 2.1 * 86.4e6)] == [
        "0.21 ms", "2.5 ms", "28 ms", "1.4 s", "41 min", "3.2 h", "2.1 days"]
    assert format_duration(86.4e6) == "1 day" and format_duration(1000) == "1 s"
    assert format_count(64) == "64" and format_count(4096**2) == "16,777,216"
    assert format_count(200_000**2) == "4×10¹⁰" and format_count(131_072**2) == "1.7×10¹⁰"
    assert [format_tick(v, "N") for v in (10, 100, 1e3, 1e5)] == ["10", "100", "1k", "100k"]
    assert [format_tick(v, "ms") for v in (0.1, 1, 1e3, 6e4, 3.6e6)] == ["0.1 ms", "1 ms", "1 s", "1 min", "1 h"]
    assert [format_tick(v, "bytes") for v in (1e6, 1e9, 1e11, 1e12)] == ["1 MB", "1 GB", "100 GB", "1 TB"]


def row(n: int, backend: str, ms: float) -> dict:
    return {"n": n, "backend": backend, "device": "CPU", "median_ms": 2 * ms, "min_ms": ms,
            "scores_per_head": n * n, "trace_bytes": target(n, None).trace_bytes}


def test_progress_counts_every_timing_and_grows_for_a_peer_nobody_planned() -> None:
    p = Progress([16, 32, 64], ["numpy"])
    assert p.text == "starting (0/3)"
    p.add(row(16, "numpy", 0.1))
    assert p.text == "N = 16 numpy (1/3)"
    p.add(row(16, "torch-cpu", 0.1))  # a backend bench_rows added: every size gets its timing
    assert (p.done, p.total) == (2, 6) and p.text == "N = 16 torch-cpu (2/6)"


def test_the_table_shows_each_backends_fit_and_the_exact_counts() -> None:
    rows = [row(n, b, c * n**e) for n in SIZES for b, c, e in (("numpy", 2e-5, 2.0), ("torch-cpu", 4e-5, 1.8))]
    series = list(by_backend(rows).values())
    assert [s.backend for s in series] == ["numpy", "torch-cpu"]
    assert series[0].fastest_ms == [2e-5 * n**2 for n in SIZES]  # the fastest timing, not the median
    head, body = summary_table(series, available=22 * 10**9)
    assert head[1:] == ["measured\n(N ≤ 4,096)", "fitted exponent\n(N ≥ 512)", "128k tokens\n(131,072)",
                        "200k tokens\n(200,000)"]
    numpy_row, torch_row, scores, memory = body
    assert numpy_row[:3] == ["numpy (CPU)", f"{format_duration(2e-5 * 4096**2)} at 4,096", "2.00"]
    assert numpy_row[3] == f"≈ {format_duration(2e-5 * 131_072**2)}"  # 5.7 min
    assert torch_row[2] == "1.80" and torch_row[4] == f"≈ {format_duration(4e-5 * 200_000**1.8)}"
    assert scores == ["N² scores per head per layer", "16,777,216", "2 (exact)", "1.7×10¹⁰", "4×10¹⁰"]
    trace_200k = 4 * (8 * 200_000 * 64 + 4 * 200_000**2 + 2 * 200_000 + 4 * 64 * 64 + 3 * 200_000 * 64)
    assert memory[4] == f"{format_bytes(trace_200k)}: does not fit in the 22 GB available"
    assert memory[1] == format_bytes(target(4096, None).trace_bytes)


def test_a_table_before_any_row_names_what_is_missing() -> None:
    head, body = summary_table([], available=None)
    assert head[1] == "measured\n" and [r[0] for r in body] == ["N² scores per head per layer", "memory of one trace"]
    short = list(by_backend([row(16, "numpy", 0.2), row(512, "numpy", 9.0)]).values())
    _, body = summary_table(short, available=None)
    assert body[0][2] == f"needs 2 sizes ≥ {FIT_FROM}" and body[0][3] == "—"
