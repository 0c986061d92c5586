"""What MiniLM's heads do with "it" in the Winograd pair "The trophy doesn't fit in the
suitcase because it is too big / small": computed for all 6 × 12 heads from the weight of
the "it" row on the "trophy" and "suitcase" columns.

The finding these tests keep true: no head resolves "it" differently for big and small
(trophy > suitcase for big and suitcase > trophy for small), in either phrasing ("it is",
"it's"); every head ranks the two nouns the same way in both sentences (38 heads favour
"trophy", 34 "suitcase"), and the margin between them moves by less than 0.11. The largest
move is layer 4 head 2's, and it goes the wrong way: more towards "trophy" for "small". That
head gives "trophy" the most weight of any head in both sentences; most heads' "it" row
weighs [CLS] most.
"""

from __future__ import annotations

import numpy as np
import pytest

PAIRS = {
    "it is": "The trophy doesn't fit in the suitcase because it is too {}.",
    "it's": "The trophy doesn't fit in the suitcase because it's too {}.",
}


def it_weights(model, sentence: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    """(layers, heads, 2): each head's weight from "it" to "trophy" and to "suitcase"."""
    trace = model.trace(sentence, dtype="float64")
    toks = list(trace.tokens)
    it, trophy, suitcase = toks.index("it"), toks.index("trophy"), toks.index("suitcase")
    return np.array([[[h.weights[it, trophy], h.weights[it, suitcase]] for h in lt.heads] for lt in trace.layers])


@pytest.mark.parametrize("phrasing", PAIRS)
def test_no_minilm_head_resolves_it_differently_for_big_and_small(minilm, phrasing: str) -> None:
    big = it_weights(minilm, PAIRS[phrasing].format("big"))
    small = it_weights(minilm, PAIRS[phrasing].format("small"))
    assert big.shape == small.shape == (6, 12, 2)
    flips = [(li + 1, hi + 1) for li in range(6) for hi in range(12)
             if big[li, hi, 0] > big[li, hi, 1] and small[li, hi, 1] > small[li, hi, 0]]
    reverse = [(li + 1, hi + 1) for li in range(6) for hi in range(12)
               if big[li, hi, 0] < big[li, hi, 1] and small[li, hi, 1] < small[li, hi, 0]]
    assert flips == [] and reverse == []
    assert int(np.sum(big[..., 0] > big[..., 1])) == int(np.sum(small[..., 0] > small[..., 1])) == 38
    move = (small[..., 0] - small[..., 1]) - (big[..., 0] - big[..., 1])  # > 0: more "trophy" for small
    assert np.all(np.abs(move) < 0.11)
    largest = np.unravel_index(np.argmax(np.abs(move)), move.shape)
    assert largest == (3, 1) and move[largest] > 0.07  # layer 4, head 2, towards "trophy"
    for weights in (big, small):
        assert np.unravel_index(np.argmax(weights[..., 0]), (6, 12)) == (3, 1)


def test_most_heads_weigh_cls_most_from_it(minilm) -> None:
    for adjective in ("big", "small"):
        trace = minilm.trace(PAIRS["it is"].format(adjective), dtype="float64")
        it = trace.tokens.index("it")
        top = [trace.tokens[int(np.argmax(h.weights[it]))] for lt in trace.layers for h in lt.heads]
        assert max(set(top), key=top.count) == "[CLS]" and top.count("[CLS]") > 36
