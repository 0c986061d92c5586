"""Where the arithmetic runs: NumPy always, CuPy when it is installed and works.

CuPy is imported lazily, on first request, never at start-up. Each way it can fail — the
import, ``cupy.is_available()`` being False or raising, the first real array operation
raising (no driver, out of memory) — falls back to NumPy with a reason a person can read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ``auto`` computes on the GPU from this many tokens up. Measured on an H100 host (float32,
# d_k = 64): NumPy wins at N = 16 (0.03 vs 0.14 ms), CuPy at N = 1024 (0.28 vs 4.6 ms).
AUTO_MIN_TOKENS = 256
GPU_FAILED = "GPU failed, computed on the CPU"
GPU_FAILED_EARLIER = "the GPU failed earlier, computing on the CPU"


@dataclass(frozen=True)
class CupyStatus:
    """The outcome of trying CuPy once: the module, or why it cannot be used."""

    module: Any | None
    reason: str | None
    device: str | None = None
    # Failures of real computations on this CuPy, newest last (``fallback`` records them):
    # after one, every later computation goes to NumPy at once, and says why.
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Backend:
    """An array module to compute with, and what to tell the user about it.

    ``reason`` says why this backend was chosen when it is not the one asked for (or, for
    ``auto``, which one it picked and why); ``None`` when it is exactly what was asked.
    """

    name: str
    xp: Any
    requested: str
    reason: str | None
    device: str

    def asnumpy(self, a: Any) -> np.ndarray:
        """A host (NumPy) copy of ``a``; NumPy arrays pass through unchanged."""
        if self.name == "cupy":
            return self.xp.asnumpy(a)  # type: ignore[no-any-return]
        return np.asarray(a)

    @property
    def label(self) -> str:
        """One line for a status bar: 'GPU · NVIDIA H100 · CuPy 14.2' or 'CPU · NumPy 2.4 (…)'."""
        if self.name == "cupy":
            text = f"GPU · {self.device} · CuPy {_short_version(self.xp.__version__)}"
        else:
            text = f"CPU · NumPy {_short_version(np.__version__)}"
        return f"{text} ({self.reason})" if self.reason else text


def _short_version(v: str) -> str:
    return ".".join(v.split(".")[:2])


def _import_cupy() -> Any:
    """Import and return the cupy module (separate so tests can simulate its failures)."""
    import cupy

    return cupy


@functools.lru_cache(maxsize=1)
def cupy_status() -> CupyStatus:
    """Try CuPy once per process and remember the answer."""
    try:
        cp = _import_cupy()
    except ImportError:
        return CupyStatus(None, "CuPy not installed")
    except Exception as exc:  # a broken install can raise anything at import time
        return CupyStatus(None, f"CuPy failed to import: {_one_line(exc)}")
    try:
        if not cp.is_available():
            return CupyStatus(None, "no CUDA driver or GPU")
    except Exception as exc:
        return CupyStatus(None, f"no usable GPU: {_one_line(exc)}")
    try:
        if float(cp.asnumpy((cp.arange(4, dtype=cp.float32) ** 2).sum())) != 14.0:
            return CupyStatus(None, "CuPy gave a wrong result on a test sum")
        device = _device_name(cp)
    except Exception as exc:
        return CupyStatus(None, f"the GPU failed a first test: {_one_line(exc)}")
    return CupyStatus(cp, None, device)


def _device_name(cp: Any) -> str:
    try:
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:
        return "CUDA GPU"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def numpy_backend(requested: str = "numpy", reason: str | None = None) -> Backend:
    return Backend("numpy", np, requested, reason, "CPU")


def resolve_backend(requested: str = "numpy", n_tokens: int = 0) -> Backend:
    """The backend to compute on for ``requested`` ('numpy' | 'cupy' | 'auto') and N tokens."""
    if requested == "numpy":
        return numpy_backend()
    if requested == "auto" and n_tokens < AUTO_MIN_TOKENS:
        return numpy_backend("auto", f"auto: NumPy is faster below {AUTO_MIN_TOKENS} tokens")
    status = cupy_status()
    if status.module is None:
        return numpy_backend(requested, status.reason)
    if status.failures:
        return numpy_backend(requested, f"{GPU_FAILED_EARLIER}: {status.failures[-1]}")
    reason = f"auto: {n_tokens} tokens" if requested == "auto" else None
    return Backend("cupy", status.module, requested, reason, status.device or "CUDA GPU")


def fallback(after: Backend, exc: BaseException) -> Backend:
    """The NumPy backend to use when a computation on ``after`` (CuPy) raised ``exc``.

    The failure is remembered (``CupyStatus.failures``), so the next computations do not
    try the GPU again, except when it ran out of memory: a smaller input may still fit."""
    reason = _one_line(exc)
    if "OutOfMemory" not in type(exc).__name__:
        cupy_status().failures.append(reason)
    return numpy_backend(after.requested, f"{GPU_FAILED}: {reason}")
