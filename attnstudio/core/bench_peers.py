"""PyTorch as a peer of `attnstudio bench`, and the clocks every timing uses.

The peer computes what ``core.pipeline.compute`` computes for the bench's settings
(``core.bench.bench_settings``: one layer, one head, d_model = d_k, scaled, mask none,
softmax at T = 1, no positions, the residual on, float32), stage for stage and every stage
kept, from the same host inputs, so its time is the time of the same work:

    X = asarray(X_host, float32)   Q = X·W_Q  K = X·W_K  V = X·W_V
    S = Q·Kᵀ   S_s = S / √d_k   S' = S_s (mask none: the same array, as in the pipeline)
    A = softmax(S') row by row   Z = A·V   row sums, row entropy (bits), non-finite count
    concat = [Z]   MHA = concat·W_O   residual = X + MHA

On the CPU it runs on as many threads as NumPy's BLAS (``numpy_blas_threads``), so the
ratio compares libraries, not thread counts. Times on a GPU come from CUDA events
(CuPy's or PyTorch's), on the CPU from ``time.perf_counter``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from attnstudio.core.weights import Weights

# A clock runs a zero-argument callable once and returns the seconds it took, finished.
Clock = Callable[[Callable[[], object]], float]


def perf_seconds(run: Callable[[], object]) -> float:
    """Wall-clock seconds of ``run()`` on the CPU (``time.perf_counter``)."""
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def cupy_event_clock(cp: Any) -> Clock:
    """Seconds between two CUDA events recorded on CuPy's current stream around ``run()``."""

    def seconds(run: Callable[[], object]) -> float:
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        run()
        end.record()
        end.synchronize()
        return float(cp.cuda.get_elapsed_time(start, end)) / 1e3

    return seconds


def torch_event_clock(torch: Any) -> Clock:
    """Seconds between two CUDA events recorded on PyTorch's current stream around ``run()``."""

    def seconds(run: Callable[[], object]) -> float:
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        end.synchronize()
        return float(start.elapsed_time(end)) / 1e3

    return seconds


def numpy_blas_threads() -> tuple[int, str]:
    """How many threads NumPy's BLAS uses, and how that was found out.

    threadpoolctl (when installed) asks the loaded BLAS library itself; otherwise the
    variables OpenBLAS and MKL read at start-up; otherwise the CPU count, their default.
    """
    try:
        from threadpoolctl import threadpool_info  # optional

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        mine = [i for i in blas if "numpy" in str(i.get("filepath", ""))] or blas
        if mine:
            return int(mine[0]["num_threads"]), f"threadpoolctl, {mine[0].get('internal_api', 'blas')}"
    except Exception:  # not installed, or a library it cannot read: fall through
        pass
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value), var
    return os.cpu_count() or 1, "os.cpu_count()"


def import_torch() -> tuple[Any | None, str | None]:
    """(the torch module, None), or (None, why it cannot be used)."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch not installed"
    except Exception as exc:  # a broken install can raise anything at import time
        return None, f"PyTorch failed to import: {type(exc).__name__}"
    return torch, None


def torch_stages(torch: Any, x: np.ndarray, weights: Weights, device: str = "cpu") -> dict[str, Any]:
    """Every stage of one layer with one head (the module docstring's list) as torch tensors.

    ``x`` is the host N × d_k input, ``weights`` the bench's one-head weights; float32 on
    ``device``. Nothing is fused: each stage is its own tensor, as in the pipeline's trace.
    """
    def dev(a: np.ndarray) -> Any:
        return torch.as_tensor(a, dtype=torch.float32, device=device)

    layer = weights.layers[0]
    (head,) = layer.heads
    xt = dev(x)
    q, k, v = xt @ dev(head.w_q), xt @ dev(head.w_k), xt @ dev(head.w_v)
    scores = q @ k.T
    scaled = scores / math.sqrt(q.shape[1])
    masked = scaled
    attn = torch.softmax(masked, dim=-1)
    output = attn @ v
    row_sums = attn.sum(dim=-1)
    row_entropy = torch.special.entr(attn).sum(dim=-1) / math.log(2.0)
    nonfinite = int((~torch.isfinite(attn)).sum())  # a host number, as in the pipeline
    concat = torch.cat([output], dim=1)
    mha = concat @ dev(layer.w_o)
    return {"x": xt, "q": q, "k": k, "v": v, "scores": scores, "scaled": scaled, "masked": masked,
            "weights": attn, "output": output, "row_sums": row_sums, "row_entropy": row_entropy,
            "nonfinite_weights": nonfinite, "concat": concat, "layer_output": mha, "residual": xt + mha}


@dataclass(frozen=True)
class Peer:
    """One PyTorch contender: its row name ("torch-cpu", "torch-cuda"), device and clock."""

    name: str
    device: str
    torch: Any
    torch_device: str
    clock: Clock

    def seconds(self, x: np.ndarray, weights: Weights) -> float:
        """Seconds for every stage of ``torch_stages`` on this peer's device, finished."""
        return self.clock(lambda: torch_stages(self.torch, x, weights, self.torch_device))

    def release(self) -> None:
        """Give cached GPU memory back, so the next contender starts from the same pool."""
        if self.torch_device == "cuda":
            self.torch.cuda.empty_cache()


def torch_peers(threads: int) -> tuple[list[Peer], str | None]:
    """The PyTorch peers that can run here (CPU always, CUDA when available), and a note on
    what is missing. Sets PyTorch's intra-op threads to ``threads`` for this process."""
    torch, why = import_torch()
    if torch is None:
        return [], why
    torch.set_num_threads(threads)
    peers = [Peer("torch-cpu", "CPU", torch, "cpu", perf_seconds)]
    note = None
    try:
        if torch.cuda.is_available():
            peers.append(Peer("torch-cuda", str(torch.cuda.get_device_name()), torch, "cuda",
                              torch_event_clock(torch)))
        else:
            note = "torch-cuda not timed: no CUDA device for PyTorch"
    except Exception as exc:
        note = f"torch-cuda not timed: {type(exc).__name__}: {exc}"
    return peers, note
