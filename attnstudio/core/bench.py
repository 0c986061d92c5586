"""`attnstudio bench`: time the whole pipeline against N on every backend that works, with
PyTorch as a peer.

One timing = compute() of every stage for N tokens, one head of width d_k (float32, all
stages materialised), until the results are ready on the device. The PyTorch peer
(core/bench_peers.py) computes the same stages from the same inputs on as many threads as
NumPy's BLAS. Each contender is warmed up once at the same N (CuPy compiles kernels, PyTorch
picks GPU algorithms) and then timed ``repeat`` times: the median counts. GPU times come from
CUDA events, CPU times from perf_counter. Contenders are timed side by side in one run, so
their ratio is meaningful on a busy machine.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from attnstudio.core.backends import Backend, cupy_status, numpy_backend, resolve_backend
from attnstudio.core.bench_peers import (
    Clock,
    Peer,
    cupy_event_clock,
    import_torch,
    numpy_blas_threads,
    perf_seconds,
    torch_peers,
)
from attnstudio.core.errors import AttnStudioError, SettingsError
from attnstudio.core.memory import check_memory, trace_bytes
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import MAX_D_MODEL, Settings
from attnstudio.core.weights import Weights

# The table's columns in this order; each ratio divides the first by the second, where both ran.
ORDER = ("numpy", "torch-cpu", "cupy", "torch-cuda")
RATIOS = (("numpy", "torch-cpu"), ("cupy", "torch-cuda"), ("numpy", "cupy"))


def bench_settings(d_k: int, backend: str = "numpy") -> Settings:
    """The settings of one timing: one head of width d_k (so d_model = d_k), float32."""
    return Settings(d_model=d_k, heads=1, dtype="float32", backend=backend)


def bench_inputs(n: int, d_k: int) -> tuple[list[str], np.ndarray, Weights]:
    """The inputs every contender gets at N: tokens, X (N × d_k, uniform in [−1, 1), seeded by
    N) and the seeded weights (seeding is set-up, not the pipeline being timed)."""
    x = np.random.default_rng(n).uniform(-1, 1, size=(n, d_k))
    return [f"t{i}" for i in range(n)], x, Weights.seeded(bench_settings(d_k))


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


@dataclass(frozen=True)
class Contender:
    """One column of the table: a name, its device, how many CPU threads it may use (None on
    a GPU), which clock times it, and ``seconds(tokens, x, weights)`` for one timing."""

    name: str
    device: str
    threads: int | None
    clock_name: str
    seconds: Callable[[list[str], np.ndarray, Weights], float]
    release: Callable[[], None] = lambda: None


def _pipeline(backend: Backend, clock: Clock) -> Callable[[list[str], np.ndarray, Weights], float]:
    def seconds(tokens: list[str], x: np.ndarray, weights: Weights) -> float:
        settings = bench_settings(x.shape[1], backend.name)
        traces = []
        took = clock(lambda: traces.append(compute(tokens, settings, weights=weights, embeddings=x,
                                                   backend=backend)))
        if traces[0].backend.name != backend.name:  # CuPy failed and compute() fell back to NumPy
            raise AttnStudioError(f"{backend.name} could not be timed: {traces[0].backend.reason}")
        return took

    return seconds


def _peer(peer: Peer) -> Callable[[list[str], np.ndarray, Weights], float]:
    def seconds(_tokens: list[str], x: np.ndarray, weights: Weights) -> float:
        return peer.seconds(x, weights)

    return seconds


def contenders() -> tuple[list[Contender], list[str]]:
    """Everything that can be timed here, in table order, and one note per thing that cannot."""
    threads, _ = numpy_blas_threads()
    found = [Contender("numpy", "CPU", threads, "perf_counter", _pipeline(numpy_backend(), perf_seconds))]
    notes = []
    peers, note = torch_peers(threads)
    if not peers:
        notes.append(f"torch-cpu not timed: {note}")
    elif note:
        notes.append(note)
    gpu = resolve_backend("cupy")
    if gpu.name == "cupy":
        cp = gpu.xp
        found.append(Contender("cupy", gpu.device, None, "CUDA events", _pipeline(gpu, cupy_event_clock(cp)),
                               lambda: cp.get_default_memory_pool().free_all_blocks()))
    else:  # not installed, no GPU, or failed earlier in this process
        notes.append(f"cupy not timed: {gpu.reason}")
    for p in peers:
        on_cpu = p.torch_device == "cpu"
        found.append(Contender(p.name, p.device, threads if on_cpu else None,
                               "perf_counter" if on_cpu else "CUDA events", _peer(p), p.release))
    found.sort(key=lambda c: ORDER.index(c.name))
    return found, notes


def machine_info() -> dict[str, Any]:
    """What the figures depend on: CPUs, threads, library versions, the GPU where there is one."""
    threads, how = numpy_blas_threads()
    torch, _ = import_torch()
    status = cupy_status()
    return {
        "cpu_count": os.cpu_count(),
        # Runnable programs over the last 1, 5 and 15 minutes, read before timing: well above
        # the CPU count, other programs share the CPUs and every figure is inflated.
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "numpy_blas_threads": threads,
        "threads_found_by": how,
        "torch_threads": None if torch is None else int(torch.get_num_threads()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "torch": None if torch is None else str(torch.__version__),
        "cupy": None if status.module is None else str(status.module.__version__),
        "gpu": status.device,
    }


def bench_rows(
    sizes: list[int], d_k: int = 64, repeat: int = 5, should_stop: Callable[[], bool] | None = None,
    found: list[Contender] | None = None,
) -> Iterator[dict[str, Any]]:
    """One row per (N, contender), as each is measured: the median after one
    warm-up run at the same N, the fastest, N² and the trace's bytes; also the contender's
    device, threads (CPU) and clock. Contenders are the pipeline's backends (numpy, cupy) and
    PyTorch's peers (torch-cpu, torch-cuda) where installed.

    ``should_stop`` is asked before every timing; when it answers True the rows
    end there (a panel's Cancel). ``found``: the contenders, when the caller has already
    looked for them (``contenders()``) to count or name them. The command line and the scaling
    lab both read these rows.
    """
    check_bench(sizes, d_k)
    if found is None:
        found, _ = contenders()
    for n in sizes:
        inputs = bench_inputs(n, d_k)
        for c in found:
            row = measure(c, inputs, repeat, should_stop)
            if row is None:
                return
            yield row


def measure(c: Contender, inputs: tuple[list[str], np.ndarray, Weights], repeat: int = 5,
            should_stop: Callable[[], bool] | None = None) -> dict[str, Any] | None:
    """One row of ``bench_rows``: ``c`` warmed up once on ``inputs`` (``bench_inputs``), then
    timed ``repeat`` times; None when ``should_stop`` answered True before a timing."""
    tokens, x, weights = inputs
    n, d_k = x.shape
    # A contender's runs back to back, its threads warm as in use: interleaved with another
    # library's, each pays for the other's idle threads spinning down (measured on 2 cores:
    # PyTorch's median at N = 16 doubled).
    times = []
    for i in range(repeat + 1):
        if should_stop is not None and should_stop():
            return None
        took = c.seconds(tokens, x, weights)
        if i:  # the first run is the warm-up
            times.append(took)
    c.release()
    return {
        "n": n,
        "backend": c.name,
        "device": c.device,
        "median_ms": statistics.median(times) * 1e3,
        "min_ms": min(times) * 1e3,
        "scores_per_head": n * n,
        "trace_bytes": trace_bytes(n, bench_settings(d_k)),
        "threads": c.threads,
        "clock": c.clock_name,
    }


def run_bench(
    sizes: list[int], d_k: int = 64, repeat: int = 5, progress: IO[str] | None = None
) -> list[dict[str, Any]]:
    """Every row of ``bench_rows``; ``progress`` is told each one: on a terminal as one line
    rewritten in place with its time and cleared at the end (the table that follows is the
    record), elsewhere (a log, ``2>&1 | cat``) one line per timing without figures, so the
    table's numbers are written once.
    """
    rows: list[dict[str, Any]] = []
    tty = progress is not None and progress.isatty()
    found, notes = contenders()
    total = len(sizes) * len(found)
    for row in bench_rows(sizes, d_k, repeat, found=found):
        rows.append(row)
        if progress is not None:
            if tty:
                line = f"N={row['n']:>6} {row['backend']:>10}: {row['median_ms']:9.3f} ms ({len(rows)}/{total})"
                progress.write(f"\r{line}\033[K")
            else:
                progress.write(f"bench: timed N={row['n']} on {row['backend']} ({len(rows)}/{total})\n")
            progress.flush()
    if progress is not None:
        if tty:
            progress.write("\r\033[K")
        for note in notes:
            progress.write(f"{note}\n")
    return rows


def _column(name: str) -> str:
    return f"{name} ms"


def format_table(rows: list[dict[str, Any]], machine: dict[str, Any] | None = None) -> str:
    """N, N², the median milliseconds per contender, and the ratios numpy/torch-cpu,
    cupy/torch-cuda and numpy/cupy where both were measured (below 1: the first is faster).
    ``machine`` (``machine_info``) adds a header line with the threads and versions."""
    names = [b for b in ORDER if any(r["backend"] == b for r in rows)]
    by = {(r["n"], r["backend"]): r["median_ms"] for r in rows}
    ratios = [(a, b) for a, b in RATIOS if a in names and b in names]
    lines = []
    if machine is not None:
        torch = f"; PyTorch {machine['torch']} on {machine['torch_threads']} threads" if machine.get("torch") else ""
        load = f" (load {machine['load_average'][0]:.1f})" if machine.get("load_average") else ""
        lines.append(f"# float32, one head, every stage kept; {machine['cpu_count']} CPUs{load}; "
                     f"NumPy {machine['numpy']} on {machine['numpy_blas_threads']} BLAS threads "
                     f"(found by {machine['threads_found_by']})"
                     f"{torch}" + (f"; GPU {machine['gpu']}" if machine.get("gpu") else ""))
    width = max([12, *(len(_column(b)) + 1 for b in names)])
    head = f"{'N':>7} {'N² scores':>14} " + " ".join(f"{_column(b):>{width}}" for b in names)
    head += "".join(f" {a + '/' + b:>17}" for a, b in ratios)
    lines.append(head)
    for n in sorted({r["n"] for r in rows}):
        line = f"{n:>7} {n * n:>14,} " + " ".join(
            f"{by[(n, b)]:>{width}.3f}" if (n, b) in by else f"{'—':>{width}}" for b in names)
        for a, b in ratios:
            both = (n, a) in by and (n, b) in by
            line += f" {by[(n, a)] / by[(n, b)]:>16.2f}x" if both else f" {'—':>17}"
        lines.append(line)
    return "\n".join(lines) + "\n"
