"""An input too large for memory is a message in the window's Result, not a crash nor a
long wait: compute_result refuses it before allocating (memory is injected here)."""

from __future__ import annotations

import pytest

from attnstudio.studio import StudioModel
from attnstudio.studio.result import compute_result


def test_a_sentence_too_long_for_memory_is_a_message_and_no_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("attnstudio.core.memory.available_bytes", lambda: 50 * 10**6)
    monkeypatch.setattr("attnstudio.core.memory.CHECK_ABOVE", 0)
    model = StudioModel("the cat sat")
    assert compute_result(model.inputs()).trace is not None  # small: computed as before

    model.set_sentence(" ".join(["word"] * 3000))
    result = compute_result(model.inputs())
    assert result.trace is None and result.display is None
    assert result.error is not None
    assert result.error.startswith("3,000 tokens × 1 layer × 1 head needs ≈ ")
    assert result.error.endswith("; 50 MB available")
