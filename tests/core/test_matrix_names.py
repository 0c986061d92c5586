"""The one vocabulary of matrix names: every stage shows a named matrix, and Trace.matrix
returns, for each name, the array the trace holds under it."""

from __future__ import annotations

import numpy as np
import pytest

from attnstudio.core import Settings, compute
from attnstudio.core.trace import (
    HEAD_STAGES,
    LAYER_MATRICES,
    MATRIX_NAMES,
    QUERY_ROW_STAGES,
    STAGE_KEYS,
    STAGE_MATRIX,
    TOKEN_BY_TOKEN,
    TRACE_MATRICES,
)

S = Settings(d_model=8, heads=2, layers=2, positional=True)
SENTENCE = "the cat sat on the mat"


def test_every_stage_shows_a_named_matrix_on_a_known_scale() -> None:
    assert tuple(STAGE_MATRIX) == STAGE_KEYS
    for stage, (name, scale) in STAGE_MATRIX.items():
        assert name in MATRIX_NAMES, stage
        assert scale == ("unit" if name == "weights" else "signed"), stage
    assert STAGE_MATRIX["embeddings"][0] == "input"  # the layer's own input X_ℓ
    assert len(set(MATRIX_NAMES)) == len(MATRIX_NAMES)
    assert set(TOKEN_BY_TOKEN) < set(QUERY_ROW_STAGES) <= set(HEAD_STAGES)


def test_trace_matrix_returns_what_each_name_means() -> None:
    tr = compute(SENTENCE, S)
    n = tr.n
    for layer in range(S.layers):
        lt = tr.layers[layer]
        assert tr.matrix("input", layer) is lt.input
        assert tr.matrix("concat", layer) is lt.concat
        assert tr.matrix("heads", layer) is lt.output  # concat·W_O
        for head in range(S.heads):
            for name in HEAD_STAGES:
                assert tr.matrix(name, layer, head) is getattr(lt.heads[head], name)
            for name in QUERY_ROW_STAGES:
                assert tr.matrix(name, layer, head).shape[0] == n
            for name in TOKEN_BY_TOKEN:
                assert tr.matrix(name, layer, head).shape == (n, n)
        for name in LAYER_MATRICES:
            assert tr.matrix(name, layer).shape == (n, S.d_model)
    for name in TRACE_MATRICES:
        assert tr.matrix(name, 1, 1) is getattr(tr, name)  # the same whichever layer is on view
    np.testing.assert_array_equal(tr.matrix("x"), tr.matrix("input", 0))
    np.testing.assert_array_equal(tr.matrix("input", 1), tr.layers[0].residual)


def test_unknown_names_and_missing_positions() -> None:
    tr = compute(SENTENCE, Settings())
    assert tr.matrix("positions") is None
    with pytest.raises(ValueError, match="unknown matrix 'embedding'"):
        tr.matrix("embedding")


def test_every_stage_has_a_short_title_and_a_matrix_to_show():
    from attnstudio.core.trace import STAGE_KEYS, STAGE_MATRIX, STAGE_SHORT_TITLES

    assert set(STAGE_SHORT_TITLES) == set(STAGE_KEYS) == set(STAGE_MATRIX)
    assert all(0 < len(t) <= 8 for t in STAGE_SHORT_TITLES.values())  # a thumbnail's width
