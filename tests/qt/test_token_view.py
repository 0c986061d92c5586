"""TokenViewPanel shows one query's arithmetic with the TokenView's own numbers."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from attnstudio.core.explain import token_view
from attnstudio.core.numbers import format_result, format_sig, format_vector
from attnstudio.core.pipeline import compute
from attnstudio.core.settings import Settings
from attnstudio.qt.token_view import BAR_ROLE, COLUMNS, MASKED_WEIGHT, WEIGHT_COL, TokenViewPanel, exp_digits

SENTENCE = "The cat sat on the mat because it was tired"


@pytest.fixture
def panel(qtbot):
    p = TokenViewPanel()
    qtbot.addWidget(p)
    p.resize(1280, 720)
    p.show()
    return p


def test_table_rows_are_the_keys_with_their_numbers(panel):
    tr = compute(SENTENCE, Settings(mask="causal"))
    tv = token_view(tr, 0, 0, 7)
    panel.set_view(tv)
    # The winner: the key with the largest weight, among "it" and the words before it.
    top = max(range(8), key=lambda j: float(tv.weights[j]))
    assert panel._title.text() == f"one token's view: it · most weight: {tv.keys[top]} {tv.weights[top]:.2f}"
    assert panel._model.index(top, 0).data(Qt.ItemDataRole.FontRole).bold()
    assert panel._model.index((top + 1) % 8, 0).data(Qt.ItemDataRole.FontRole) is None
    assert panel._model.rowCount() == tr.n
    col = {name: i for i, name in enumerate(COLUMNS)}
    for j in range(tr.n):
        assert panel.table_text(j, col["key"]) == tv.keys[j]
        # The chain q·k_j → scaled → exp → weight keeps three significant digits (a calculator
        # redoes each step from them); a masked key's weight says so rather than "0.00".
        assert panel.table_text(j, col["q·k_j"]) == format_sig(tv.dots[j])
        weight = MASKED_WEIGHT if j > 7 else format_result(tv.weights[j])
        assert panel.table_text(j, col["a_j"]) == weight
        assert panel.table_text(j, col["a_j·v_j"]) == format_vector(tv.contributions[j])
        assert panel._model.index(j, WEIGHT_COL).data(BAR_ROLE) == pytest.approx(tv.weights[j])
        if j > 7:  # after "it": masked under the causal mask
            assert panel.table_text(j, col["exp"]) == "0"  # exp(−∞)
            assert "−∞" in panel.table_text(j, col["scaled"])
        else:
            assert panel.table_text(j, col["exp"]) == format_sig(tv.exp[j], exp_digits(tv))
    assert panel._output.text().startswith(f"z_it = Σ_j a_j·v_j = {format_vector(tv.output)}")


def test_sparsemax_has_no_exp_column_values_and_shows_tau(panel):
    tr = compute(SENTENCE, Settings(normalizer="sparsemax"))
    tv = token_view(tr, 0, 0, 2)
    panel.set_view(tv)
    assert tv.exp is None
    assert all(panel.table_text(j, COLUMNS.index("exp")) == "—" for j in range(tr.n))
    assert f"τ = {format_sig(tv.tau)}" in panel._rule.text()


def test_long_vectors_are_elided_and_font_scale_grows_the_text_around_the_table(panel):
    assert format_vector(np.arange(64) / 10) == "[0.00, 0.10, 0.20, …, 6.10, 6.20, 6.30] (64)"
    assert format_vector([-0.5, np.inf]) == "[−0.50, ∞]"
    before = panel._table.font().pixelSize()
    title = panel._title.font().pixelSize()
    panel.set_font_scale(1.5)
    # The table must fit the side band, which a zoom does not widen; the lines around it grow.
    assert panel._table.font().pixelSize() == before
    assert panel._title.font().pixelSize() == round(title * 1.5)
