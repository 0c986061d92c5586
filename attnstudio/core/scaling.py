"""The scaling lab's arithmetic: a power law fitted to bench timings, what it says about 128k and
200k tokens, and what a trace of that length would need in memory (docs/architecture.md,
"The scaling lab").

The timings come from ``core.bench.bench_rows`` (one row per N and backend). Attention does
N² work per head per layer (scores, softmax and A·V), on top of work that grows as N
(projections) and a fixed cost per call (Python, allocations). On a log–log plot of time
against N the N² part is a straight line of slope 2; the fixed cost flattens the curve at
small N. The exponent is therefore fitted only over N ≥ ``FIT_FROM``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from attnstudio.core.bench import bench_settings
from attnstudio.core.errors import AttnStudioError, NotEnoughMemoryError
from attnstudio.core.memory import check_memory, format_bytes, needed_bytes, trace_bytes
from attnstudio.core.settings import Settings

# The exponent is fitted over the timings at N ≥ 512. Why 512: with d_k = 64 (the bench's
# width), scores and A·V (2·N²·d_k multiply-adds) are four fifths of the pipeline's work there
# and more above (core/cost.py: + 4·N·d_k² for the projections and W_O, + a fixed cost per
# head), and softmax adds its N² passes on top; below, the fixed cost of a call (≈ 0.2 ms of
# Python, a flat line up to N ≈ 64 on a laptop) and the projections bend the curve, and the
# slope would measure them, not attention. tests/core/test_lessons_claims.py checks the share.
FIT_FROM = 512
# The lengths the lab extrapolates to: a "128k" context (2¹⁷ = 131,072 tokens) and 200,000.
TARGETS = (131_072, 200_000)
TARGET_NAMES = {131_072: "128k", 200_000: "200k"}
SMALLEST = 16  # the lab's sizes double from here
DEFAULT_LARGEST = 4096
# The largest size the lab offers: beyond it one timing takes minutes on a CPU, and the
# memory check refuses it on most machines anyway.
MAX_LARGEST = 65_536
LAB_D_K = 64  # one head of width 64, as `attnstudio bench`


def lab_settings(d_k: int = LAB_D_K) -> Settings:
    """The settings of every timing in the lab: one layer, one head of width d_k, float32."""
    return bench_settings(d_k)


def doubling_sizes(largest: int, smallest: int = SMALLEST) -> list[int]:
    """N = smallest, 2·smallest, … up to ``largest`` (16, 32, …, 4096)."""
    sizes = []
    n = smallest
    while n <= largest:
        sizes.append(n)
        n *= 2
    return sizes


def largest_choices(available: int | None, d_k: int = LAB_D_K) -> list[int]:
    """The largest N the lab may be asked for: powers of two from 256 to ``MAX_LARGEST`` whose
    trace fits in ``available`` bytes (``core.memory.check_memory``, as ``bench`` checks it);
    all of them when the memory cannot be read."""
    out = []
    for n in doubling_sizes(MAX_LARGEST, 256):
        if available is not None:
            try:
                check_memory(n, lab_settings(d_k), available)
            except AttnStudioError:
                break
        out.append(n)
    return out or [256]


def check_sizes(sizes: Sequence[int], d_k: int = LAB_D_K) -> None:
    """Raise NotEnoughMemoryError, naming the size, when a trace of the largest of ``sizes``
    would not fit in the memory available now (``core.memory.check_memory``)."""
    if not sizes:
        return
    n = max(sizes)
    try:
        check_memory(n, lab_settings(d_k))
    except NotEnoughMemoryError as exc:
        raise NotEnoughMemoryError(f"N = {n:,}: {exc}: choose a smaller largest N") from None


@dataclass(frozen=True)
class Fit:
    """A power law t = c · N^exponent through timings, by least squares on log10 t against
    log10 N: ``exponent`` is the slope, ``log10_c`` the intercept, ``sizes`` the N used."""

    exponent: float
    log10_c: float
    sizes: tuple[int, ...]

    def ms_at(self, n: float) -> float:
        """The time the law gives for N tokens, in milliseconds: c · N^exponent."""
        return float(10 ** (self.log10_c + self.exponent * math.log10(n)))


def fit_power_law(sizes: Sequence[int], ms: Sequence[float], fit_from: int = FIT_FROM) -> Fit | None:
    """The least-squares line through (log10 N, log10 t) over the sizes N ≥ ``fit_from``:

        slope = Σ (x − x̄)(y − ȳ) / Σ (x − x̄)²,  intercept = ȳ − slope · x̄

    None when fewer than two different sizes qualify (no line to draw)."""
    pts = [(math.log10(n), math.log10(t)) for n, t in zip(sizes, ms) if n >= fit_from and t > 0]
    xs = [x for x, _ in pts]
    if len(set(xs)) < 2:
        return None
    x_mean = sum(xs) / len(xs)
    y_mean = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - x_mean) ** 2 for x in xs)
    sxy = sum((x - x_mean) * (y - y_mean) for x, y in pts)
    slope = sxy / sxx
    return Fit(slope, y_mean - slope * x_mean, tuple(n for n, t in zip(sizes, ms) if n >= fit_from and t > 0))


@dataclass
class Series:
    """One backend's timings as they come: N, the fastest time (ms) and the trace's bytes.

    The lab plots and fits the fastest of each N's timings, not the median that
    ``attnstudio bench`` prints: other programs on the machine only ever make a timing slower,
    so the fastest is the closest to what the pipeline itself costs (on a busy machine the
    medians bend the line, and the fit with it)."""

    backend: str
    device: str = ""
    sizes: list[int] = field(default_factory=list)
    fastest_ms: list[float] = field(default_factory=list)
    trace_bytes: list[int] = field(default_factory=list)

    @property
    def fit(self) -> Fit | None:
        return fit_power_law(self.sizes, self.fastest_ms)

    @property
    def label(self) -> str:
        return f"{self.backend} ({self.device})" if self.device else self.backend


def by_backend(rows: Iterable[dict[str, Any]]) -> dict[str, Series]:
    """The rows of ``bench_rows`` grouped per backend, in the order the backends first came."""
    out: dict[str, Series] = {}
    for row in rows:
        s = out.setdefault(row["backend"], Series(row["backend"], str(row.get("device") or "")))
        s.sizes.append(int(row["n"]))
        s.fastest_ms.append(float(row["min_ms"]))
        s.trace_bytes.append(int(row["trace_bytes"]))
    return out


@dataclass
class Progress:
    """How far a run is: ``done`` of ``total`` timings (one per N and backend). ``total`` is the
    sizes × the planned backends, and grows when a backend nobody planned (a peer) sends rows."""

    sizes: list[int]
    backends: list[str]
    done: int = 0
    last: str = ""

    @property
    def total(self) -> int:
        return len(self.sizes) * max(1, len(self.backends))

    def add(self, row: dict[str, Any]) -> None:
        if row["backend"] not in self.backends:
            self.backends.append(row["backend"])
        self.done += 1
        self.last = f"N = {row['n']:,} {row['backend']}"

    @property
    def text(self) -> str:
        """'N = 1,024 numpy (5/14)': the timing that came last, and how many of all."""
        return f"{self.last or 'starting'} ({self.done}/{self.total})"


def format_duration(ms: float) -> str:
    """A time as a person reads it: 0.21 ms, 28 ms, 1.4 s, 41 min, 3.2 h, 2.1 days, 1 year."""
    s = ms / 1e3
    for unit, size in (("year", 365.25 * 86400), ("day", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if s >= size:
            return _with_unit(s / size, unit)
    return _with_unit(ms, "ms")


def _with_unit(x: float, unit: str) -> str:
    text = _two_digits(x)
    text = "1" if text == "1.0" else text
    plural = "s" if unit in ("year", "day") and text != "1" else ""
    return f"{text} {unit}{plural}"


def _two_digits(x: float) -> str:
    """Two significant digits, at least the whole number: 0.21, 2.5, 28, 410, 1,200."""
    if x >= 10:
        return f"{round(x):,}"
    digits = max(0, 1 - math.floor(math.log10(x))) if x > 0 else 0
    return f"{x:.{digits}f}"


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_count(count: int) -> str:
    """A count in full up to a billion (16,777,216), above as a power of ten (1.7×10¹⁰, 4×10¹⁰)."""
    if count < 10**9:
        return f"{count:,}"
    exp = math.floor(math.log10(count))
    mantissa = f"{count / 10**exp:.1f}".removesuffix(".0")
    if mantissa == "10":
        mantissa, exp = "1", exp + 1
    return f"{mantissa}×10{str(exp).translate(_SUPERSCRIPT)}"


def format_tick(value: float, unit: str) -> str:
    """A log axis' label at a round value: N as 10, 100, 1k, 100k; ms as 0.1 ms, 1 s, 1 min, 1 h;
    bytes as 1 kB, 1 MB, 1 GB, 1 TB."""
    scales: tuple[tuple[str, float], ...] = {
        "ms": (("year", 365.25 * 86400e3), ("day", 86400e3), ("h", 3600e3), ("min", 60e3), ("s", 1e3), ("ms", 1)),
        "bytes": (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3), ("B", 1)),
    }.get(unit, (("M", 1e6), ("k", 1e3), ("", 1)))
    space = "" if unit == "N" else " "
    for name, size in scales:
        if value >= size * 0.999 or size == 1:
            shown = f"{float(f'{value / size:.2g}'):g}"
            plural = "s" if name in ("year", "day") and shown != "1" else ""
            return f"{shown}{space}{name}{plural}".rstrip()
    raise AssertionError("unreachable: the last scale is 1")


@dataclass(frozen=True)
class Target:
    """What N tokens would take with the lab's settings: N² scores per head per layer, the bytes
    of the trace and of computing it (trace + scratch, ``core.memory.needed_bytes``), and
    whether that fits in ``available`` (None: unknown)."""

    n: int
    scores: int
    trace_bytes: int
    needed_bytes: int
    available: int | None

    @property
    def fits(self) -> bool | None:
        return None if self.available is None else self.needed_bytes <= self.available


def target(n: int, available: int | None, d_k: int = LAB_D_K) -> Target:
    settings = lab_settings(d_k)
    return Target(n, n * n, trace_bytes(n, settings), needed_bytes(n, settings), available)


def memory_text(t: Target) -> str:
    """'275 GB: does not fit in the 22 GB available' (the trace; the check counts its scratch too)."""
    size = format_bytes(t.trace_bytes)
    if t.fits is None:
        return size
    room = format_bytes(t.available or 0)
    return f"{size}: fits in the {room} available" if t.fits else f"{size}: does not fit in the {room} available"


def summary_table(series: Sequence[Series], available: int | None, d_k: int = LAB_D_K,
                  targets: Sequence[int] = TARGETS) -> tuple[list[str], list[list[str]]]:
    """The lab's table as text: a header (two lines each) and rows. One row per backend (its largest timing, the
    fitted exponent, the time the fit gives at each target), then the N² scores per head per
    layer and the trace's memory at the largest N measured and at each target."""
    largest = max((s.sizes[-1] for s in series if s.sizes), default=0)
    head = ["", f"measured\n(N ≤ {largest:,})" if largest else "measured\n", f"fitted exponent\n(N ≥ {FIT_FROM})"]
    head += [f"{TARGET_NAMES.get(n, f'{n:,}')} tokens\n({n:,})" for n in targets]
    body = []
    for s in series:
        fit = s.fit
        row = [s.label, f"{format_duration(s.fastest_ms[-1])} at {s.sizes[-1]:,}" if s.sizes else "—",
               f"{fit.exponent:.2f}" if fit else f"needs 2 sizes ≥ {FIT_FROM}"]
        row += [f"≈ {format_duration(fit.ms_at(n))}" if fit else "—" for n in targets]
        body.append(row)
    at = [target(n, available, d_k) for n in targets]
    body.append(["N² scores per head per layer", format_count(largest * largest) if largest else "—", "2 (exact)",
                 *(format_count(t.scores) for t in at)])
    mem = format_bytes(trace_bytes(largest, lab_settings(d_k))) if largest else "—"
    body.append(["memory of one trace", mem, "", *(memory_text(t) for t in at)])
    return head, body
