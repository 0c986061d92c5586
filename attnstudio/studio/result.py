"""One finished computation of the studio's inputs: a trace and its display cache, or why not.

``compute_result`` never raises: an input the core refuses, a lack of memory or a bug in a
stage becomes a message the window shows, with the last good numbers kept on screen. It
runs on any thread (the Qt side calls it on a worker for large inputs).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

from attnstudio.core.errors import AttnStudioError
from attnstudio.core.trace import Trace
from attnstudio.studio.display_cache import DisplayCache
from attnstudio.studio.inputs import Inputs, run


@dataclass(frozen=True)
class Result:
    """One finished computation: a trace with its display cache, or an error message."""

    generation: int
    inputs: Inputs
    trace: Trace | None = None
    display: DisplayCache | None = None
    error: str | None = None
    elapsed_ms: float = 0.0

    @property
    def empty(self) -> bool:
        """True when there was nothing to compute (an empty sentence)."""
        return not self.inputs.tokens


def compute_result(inputs: Inputs, prefill: tuple[int, int] | None = None, stage: str = "") -> Result:
    """Compute one snapshot of the inputs; every failure becomes a message, never an exception.

    ``prefill`` = (layer, head): reduce for display what the window shows for that head now,
    here (off the UI thread), instead of on first use; with ``stage``, only what that stage
    draws (``DisplayCache.prefill_stage``: the rest can follow once the stage is on screen)."""
    if not inputs.tokens:
        return Result(inputs.generation, inputs, error=inputs.error or "there are no tokens")
    t0 = time.perf_counter()
    try:
        trace = run(inputs)
        display = DisplayCache(trace)
        if prefill is not None and stage:
            display.prefill_stage(*prefill, stage)
        elif prefill is not None:
            display.prefill(*prefill)
    except AttnStudioError as exc:
        return Result(inputs.generation, inputs, error=str(exc))
    except MemoryError:
        return Result(inputs.generation, inputs,
                      error=f"not enough memory for {inputs.n:,} tokens (N² = {inputs.n ** 2:,} scores per head)")
    except Exception as exc:  # the app must not crash: show what went wrong instead
        traceback.print_exc()
        return Result(inputs.generation, inputs, error=f"computation failed: {type(exc).__name__}: {exc}")
    return Result(inputs.generation, inputs, trace, display, elapsed_ms=(time.perf_counter() - t0) * 1000.0)
