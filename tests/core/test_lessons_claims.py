"""Each built-in lesson's teaching claim (what its narration says happens), checked from computed traces.

Nothing here compares against stored outputs: every number comes from compute_step on the
lesson's own state, and is checked against an independent reference written in the test
(a hand calculation, a loop, scipy). Numbers the narration quotes are recomputed and must
match what the lesson shows, so narration and data cannot drift apart.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax
from scipy.stats import entropy as scipy_entropy

from attnstudio.core.lessons import Lesson, LessonStep, compute_step, load_lesson


def lesson(lesson_id: str) -> Lesson:
    return load_lesson(lesson_id)


def plain(step: LessonStep) -> str:
    """The narration without markup, for checking quoted numbers."""
    return re.sub(r"<[^>]+>", "", step.narration)


def assert_quotes(step: LessonStep, value: float, fmt: str = ".2f") -> None:
    shown = format(value, fmt)
    assert shown in plain(step), f"narration of {step.title!r} should quote {shown}: {plain(step)}"


def entropy_bits(p: np.ndarray) -> np.ndarray:
    """Row entropy in bits, by scipy (independent of core.normalizers.row_entropy)."""
    return np.array([scipy_entropy(row, base=2) for row in p])


def step_titled(les: Lesson, fragment: str) -> LessonStep:
    hits = [s for s in les.steps if fragment in s.title]
    assert len(hits) == 1, f"{les.id}: expected one step titled like {fragment!r}"
    return hits[0]


# ---------------------------------------------------------------- it-cat


def test_it_cat_scores_are_the_hand_computed_dot_products():
    les = lesson("it-cat")
    step = step_titled(les, "dot products")
    trace = compute_step(step)
    assert trace.tokens == ("it", "cat", "mat", "tired")
    row = trace.head().scores[0]
    q = [1, 0, 1, 0]
    keys = {"cat": [0.5, 0.2, 0.1, 0.3], "mat": [0.1, 0.8, 0.2, 0.1], "tired": [0.2, 0.1, 0.9, 0.4]}
    for j, word in enumerate(("cat", "mat", "tired"), start=1):
        assert row[j] == pytest.approx(sum(a * b for a, b in zip(q, keys[word], strict=True)), abs=1e-12)
    assert row[1:] == pytest.approx([0.6, 0.3, 1.1], abs=1e-12)
    assert row[0] == 0.0  # the zero key of "it": its score with itself
    assert step.state.highlight_cells == ((0, 1), (0, 2), (0, 3))


def _three_key_softmax(scores: list[float]) -> list[float]:
    """The article's hand computation: exp of each of the three scores over their sum."""
    total = sum(math.exp(x) for x in scores)
    return [math.exp(x) / total for x in scores]


def test_it_cat_masks_the_query_s_own_key_and_nothing_else():
    les = lesson("it-cat")
    step = step_titled(les, "own key is masked")
    assert step.state.stage == "masked" and step.state.settings.mask == "custom"
    assert step.state.mask_cells == ((0, 0),) and step.state.highlight_cells == ((0, 0),)
    head = compute_step(step).head()
    assert head.masked[0, 0] == -math.inf
    hidden = np.isneginf(head.masked)
    assert hidden.sum() == 1, "only the cell (it, it) is masked"
    assert np.array_equal(head.masked[~hidden], head.scaled[~hidden])
    assert head.weights[0, 0] == 0.0  # exactly: e^−∞ = 0


def test_it_cat_softmax_of_raw_scores_is_the_three_key_hand_calculation_and_tired_wins():
    les = lesson("it-cat")
    step = step_titled(les, "Softmax turns")
    assert step.state.settings.scale is False and step.state.mask_cells == ((0, 0),)
    w = compute_step(step).head().weights[0]
    hand = _three_key_softmax([0.6, 0.3, 1.1])
    assert w[0] == 0.0
    assert w[1:] == pytest.approx(hand, abs=1e-12)
    assert math.fsum(w[1:]) == pytest.approx(1.0, abs=1e-12)
    assert int(np.argmax(w)) == 3, "with these toy keys 'tired', not 'cat', gets the most weight"
    for value in (w[3], w[1], w[2]):  # "tired 0.49, cat 0.30 and mat 0.22"
        assert_quotes(step, value)
    # The formula: exp(0.6) / (exp(0.6) + exp(0.3) + exp(1.1)) = 1.82 / 6.18 = 0.30
    total = math.exp(0.6) + math.exp(0.3) + math.exp(1.1)
    for shown in (format(math.exp(0.6), ".2f"), format(total, ".2f"), format(w[1], ".2f")):
        assert shown in (step.formula or "")
    assert "exp(0)" not in (step.formula or ""), "three keys: the masked key is not in the sum"
    assert "tired" in plain(step) and "not" in plain(step)


def test_it_cat_scaled_by_sqrt_4_three_keys_and_tired_still_wins():
    les = lesson("it-cat")
    step = step_titled(les, "scaled scores")
    assert step.state.settings.scale is True and step.state.mask_cells == ((0, 0),)
    head = compute_step(step).head()
    assert head.scaled[0] == pytest.approx([0.0, 0.6 / 2, 0.3 / 2, 1.1 / 2], abs=1e-12)
    for value in (0.3, 0.15, 0.55):  # "0.6 becomes 0.3, 0.3 becomes 0.15 and 1.1 becomes 0.55"
        assert f"becomes {value:g}" in plain(step)
    w = head.weights[0]
    assert w[0] == 0.0
    assert w[1:] == pytest.approx(_three_key_softmax([0.3, 0.15, 0.55]), abs=1e-12)
    assert int(np.argmax(w)) == 3
    for value in w[1:]:  # "tired 0.41, cat 0.32, mat 0.27"
        assert_quotes(step, value)


def test_it_cat_a_fourth_key_shrinks_every_weight_and_keeps_their_ratios():
    les = lesson("it-cat")
    before_step, step = step_titled(les, "scaled scores"), step_titled(les, "fourth key")
    assert step.state.settings.mask == "custom" and step.state.mask_cells == ()
    before, head = compute_step(before_step).head().weights[0], compute_step(step).head()
    after = head.weights[0]
    e = [math.exp(x) for x in (0.0, 0.3, 0.15, 0.55)]
    assert after == pytest.approx([x / sum(e) for x in e], abs=1e-12)
    assert not np.isneginf(head.masked).any()
    text = plain(step)
    for j in (3, 1, 2):  # "tired 0.41 → 0.33, cat 0.32 → 0.26, mat 0.27 → 0.22"
        assert f"{before[j]:.2f} → {after[j]:.2f}" in text
        assert after[j] < before[j]
    assert_quotes(step, after[0])  # "it takes 0.19 for itself"
    ratio_before, ratio_after = before[3] / before[1], after[3] / after[1]
    assert ratio_before == pytest.approx(ratio_after, rel=1e-12)
    assert ratio_after == pytest.approx(math.exp(0.55 - 0.3), rel=1e-12)
    assert_quotes(step, ratio_after)


def test_it_cat_every_decimal_the_lesson_quotes_is_a_computed_or_given_number():
    """No number in a narration or formula of it-cat is typed in without a source: each is a
    component of the toy q and k, or (to its shown digits) a score, a scaled score, a weight,
    an exponential, a sum or a ratio computed from the step's trace or the step before."""
    les = lesson("it-cat")
    prev: list[float] = []
    checked = 0
    for step in les.steps[1:]:  # the first step shows only the sentence
        head = compute_step(step).head()
        q, k = step.state.direct[(0, 0, "q")][0], step.state.direct[(0, 0, "k")]
        exps = [math.exp(x) for x in head.scaled[0]]
        kept = [x for x, m in zip(exps, np.isneginf(head.masked[0]), strict=True) if not m]
        candidates = [*q, *k.ravel(), *head.scores[0], *head.scaled[0], *head.weights[0], *exps, sum(kept),
                      head.weights[0, 3] / head.weights[0, 1], k[1, 0] + 1.1, *prev]  # k₃ = 1.1: the last step
        for text in (plain(step), step.formula or ""):
            for quoted in re.findall(r"\d+\.\d+", text):
                digits = len(quoted.split(".")[1])
                assert any(format(c, f".{digits}f") == quoted for c in candidates), \
                    f"{step.title!r} quotes {quoted}, which no computed number of the step rounds to"
                checked += 1
        prev = list(head.weights[0])
    assert checked > 40


@pytest.mark.parametrize("scale", [False, True])
def test_it_cat_raising_k_cat_third_component_to_1_1_makes_cat_win(scale):
    les = lesson("it-cat")
    final = les.steps[-1]
    assert "cat" in final.title and "1.1" in plain(final) and "1.6" in plain(final)
    state = replace(final.state, settings=final.state.settings.with_(scale=scale))
    before = compute_step(state).head().weights[0]
    assert int(np.argmax(before)) == 3  # as shipped: tired wins
    direct = dict(state.direct)
    k = direct[(0, 0, "k")].copy()
    assert k[1].tolist() == [0.5, 0.2, 0.1, 0.3]
    k[1, 2] = 1.1
    direct[(0, 0, "k")] = k
    after = compute_step(replace(state, direct=direct)).head()
    assert after.scores[0, 1] == pytest.approx(1.6, abs=1e-12)
    assert int(np.argmax(after.weights[0])) == 1, "cat should now get the most weight"


# ---------------------------------------------------------------- qkv-walkthrough


def test_qkv_walkthrough_shapes_row_sums_and_output():
    les = lesson("qkv-walkthrough")
    trace = compute_step(les.steps[-1])
    assert trace.n == 4 and trace.settings.d_model == 8 and trace.settings.heads == 2
    x = trace.x
    assert x.shape == (4, 8)
    weights = les.steps[-1].state.weights
    assert weights is None  # seeded
    for hi, head in enumerate(trace.layers[0].heads):
        for m in (head.q, head.k, head.v):
            assert m.shape == (4, 4)
        assert head.weights.sum(axis=1) == pytest.approx(np.ones(4), abs=1e-12)
        # A = softmax(Q·Kᵀ / √4), by scipy; Z = A·V by an explicit loop.
        a = scipy_softmax(head.q @ head.k.T / 2.0, axis=1)
        assert head.weights == pytest.approx(a, abs=1e-12)
        z = np.zeros((4, 4))
        for i in range(4):
            for j in range(4):
                z[i] += a[i, j] * head.v[j]
        assert head.output == pytest.approx(z, abs=1e-12)
        assert hi in (0, 1)
    layer = trace.layers[0]
    assert layer.concat.shape == (4, 8)
    assert layer.output.shape == (4, 8)


# ---------------------------------------------------------------- scaling


def _mean_entropy(state):
    head = compute_step(state).head()
    return float(entropy_bits(head.weights).mean()), head


def test_scaling_entropy_collapses_without_scaling_and_stays_with_it():
    les = lesson("scaling")
    unscaled = {}
    for step in les.steps:
        s = step.state.settings
        if not s.scale and step.state.stage == "weights":
            unscaled[s.d_model], _ = _mean_entropy(step.state)
    assert sorted(unscaled) == [4, 64, 512]
    assert unscaled[4] > unscaled[64] > unscaled[512]
    assert unscaled[512] < 0.5 * unscaled[4], unscaled

    scaled = {}
    for step in les.steps:
        s = step.state.settings
        if s.scale and step.state.stage == "weights":
            scaled[s.d_model], _ = _mean_entropy(step.state)
    assert sorted(scaled) == [64, 512]
    base = les.steps[1].state
    scaled[4], _ = _mean_entropy(replace(base, settings=base.settings.with_(scale=True)))
    for d in (64, 512):
        assert abs(scaled[d] - scaled[4]) < 0.1, scaled
        assert abs(scaled[d] - unscaled[4]) < 0.25, (scaled, unscaled)
    assert scaled[512] > 4 * unscaled[512]


def test_scaling_narration_quotes_the_computed_spread_and_entropy():
    les = lesson("scaling")
    spreads = 0
    for step in les.steps:
        head = compute_step(step).head()
        if step.state.stage == "weights":
            assert_quotes(step, float(entropy_bits(head.weights).mean()), ".1f")
        spread = re.search(r"(?:spread|standard deviation)[^.]*? about (\d+\.\d)", plain(step))
        if spread:
            matrix = head.scaled if step.state.settings.scale else head.scores
            assert float(spread.group(1)) == pytest.approx(float(np.std(matrix)), abs=0.05)
            spreads += 1
    assert spreads == 4  # d_k = 4, 64, 512 unscaled and 512 scaled


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_scaling_claim_is_not_an_accident_of_the_seed(seed):
    """The same pattern for other seeds than the lesson's 24 (d_k = 4 and 64)."""
    base = lesson("scaling").steps[1].state
    h = {}
    for d in (4, 64):
        for scale in (False, True):
            s = base.settings.with_(d_model=d, scale=scale, seed=seed)
            h[d, scale], _ = _mean_entropy(replace(base, settings=s))
    assert h[64, False] < h[4, False] - 0.5
    assert abs(h[64, True] - h[4, True]) < 0.2


# ---------------------------------------------------------------- temperature


def test_temperature_row_entropy_rises_with_t():
    les = lesson("temperature")
    by_t = {}
    for step in les.steps[:3]:
        t = step.state.settings.temperature
        head = compute_step(step).head()
        assert head.weights == pytest.approx(scipy_softmax(head.scaled / t, axis=1), abs=1e-12)
        by_t[t] = (head, step)
    assert sorted(by_t) == [0.25, 1.0, 4.0]
    h = {t: entropy_bits(head.weights) for t, (head, _) in by_t.items()}
    assert np.all(h[0.25] < h[1.0]) and np.all(h[1.0] < h[4.0]), h
    assert np.all(h[4.0] <= math.log2(5) + 1e-12)
    chased, mouse = 2, 4
    for t, (head, step) in by_t.items():
        assert step.state.highlight_rows == (chased,)
        assert_quotes(step, head.weights[chased, mouse])
        assert_quotes(step, float(h[t].mean()), ".1f")


# ---------------------------------------------------------------- stable-softmax


def test_stable_softmax_naive_overflows_and_is_flagged_stable_rows_sum_to_one():
    les = lesson("stable-softmax")
    scores = compute_step(les.steps[0]).head().scores
    assert scores == pytest.approx(np.tile([1000.0, 999.0, 998.0], (3, 1)), abs=1e-9)

    naive = les.steps[1]
    assert naive.state.settings.normalizer == "naive-softmax"
    trace = compute_step(naive)
    head = trace.head()
    assert head.nonfinite_weights == 9
    assert np.isnan(head.weights).all()
    # "∞ / ∞ is NaN … and the app flags it": the warning says just that.
    assert trace.warnings == ("exp overflowed to ∞ in rows 0–2 of head 1: ∞/∞ is NaN",)

    stable = les.steps[2]
    assert stable.state.settings.normalizer == "softmax"
    trace = compute_step(stable)
    w = trace.head().weights
    assert np.isfinite(w).all() and not trace.warnings
    assert w.sum(axis=1) == pytest.approx(np.ones(3), abs=1e-12)
    e = [math.exp(0.0), math.exp(-1.0), math.exp(-2.0)]
    assert w[0] == pytest.approx([x / sum(e) for x in e], abs=1e-12)
    assert w[0] == pytest.approx(scipy_softmax([1000.0, 999.0, 998.0]), abs=1e-12)
    for value in w[0]:
        assert_quotes(stable, value)

    small = les.steps[3]
    small_head = compute_step(small).head()
    assert small_head.scores[0] == pytest.approx([2.0, 1.0, 0.0], abs=1e-12)
    assert small_head.weights == pytest.approx(w, abs=1e-12)
    naive_small = compute_step(les.steps[4]).head()
    assert les.steps[4].state.settings.normalizer == "naive-softmax"
    assert naive_small.nonfinite_weights == 0
    assert naive_small.weights == pytest.approx(w, abs=1e-12)


# ---------------------------------------------------------------- causal


def test_causal_mask_zeroes_the_future_and_row_0_is_one_hot():
    les = lesson("causal")
    free = compute_step(les.steps[0]).head()
    assert les.steps[0].state.settings.mask == "none"
    n = free.weights.shape[0]
    above = np.triu_indices(n, k=1)
    assert np.all(free.weights[above] > 0)

    masked_step = les.steps[1]
    assert masked_step.state.settings.mask == "causal"
    head = compute_step(masked_step).head()
    assert np.all(np.isneginf(head.masked[above]))
    assert np.all(head.weights[above] == 0.0)
    expected_row0 = [1.0] + [0.0] * (n - 1)
    assert head.weights[0].tolist() == expected_row0
    assert head.weights.sum(axis=1) == pytest.approx(np.ones(n), abs=1e-12)
    zero_step = les.steps[2]
    assert f"[1, {', '.join(['0'] * (n - 1))}]" in plain(zero_step)

    last = les.steps[3]
    assert last.state.highlight_rows == (n - 1,)
    assert compute_step(last).head().weights[-1] == pytest.approx(free.weights[-1], abs=1e-12)

    out = compute_step(les.steps[4]).head()
    assert les.steps[4].state.stage == "output"
    assert out.output[0] == pytest.approx(out.v[0], abs=1e-12)


# ---------------------------------------------------------------- dog-bites-man


def _pair(les: Lesson, positional: bool):
    steps = [s for s in les.steps if s.state.settings.positional is positional and s.state.stage == "weights"]
    by_sentence = {s.state.sentence: s for s in steps}
    return by_sentence["dog bites man"], by_sentence["man bites dog"]


def test_dog_bites_man_without_positions_one_matrix_is_the_others_permutation():
    les = lesson("dog-bites-man")
    a_step, b_step = _pair(les, positional=False)
    a, b = compute_step(a_step), compute_step(b_step)
    perm = [a.tokens.index(t) for t in b.tokens]
    assert perm == [2, 1, 0]
    assert b.head().weights == pytest.approx(a.head().weights[np.ix_(perm, perm)], abs=1e-12)
    assert b.head().output == pytest.approx(a.head().output[perm], abs=1e-12)
    dog_a = a.head().weights[0]
    for value in dog_a:  # "dog gives itself 0.29, bites 0.34 and man 0.37"
        assert_quotes(a_step, value)
        assert_quotes(b_step, value)


def test_dog_bites_man_with_positions_it_is_not():
    les = lesson("dog-bites-man")
    a_step, b_step = _pair(les, positional=True)
    a, b = compute_step(a_step), compute_step(b_step)
    perm = [a.tokens.index(t) for t in b.tokens]
    diff = np.abs(b.head().weights - a.head().weights[np.ix_(perm, perm)]).max()
    assert diff > 0.1, diff
    assert_quotes(a_step, a.head().weights[0, 0])  # dog → dog at the start
    assert_quotes(b_step, b.head().weights[2, 2])  # dog → dog at the end
    assert_quotes(b_step, a.head().weights[0, 0])


# ---------------------------------------------------------------- multi-head


def test_multi_head_heads_have_different_roles_and_w_o_is_applied():
    les = lesson("multi-head")
    trace = compute_step(les.steps[-1])
    tokens = trace.tokens
    n, h, dk = trace.n, trace.settings.heads, trace.settings.d_k
    assert (n, h, dk) == (5, 2, 4)
    prev, same = (trace.head(0, i).weights for i in range(2))

    # Head 1: every word from the second on looks at the word before it.
    for i in range(1, n):
        assert int(np.argmax(prev[i])) == i - 1
        assert prev[i, i - 1] >= 0.95
    # Head 2: every word looks at copies of itself.
    for i in range(n):
        copies = [j for j, t in enumerate(tokens) if t == tokens[i]]
        assert same[i, copies].sum() > 0.95
    assert np.sum(np.argmax(prev, axis=1) != np.argmax(same, axis=1)) >= n - 1
    assert not np.allclose(prev, same, atol=0.1)

    layer = trace.layers[0]
    assert layer.concat.shape == (n, h * dk)
    assert layer.concat[:, :dk] == pytest.approx(trace.head(0, 0).output, abs=1e-12)
    assert layer.concat[:, dk:] == pytest.approx(trace.head(0, 1).output, abs=1e-12)
    w_o = les.steps[-1].state.weights.layers[0].w_o
    expected = np.array([[sum(layer.concat[i, m] * w_o[m, c] for m in range(8)) for c in range(8)] for i in range(n)])
    assert layer.output == pytest.approx(expected, abs=1e-12)
    assert not np.allclose(layer.output, layer.concat)  # W_O really mixes

    head1 = step_titled(les, "previous word")
    assert head1.state.head == 0 and "0.95" in plain(head1)
    head2 = step_titled(les, "same word")
    assert head2.state.head == 1
    assert_quotes(head2, same[0, 0])
    assert_quotes(head2, same[0, 3])


def test_multi_head_positions_fill_every_column_and_their_leak_makes_the_uneven_split():
    les = lesson("multi-head")
    first = step_titled(les, "Words and places")
    trace = compute_step(first)
    e, p, x = (np.asarray(a) for a in (trace.embeddings, trace.positions, trace.x))
    words, leak = [4, 6], [c for c in range(8) if c not in (4, 6)]
    # "The word vectors … use only columns 5 and 7": every other column of E is 0.
    assert np.all(e[:, leak] == 0.0) and np.all(np.abs(e[:, words]).max(axis=0) == 1.0)
    # "the position vector fills all 8 columns"; columns 1–2 are sin p, cos p and no word.
    assert np.all(np.abs(p).max(axis=0) > 0)
    pos = np.arange(trace.n)
    assert x[:, 0] == pytest.approx(np.sin(pos), abs=1e-12)
    assert x[:, 1] == pytest.approx(np.cos(pos), abs=1e-12)
    # "In columns 5 and 7 the position adds only a little, at most 0.04".
    assert f"{np.abs(p[:, words]).max():.2f}" == "0.04" and "at most 0.04" in plain(first)
    assert trace.tokens[0] == trace.tokens[3] == "the"
    assert_quotes(first, x[0, 4])  # 1.00
    assert_quotes(first, x[3, 4])  # 1.03

    head2 = step_titled(les, "same word")
    same = compute_step(head2).head(0, 1).weights
    assert same[0, 0] < same[0, 3] and same[3, 0] < same[3, 3]  # the second "the" gets more
    assert_quotes(head2, x[0, 4])
    assert_quotes(head2, x[3, 4])
    # "without it both would get 0.49": head 2 on X without the position in
    # columns 5 and 7, by hand.
    hw = head2.state.weights.layers[0].heads[1]
    clean = x.copy()
    clean[:, words] = e[:, words]
    q, k = clean @ np.asarray(hw.w_q), clean @ np.asarray(hw.w_k)
    even = scipy_softmax(q @ k.T / math.sqrt(4), axis=1)
    assert even[0, 0] == pytest.approx(even[0, 3], abs=1e-12)
    assert_quotes(head2, even[0, 0])
    assert "both would get 0.49" in plain(head2)


# ---------------------------------------------------------------- trophy-suitcase


def test_trophy_suitcase_last_layer_resolves_its_by_the_adjective():
    les = lesson("trophy-suitcase")
    big = step_titled(les, "→ trophy")
    small = step_titled(les, "which noun now")
    assert big.state.sentence.endswith("too big") and small.state.sentence.endswith("too small")
    # The same matrices for both sentences, and the same vector for every shared word.
    wb, ws = big.state.weights, small.state.weights
    for lb, ls in zip(wb.layers, ws.layers, strict=True):
        assert np.array_equal(lb.w_o, ls.w_o)
        for hb, hs in zip(lb.heads, ls.heads, strict=True):
            for p in ("w_q", "w_k", "w_v"):
                assert np.array_equal(getattr(hb, p), getattr(hs, p))
    for i in range(10):
        assert np.array_equal(big.state.embeddings[i], small.state.embeddings[i])

    for step, noun, adjective in ((big, "trophy", "big"), (small, "suitcase", "small")):
        trace = compute_step(step)
        assert trace.settings.layers == 2 and trace.settings.residual
        its = trace.tokens.index("it's")
        last = trace.head(trace.settings.layers - 1, 0).weights[its]
        assert trace.tokens[int(np.argmax(last))] == noun
        assert last[trace.tokens.index(noun)] > 0.9
        first = trace.head(0, 0).weights[its]
        assert trace.tokens[int(np.argmax(first))] == adjective
        assert_quotes(step, last[trace.tokens.index(noun)])
    layer1 = step_titled(les, "finds the adjective")
    assert_quotes(layer1, compute_step(layer1).head(0, 0).weights[8, 10])


# ---------------------------------------------------------------- sparsemax


def _sparsemax_reference(z: np.ndarray) -> tuple[np.ndarray, float]:
    """Sparsemax by its definition: the largest support k with 1 + k·z_(k) > Σ_{i≤k} z_(i)."""
    zs = sorted(z, reverse=True)
    k = max(k for k in range(1, len(zs) + 1) if 1 + k * zs[k - 1] > sum(zs[:k]))
    tau = (sum(zs[:k]) - 1) / k
    return np.maximum(z - tau, 0.0), tau


def _entmax15_reference(z: np.ndarray) -> np.ndarray:
    """1.5-entmax by bisection on τ: p = max(z/2 − τ, 0)², Σ p = 1."""
    lo, hi = float(np.max(z / 2) - 1.0), float(np.max(z / 2))
    for _ in range(200):
        tau = (lo + hi) / 2
        if np.sum(np.maximum(z / 2 - tau, 0.0) ** 2) > 1:
            lo = tau
        else:
            hi = tau
    return np.maximum(z / 2 - tau, 0.0) ** 2


def test_sparsemax_gives_exact_zeros_and_entmax_sits_between():
    les = lesson("sparsemax")
    row = 1  # "drank"
    by_norm = {}
    for step in les.steps:
        if step.state.highlight_rows == (row,) and step.state.stage == "weights":
            by_norm[step.state.settings.normalizer] = (compute_step(step).head().weights[row], step)
    assert sorted(by_norm) == ["entmax15", "softmax", "sparsemax"]
    z = compute_step(les.steps[0]).head().scores[row]
    assert z == pytest.approx([0.2, -0.5, 1.6, 1.0, 2.0], abs=1e-12)

    soft, sparse, ent = (by_norm[k][0] for k in ("softmax", "sparsemax", "entmax15"))
    assert soft == pytest.approx(scipy_softmax(z), abs=1e-12)
    ref, tau = _sparsemax_reference(z)
    assert sparse == pytest.approx(ref, abs=1e-12)
    assert ent == pytest.approx(_entmax15_reference(z), abs=1e-9)

    zeros = {k: int(np.sum(by_norm[k][0] == 0.0)) for k in by_norm}
    assert zeros["softmax"] == 0 < zeros["entmax15"] < zeros["sparsemax"], zeros
    h = {k: float(scipy_entropy(by_norm[k][0], base=2)) for k in by_norm}
    assert h["softmax"] > h["entmax15"] > h["sparsemax"], h

    for key, fmt in (("softmax", ".2f"), ("sparsemax", ".1f"), ("entmax15", ".2f")):
        weights, step = by_norm[key]
        for value in weights[weights > 0]:
            assert_quotes(step, value, fmt)
    assert_quotes(by_norm["softmax"][1], h["softmax"], ".1f")
    assert_quotes(by_norm["sparsemax"][1], h["sparsemax"], ".2f")
    assert_quotes(by_norm["entmax15"][1], h["entmax15"], ".2f")
    assert_quotes(by_norm["sparsemax"][1], tau, ".1f")


# ---------------------------------------------------------------- quadratic-cost


def test_quadratic_cost_counts_n_squared_scores_from_the_traces():
    les = lesson("quadratic-cost")
    counts = []
    for step in les.steps[:3]:
        trace = compute_step(step)
        n = trace.n
        scores = trace.head().scores
        assert scores.shape == (n, n) and scores.size == n * n
        assert f"{n} × {n} = {n * n:,}" in plain(step) + (step.formula or "")
        counts.append((n, scores.size))
    assert [n for n, _ in counts] == [8, 32, 128]
    assert counts[1][1] == 16 * counts[0][1]  # "four times as many tokens … sixteen times as many scores"

    big = les.steps[3]
    n = 200_000
    assert n * n == 4 * 10**10
    text = plain(big) + (big.formula or "")
    assert "200,000 × 200,000 = 4×10¹⁰" in text
    assert f"{n * n * 4 / 1e9:.0f} GB" in text  # 4 bytes per float32 score


def test_quadratic_cost_counts_tokens_as_tokens_and_words_as_words():
    """N is the number of tokens; a count called "words" is the number of word tokens (the
    punctuation marks are tokens too), and a step that cannot show its N says what it shows."""
    les = lesson("quadratic-cost")
    quoted_words = re.compile(r"(\d[\d,]*) words")
    for step in les.steps[:3]:
        tokens = compute_step(step).tokens
        n = len(tokens)
        n_words = sum(any(c.isalnum() for c in t) for t in tokens)
        marks = n - n_words
        text = f"{step.title} {plain(step)}"
        assert step.title.startswith(f"{n} tokens: "), step.title
        assert [int(m.replace(",", "")) for m in quoted_words.findall(text)] == [n_words], text
        if marks > 1:
            spelled = {3: "two commas and a full stop"}.get(marks, f"{marks} punctuation marks")
            assert spelled in plain(step), (marks, plain(step))
        else:
            assert "the full stop" in plain(step)
    assert quoted_words.findall(les.summary) == []  # the summary's counts are token counts
    assert "8 tokens give 64, 128 tokens give 16,384" in les.summary

    big = les.steps[3]
    shown = compute_step(big)
    assert shown.n == 128  # the step keeps the paragraph: 200,000 tokens are not computed
    assert "still the 128-token one" in plain(big) and "not shown" in big.title


def test_quadratic_cost_fits_the_scaling_lab_where_the_n_squared_work_dominates():
    """The last step opens the scaling lab: N × N work has slope exactly 2 on a log–log plot,
    and the app's own count of multiply-adds (core/cost.py: projections, scores and A·V, a
    fixed cost per head) is N × N for four fifths and more from N = 512, the lab's FIT_FROM,
    and for less than half up to N = 128, where the curve bends."""
    from attnstudio.core.cost import multiply_adds
    from attnstudio.core.scaling import FIT_FROM, lab_settings

    step = lesson("quadratic-cost").steps[-1]
    assert step.opens == "scaling-lab"
    ns = np.array([16, 32, 64, 128, 256, 512, 1024, 2048, 4096], dtype=float)
    assert np.polyfit(np.log10(ns), np.log10(ns * ns), 1)[0] == pytest.approx(2.0, abs=1e-12)
    assert "N × N work gives p = 2" in (step.formula or "")

    settings = lab_settings()
    d = settings.d_model
    assert (settings.heads, settings.layers, d) == (1, 1, 64)
    share = {int(n): 2 * int(n) ** 2 * d / multiply_adds(int(n), settings) for n in ns}
    assert FIT_FROM == 512 and "from N = 512 on" in plain(step)
    assert round(share[512], 2) == 0.80 and all(share[n] > 0.79 for n in share if n >= 512)
    assert "four fifths of the multiply-adds and more" in plain(step)
    assert all(share[n] < 0.5 for n in share if n <= 128)
