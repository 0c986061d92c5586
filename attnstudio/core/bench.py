"""`attnstudio bench`: time the whole pipeline against N on every backend that works.

One timing = compute() of every stage for N tokens, one head of width d_k (float32, all
stages materialised), until the results are ready on the device (CuPy is synchronised).
Backends are timed side by side in one run, so their ratio is meaningful on a busy machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

import numpy as np

from attnstudio.core.backends import Backend, cupy_status, numpy_backend, resolve_backend
from attnstudio.core.errors import AttnStudioError, SettingsError
from attnstudio.core.memory import check_memory, trace_bytes
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import MAX_D_MODEL, Settings
from attnstudio.core.weights import Weights


def _backends() -> list[Backend]:
    out = [numpy_backend()]
    if cupy_status().module is not None:
        out.append(resolve_backend("cupy"))
    return out


def bench_settings(d_k: int, backend: str = "numpy") -> Settings:
    """The settings of one timing: one head of width d_k (so d_model = d_k), float32."""
    return Settings(d_model=d_k, heads=1, dtype="float32", backend=backend)


def check_bench(sizes: list[int], d_k: int) -> None:
    """Raise an AttnStudioError, in bench's own terms (--d-k, --sizes), for a run that would
    fail: checked before the first timing, not after minutes of smaller sizes."""
    try:
        settings = bench_settings(d_k).validated()
    except SettingsError:
        raise SettingsError(f"--d-k must be a whole number from 1 to {MAX_D_MODEL}, not {d_k}") from None
    for n in sorted(set(sizes), reverse=True):
        try:
            check_memory(n, settings)
        except AttnStudioError as exc:
            raise type(exc)(f"--sizes {n}: {exc}") from None


def time_once(backend: Backend, n: int, d_k: int) -> float:
    """Seconds for one compute() of N tokens on ``backend`` (d_model = d_k, one head)."""
    settings = bench_settings(d_k, backend.name)
    rng = np.random.default_rng(n)
    x = rng.uniform(-1, 1, size=(n, d_k))
    tokens = [f"t{i}" for i in range(n)]
    weights = Weights.seeded(settings)  # seeding is set-up, not the pipeline being timed
    t0 = time.perf_counter()
    trace = compute(tokens, settings, weights=weights, embeddings=x, backend=backend)
    if backend.name == "cupy":
        backend.xp.cuda.Stream.null.synchronize()
    elapsed = time.perf_counter() - t0
    del trace
    return elapsed


def bench_rows(
    sizes: list[int], d_k: int = 64, repeat: int = 5, should_stop: Callable[[], bool] | None = None
) -> Iterator[dict[str, Any]]:
    """One row per (N, backend), as each is measured: the median after one warm-up run
    (CuPy compiles kernels on first use), the fastest, N² and the trace's bytes.

    ``should_stop`` is asked before every timing; when it answers True the rows end there
    (a panel's Cancel). The command line and the scaling lab both read these rows.
    """
    check_bench(sizes, d_k)
    backends = _backends()
    for n in sizes:
        for b in backends:
            if should_stop is not None and should_stop():
                return
            time_once(b, min(n, 64), d_k)  # warm-up
            times = []
            for _ in range(repeat):
                if should_stop is not None and should_stop():
                    return
                times.append(time_once(b, n, d_k))
            yield {
                "n": n,
                "backend": b.name,
                "device": b.device,
                "median_ms": statistics.median(times) * 1e3,
                "min_ms": min(times) * 1e3,
                "scores_per_head": n * n,
                "trace_bytes": trace_bytes(n, bench_settings(d_k, b.name)),
            }


def run_bench(
    sizes: list[int], d_k: int = 64, repeat: int = 5, progress: IO[str] | None = None
) -> list[dict[str, Any]]:
    """Every row of ``bench_rows``; ``progress`` is told each one: on a terminal as one line
    rewritten in place and cleared at the end (the table that follows is the record),
    elsewhere (a log) one line each.
    """
    rows: list[dict[str, Any]] = []
    tty = progress is not None and progress.isatty()
    for row in bench_rows(sizes, d_k, repeat):
        rows.append(row)
        if progress is not None:
            line = f"N={row['n']:>6} {row['backend']:>5}: {row['median_ms']:9.3f} ms"
            progress.write(f"\r{line}\033[K" if tty else f"{line}\n")
            progress.flush()
    if tty and progress is not None:
        progress.write("\r\033[K")
    if len(_backends()) == 1 and progress is not None:
        progress.write(f"CuPy not timed: {cupy_status().reason}\n")
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """N, N² and the median milliseconds per backend, with the CuPy speed-up where measured."""
    names = sorted({r["backend"] for r in rows}, key=["numpy", "cupy"].index)
    by = {(r["n"], r["backend"]): r["median_ms"] for r in rows}
    head = f"{'N':>7} {'N² scores':>12} " + " ".join(f"{n + ' ms':>12}" for n in names)
    if "cupy" in names:
        head += f" {'numpy/cupy':>11}"
    lines = [head]
    for n in sorted({r["n"] for r in rows}):
        line = f"{n:>7} {n * n:>12,} " + " ".join(f"{by[(n, b)]:>12.3f}" for b in names)
        if "cupy" in names:
            line += f" {by[(n, 'numpy')] / by[(n, 'cupy')]:>10.1f}x"
        lines.append(line)
    return "\n".join(lines) + "\n"
