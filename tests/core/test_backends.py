"""Backends: NumPy always; CuPy when it works; every way CuPy can fail falls back to NumPy and says why.

CuPy's failures are simulated by replacing ``backends._import_cupy`` (the one place CuPy is
imported) with fakes; ``cupy_status`` is cached per process, so each test clears the cache.
The ``gpu`` test at the end runs only where a real CuPy works.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from gpu_marks import needs_gpu

from attnstudio.core import Settings, backends, compute
from attnstudio.core.backends import AUTO_MIN_TOKENS, resolve_backend

SENTENCE = "The cat sat on the mat because it was tired"
SETTINGS = Settings(d_model=8, heads=2, layers=2, mask="causal", positional=True)


class DeviceArray(np.ndarray):
    """Stands in for cupy.ndarray: NumPy underneath, but it advertises device memory."""

    @property
    def __cuda_array_interface__(self) -> dict:
        return {}


class FakeCupy(types.ModuleType):
    """A module that looks like a working CuPy and computes with NumPy."""

    def __init__(self) -> None:
        super().__init__("cupy")
        self.__version__ = "13.4.1"
        self.cuda = types.SimpleNamespace(
            Device=lambda: types.SimpleNamespace(id=0),
            runtime=types.SimpleNamespace(getDeviceProperties=lambda i: {"name": b"Fake GPU 80GB"}),
        )

    def is_available(self) -> bool:
        return True

    def asnumpy(self, a: Any) -> np.ndarray:
        return np.asarray(a)

    def asarray(self, a: Any, dtype: Any = None) -> DeviceArray:
        return np.asarray(a, dtype=dtype).view(DeviceArray)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


def arrays(trace) -> Iterator[tuple[str, Any]]:
    """Every array a trace holds, with a name for failure messages."""
    for name in ("embeddings", "positions", "x"):
        if getattr(trace, name) is not None:
            yield name, getattr(trace, name)
    for li, layer in enumerate(trace.layers):
        for name in ("input", "concat", "output", "residual"):
            yield f"layer {li} {name}", getattr(layer, name)
        for hi, head in enumerate(layer.heads):
            for name in ("q", "k", "v", "scores", "scaled", "masked", "weights", "output", "row_sums", "row_entropy"):
                yield f"layer {li} head {hi} {name}", getattr(head, name)


def assert_same_numbers(a, b, tol: float = 0.0) -> None:
    for (name, x), (_, y) in zip(arrays(a), arrays(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol, err_msg=name)


@pytest.fixture
def use_cupy(monkeypatch: pytest.MonkeyPatch):
    """Install a replacement for ``import cupy``; the cached status is cleared before and after."""
    imports: list[int] = []

    def install(factory) -> list[int]:
        def counted() -> Any:
            imports.append(1)
            return factory()

        monkeypatch.setattr(backends, "_import_cupy", counted)
        backends.cupy_status.cache_clear()
        return imports

    yield install
    backends.cupy_status.cache_clear()


def missing() -> Any:
    raise ImportError("No module named 'cupy'")


@pytest.fixture(scope="module")
def on_numpy():
    return compute(SENTENCE, SETTINGS)


# --- CuPy not installed -----------------------------------------------------------------


def test_cupy_missing_falls_back_with_reason(use_cupy, on_numpy) -> None:
    use_cupy(missing)
    b = resolve_backend("cupy", 10)
    assert b.name == "numpy" and b.xp is np and b.requested == "cupy"
    assert b.reason == "CuPy not installed"
    assert b.label.startswith("CPU · NumPy ") and b.label.endswith("(CuPy not installed)")
    trace = compute(SENTENCE, SETTINGS.with_(backend="cupy"))
    assert trace.backend.name == "numpy" and trace.backend.reason == "CuPy not installed"
    assert any("CuPy not installed" in w for w in trace.warnings)
    assert_same_numbers(trace, on_numpy)


def test_auto_with_many_tokens_and_cupy_missing(use_cupy) -> None:
    imports = use_cupy(missing)
    tokens = [f"w{i % 17}" for i in range(AUTO_MIN_TOKENS)]
    s = Settings(d_model=4, heads=2)
    trace = compute(tokens, s.with_(backend="auto"))
    assert imports, "auto with N >= AUTO_MIN_TOKENS must try CuPy"
    assert trace.backend.name == "numpy" and trace.backend.requested == "auto"
    assert trace.backend.reason == "CuPy not installed" and "(CuPy not installed)" in trace.backend.label
    assert_same_numbers(trace, compute(tokens, s))


def test_auto_below_the_threshold_never_tries_cupy(use_cupy) -> None:
    imports = use_cupy(missing)
    b = resolve_backend("auto", AUTO_MIN_TOKENS - 1)
    assert b.name == "numpy" and b.reason and "auto" in b.reason
    trace = compute(SENTENCE, SETTINGS.with_(backend="auto"))
    assert trace.backend.name == "numpy" and trace.warnings == ()
    assert resolve_backend("numpy", 10**6).reason is None
    assert imports == []


def test_the_status_is_tried_once_per_process(use_cupy) -> None:
    imports = use_cupy(missing)
    for _ in range(3):
        resolve_backend("cupy", 10)
    assert len(imports) == 1


# --- CuPy installed but unusable --------------------------------------------------------


class Unavailable(FakeCupy):
    def is_available(self) -> bool:
        return False


class AvailabilityRaises(FakeCupy):
    def is_available(self) -> bool:
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient\nmore detail")


class FirstOpRaises(FakeCupy):
    def arange(self, *args: Any, **kwargs: Any) -> Any:
        raise MemoryError("out of memory allocating 16 bytes")


class WrongSum(FakeCupy):
    def asnumpy(self, a: Any) -> np.ndarray:
        return np.asarray(a) + 1


def broken_install() -> Any:
    raise OSError("libcudart.so.12: cannot open shared object file")


@pytest.mark.parametrize(
    ("factory", "reason"),
    [
        (broken_install, "CuPy failed to import: OSError: libcudart.so.12: cannot open shared object file"),
        (Unavailable, "no CUDA driver or GPU"),
        (AvailabilityRaises, "no usable GPU: RuntimeError: cudaErrorInsufficientDriver: CUDA driver version is"),
        (FirstOpRaises, "the GPU failed a first test: MemoryError: out of memory allocating 16 bytes"),
        (WrongSum, "CuPy gave a wrong result on a test sum"),
    ],
    ids=["import-raises", "unavailable", "availability-raises", "first-op-raises", "wrong-result"],
)
def test_unusable_cupy_falls_back_with_reason(use_cupy, on_numpy, factory, reason: str) -> None:
    use_cupy(factory)
    for requested in ("cupy", "auto"):
        b = resolve_backend(requested, AUTO_MIN_TOKENS)
        assert b.name == "numpy" and b.requested == requested
        assert b.reason is not None and b.reason.startswith(reason), b.reason
        assert "\n" not in b.reason and b.reason in b.label  # one line for the status bar
    trace = compute(SENTENCE, SETTINGS.with_(backend="cupy"))
    assert trace.backend.name == "numpy" and any(reason in w for w in trace.warnings)
    assert_same_numbers(trace, on_numpy)


# --- CuPy working, or failing mid-computation -------------------------------------------


def test_working_fake_cupy_is_used_and_host_copies_to_numpy(use_cupy, on_numpy) -> None:
    use_cupy(FakeCupy)
    b = resolve_backend("cupy", 3)
    assert b.name == "cupy" and b.reason is None and b.device == "Fake GPU 80GB"
    assert b.label == "GPU · Fake GPU 80GB · CuPy 13.4"
    trace = compute(SENTENCE, SETTINGS.with_(backend="cupy"))
    assert trace.backend.name == "cupy" and trace.warnings == ()
    assert isinstance(trace.x, DeviceArray) and isinstance(trace.head(1, 1).q, DeviceArray)
    host = trace.host()
    for name, a in arrays(host):
        assert type(a) is np.ndarray, name
    assert_same_numbers(host, on_numpy, tol=1e-12)
    assert type(b.asnumpy(trace.x)) is np.ndarray
    auto = resolve_backend("auto", AUTO_MIN_TOKENS)
    assert auto.name == "cupy" and auto.reason == f"auto: {AUTO_MIN_TOKENS} tokens"


class FailsMidway(FakeCupy):
    """Works until the first layer's heads are concatenated, then runs out of memory."""

    def concatenate(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("cudaErrorMemoryAllocation: out of memory")


@pytest.mark.parametrize("requested", ["cupy", "auto"])
def test_failure_during_computation_falls_back_to_numpy(use_cupy, requested: str) -> None:
    use_cupy(FailsMidway)
    tokens = [f"w{i % 13}" for i in range(AUTO_MIN_TOKENS)]
    s = Settings(d_model=4, heads=2, layers=2)
    trace = compute(tokens, s.with_(backend=requested))
    assert trace.backend.name == "numpy" and trace.backend.requested == requested
    reason = "GPU failed, computed on the CPU: RuntimeError: cudaErrorMemoryAllocation: out of memory"
    assert trace.backend.reason == reason and reason in trace.backend.label
    assert sum(reason in w for w in trace.warnings) == 1, trace.warnings  # said once, not twice
    assert_same_numbers(trace, compute(tokens, s))


def test_after_a_failure_the_gpu_is_not_tried_again_and_the_reason_stays(use_cupy) -> None:
    calls: list[int] = []

    class CountsThenFails(FailsMidway):
        def asarray(self, a: Any, dtype: Any = None) -> DeviceArray:
            calls.append(1)
            return super().asarray(a, dtype)

    use_cupy(CountsThenFails)
    s = Settings(d_model=4, heads=2, layers=2, backend="cupy")
    compute(SENTENCE, s)
    tried = len(calls)
    assert tried > 0
    later = compute(SENTENCE, s)
    assert len(calls) == tried, "the failed GPU was used again"
    assert later.backend.name == "numpy"
    cause = "RuntimeError: cudaErrorMemoryAllocation: out of memory"
    assert later.backend.reason == f"{backends.GPU_FAILED_EARLIER}: {cause}"
    assert_same_numbers(later, compute(SENTENCE, s.with_(backend="numpy")))


def test_running_out_of_gpu_memory_is_not_remembered(use_cupy) -> None:
    class OutOfMemoryError(Exception):
        pass

    class RunsOut(FakeCupy):
        def concatenate(self, *args: Any, **kwargs: Any) -> Any:
            raise OutOfMemoryError("out of memory allocating 8,589,934,592 bytes")

    use_cupy(RunsOut)
    s = Settings(d_model=4, heads=2, layers=1, backend="cupy")
    assert compute(SENTENCE, s).backend.reason.startswith(backends.GPU_FAILED + ":")
    assert resolve_backend("cupy", 3).name == "cupy"  # a smaller input may still fit


def test_numpy_errors_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only a CuPy failure is retried on NumPy; a NumPy failure is a bug and must surface.
    from attnstudio.core import pipeline

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(pipeline, "attend", boom)
    with pytest.raises(ZeroDivisionError):
        compute(SENTENCE, SETTINGS)


# --- a real GPU ---------------------------------------------------------------------------


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("normalizer", ["softmax", "sparsemax", "entmax15"])
def test_cupy_matches_numpy(dtype: str, normalizer: str) -> None:
    backends.cupy_status.cache_clear()
    s = SETTINGS.with_(dtype=dtype, normalizer=normalizer, heads=4, d_model=16)
    tokens = [f"w{i % 37}" for i in range(300)]
    gpu = compute(tokens, s.with_(backend="cupy"))
    assert gpu.backend.name == "cupy" and gpu.warnings == ()
    assert gpu.backend.label.startswith("GPU · ")
    host = gpu.host()
    for name, a in arrays(host):
        assert type(a) is np.ndarray, name
    assert_same_numbers(host, compute(tokens, s), tol=1e-5)
    assert compute(tokens, s.with_(backend="auto")).backend.name == "cupy"
