"""A layer or head a trace does not have is an AttnStudioError naming the valid range (and
still an IndexError, for code that caught that before)."""

from __future__ import annotations

import numpy as np
import pytest

from attnstudio.core import AttnStudioError, Settings, compute
from attnstudio.core.errors import NoSuchIndexError

TRACE = compute("the cat sat", Settings(d_model=8, heads=2, layers=3))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: TRACE.head(5, 0), "layer 5 does not exist: this trace has layers 0..2 (0-based)"),
        (lambda: TRACE.head(0, 2), "head 2 does not exist: this trace has heads 0..1 (0-based)"),
        (lambda: TRACE.head(-1, 0), "layer -1 does not exist: this trace has layers 0..2 (0-based)"),
        (lambda: TRACE.layer(3), "layer 3 does not exist: this trace has layers 0..2 (0-based)"),
        (lambda: TRACE.matrix("weights", 0, 7), "head 7 does not exist: this trace has heads 0..1 (0-based)"),
        (lambda: TRACE.matrix("concat", 9), "layer 9 does not exist: this trace has layers 0..2 (0-based)"),
        (lambda: TRACE.head(0, "1"), "head '1' does not exist: this trace has heads 0..1 (0-based)"),
    ],
)
def test_a_wrong_index_names_the_valid_range(call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NoSuchIndexError) as err:
        call()
    assert str(err.value) == message
    assert isinstance(err.value, AttnStudioError) and isinstance(err.value, IndexError)


def test_valid_indices_of_any_integer_type_still_work() -> None:
    assert TRACE.head(np.int64(2), np.int32(1)) is TRACE.layers[2].heads[1]
    assert TRACE.matrix("weights", 1, 1) is TRACE.layers[1].heads[1].weights
    assert TRACE.matrix("x", 99) is TRACE.x  # a trace-wide matrix has no layer to check
