"""Token and hidden-state signals against science.md check values and plain re-implementations."""
from __future__ import annotations

import math

import numpy as np
import pytest

from reasongraph.trace.steps import Step
from reasongraph.trace.markers import AHA_MARKERS, Marker, find_markers, markers_per_step
from reasongraph.trace.hidden.effective_rank import (effective_rank, effective_rank_by_layer,
                                                     effective_rank_from_singular_values)
from reasongraph.trace.token_signals import entropy_of, entropy_summary, top_rho_threshold, forking_tokens
from reasongraph.stats.entropy_law import entropy_performance_fit
from reasongraph.trace.hidden.rank_dynamics import erank_dynamics, erank_profile, erank_velocity


def _reference_erank(X: np.ndarray, center: bool) -> float:
    """Plain Roy-Vetterli effective rank from a float64 SVD."""
    X = np.asarray(X, dtype=np.float64)
    if center:
        X = X - X.mean(axis=0)
    s = np.linalg.svd(X, compute_uv=False)
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))


# ---------------------------------------------------------------- token entropy
@pytest.mark.parametrize(
    "p, expected",
    [([0.5, 0.5], 0.693147), ([0.8, 0.1, 0.1], 0.639032), ([0.25] * 4, 1.386294), ([1.0, 0.0], 0.0)],
)
def test_entropy_of_check_values(p, expected):
    assert entropy_of(p) == pytest.approx(expected, abs=1e-6)


def test_entropy_of_rows():
    p = np.array([[0.5, 0.5, 0.0], [0.8, 0.1, 0.1]])
    np.testing.assert_allclose(entropy_of(p), [math.log(2), 0.639032], atol=1e-6)
    np.testing.assert_allclose(entropy_of(p.T, axis=0), entropy_of(p))


def test_entropy_of_rejects_negative():
    with pytest.raises(ValueError, match="p must"):
        entropy_of([1.2, -0.2])


def test_entropy_summary_hand_computed_with_nan_first_token():
    h = np.array([np.nan, 0.0, 0.005, 0.5, 1.0, 2.0])
    out = entropy_summary(h)
    assert out["mean_entropy"] == pytest.approx(3.505 / 5)
    assert out["median_entropy"] == pytest.approx(0.5)
    assert out["low_entropy_share"] == pytest.approx(2 / 5)
    # 80th percentile of 5 sorted values, linear: position 0.8 * 4 = 3.2 -> 1.0 + 0.2 * (2.0 - 1.0)
    assert out["entropy_p80"] == pytest.approx(1.2)


def test_entropy_summary_all_undefined_is_nan():
    out = entropy_summary(np.array([np.nan]))
    assert set(out) == {"mean_entropy", "median_entropy", "low_entropy_share", "entropy_p80"}
    assert all(math.isnan(v) for v in out.values())


def test_entropy_rejects_bad_shape_and_values():
    with pytest.raises(ValueError, match="entropy must be a 1-D"):
        entropy_summary(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        forking_tokens(np.array([0.1, -1.0]))


# ---------------------------------------------------------------- forking tokens
def test_forking_tokens_top_share_picks_the_largest():
    h = np.array([0.3, 0.9, 0.1, 0.0, 0.7, 0.2, 0.8, 0.4, 0.6, 0.5])
    mask = forking_tokens(h, rho=0.2)
    assert mask.tolist() == [False, True, False, False, False, False, True, False, False, False]
    assert top_rho_threshold(h, rho=0.2) == pytest.approx(0.8)


@pytest.mark.parametrize("rho", [0.05, 0.1, 0.2, 0.3, 0.7, 1.0])
def test_forking_tokens_against_sort_reference(rho):
    rng = np.random.default_rng(1)
    h = rng.exponential(size=997)
    h[0] = np.nan
    finite = np.flatnonzero(~np.isnan(h))
    k = math.ceil(round(rho * finite.size, 9))
    expected = np.zeros(h.size, dtype=bool)
    expected[finite[np.argsort(h[finite])[::-1][:k]]] = True
    np.testing.assert_array_equal(forking_tokens(h, rho=rho), expected)


def test_forking_tokens_float_noise_does_not_add_a_token():
    # 0.7 * 10 evaluates to 7.000000000000001; ceil would give 8
    assert forking_tokens(np.arange(10.0), rho=0.7).sum() == 7


def test_forking_tokens_ties_are_all_included():
    h = np.array([0.0, 1.0, 1.0, 1.0, 0.0])
    # k = ceil(0.2 * 5) = 1, but three tokens tie at the top
    assert forking_tokens(h, rho=0.2).tolist() == [False, True, True, True, False]


def test_forking_tokens_nan_never_forks():
    h = np.array([np.nan, 0.1, 0.2, 0.3])
    assert not forking_tokens(h, rho=1.0)[0]
    assert forking_tokens(h, rho=1.0)[1:].all()
    assert not forking_tokens(h, forking_threshold=0.0)[0]


def test_forking_tokens_absolute_threshold_is_strict():
    h = np.array([0.5, 0.672, 0.7, np.nan])
    assert forking_tokens(h, rho=0.9, forking_threshold=0.672).tolist() == [False, False, True, False]


def test_forking_tokens_rho_zero_and_bad_rho():
    assert not forking_tokens(np.ones(5), rho=0.0).any()
    with pytest.raises(ValueError, match="rho"):
        forking_tokens(np.ones(5), rho=1.5)


# ---------------------------------------------------------------- aha markers
def test_find_markers_positions_and_longest_match():
    text = "So x = 3.\nBut wait, that's not right. Hmm.\nLet me double-check: I made a mistake."
    found = find_markers(text)
    assert [m.text for m in found] == ["But wait", "that's not right", "Hmm", "Let me double-check", "I made a mistake"]
    for m in found:
        assert text[m.start_char:m.end_char] == m.text
    starts = [m.start_char for m in found]
    assert starts == sorted(starts)
    assert found[0] == Marker(10, 18, "But wait")


def test_find_markers_word_bounded_and_case_insensitive():
    assert find_markers("awaiting the actuality of hmmm") == [Marker(26, 30, "hmmm")]
    assert [m.text for m in find_markers("WAIT. Actually, alternatively: oops")] == [
        "WAIT", "Actually", "alternatively", "oops"]


def test_find_markers_covers_every_default_cue():
    cues = ["wait", "hmm", "actually", "alternatively", "let me verify", "let me re-check", "let me recheck",
            "let me check again", "let me reconsider", "let me re-examine", "let me double check",
            "I made an error", "on second thought", "hold on", "that is not right", "this is wrong",
            "but wait", "let me think again", "I think I messed up", "oops", "scratch that"]
    for cue in cues:
        assert [m.text for m in find_markers(f"x. {cue}, y")] == [cue], cue
    assert len(AHA_MARKERS) >= 14


def test_find_markers_custom_patterns_and_bad_pattern():
    assert [m.text for m in find_markers("Wait, however, wait", patterns=[r"however"])] == ["however"]
    with pytest.raises(ValueError, match="patterns"):
        find_markers("x", patterns=["("])
    with pytest.raises(ValueError, match="patterns"):
        find_markers("x", patterns="wait")


def test_markers_per_step_inside_and_gaps():
    text = "First step here.\nWait.\nSecond step, hmm, and wait.\nThird step.\nOops"
    steps = [Step(0, 4, 0, 16, text[0:16]), Step(4, 12, 23, 50, text[23:50]), Step(12, 15, 51, 62, text[51:62])]
    markers = find_markers(text)  # Wait (in a dropped line), hmm, wait, Oops (after the last step)
    assert [m.text for m in markers] == ["Wait", "hmm", "wait", "Oops"]
    assert markers_per_step(markers, steps, counts=True).tolist() == [0, 3, 0]
    assert markers_per_step(markers, steps, counts=True, gap="drop").tolist() == [0, 2, 0]
    assert markers_per_step(markers, steps).tolist() == [False, True, False]
    spans = np.array([(s.start_char, s.end_char) for s in steps])
    assert markers_per_step(markers, spans, counts=True).tolist() == [0, 3, 0]
    assert markers_per_step([], steps).tolist() == [False, False, False]


def test_markers_per_step_rejects_unsorted_steps():
    with pytest.raises(ValueError, match="sorted"):
        markers_per_step([], np.array([[10, 20], [0, 5]]))
    with pytest.raises(ValueError, match="gap"):
        markers_per_step([], np.array([[0, 5]]), gap="prev")


# ---------------------------------------------------------------- effective rank
@pytest.mark.parametrize(
    "s, expected",
    [([3, 1], 1.754765), ([4, 2, 1], 2.600490), ([10, 1, 0.1], 1.423741), ([1, 1, 1, 1], 4.0), ([2, 0], 1.0)],
)
def test_effective_rank_check_values(s, expected):
    assert effective_rank_from_singular_values(np.array(s, dtype=float)) == pytest.approx(expected, abs=1e-6)


def test_effective_rank_matrix_check_values():
    X = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]], dtype=float)
    assert effective_rank(X, center=False) == pytest.approx(2.814004, abs=1e-6)
    assert effective_rank(X, center=True) == pytest.approx(2.600793, abs=1e-6)
    assert effective_rank(X.astype(np.float32)) == pytest.approx(2.600793, abs=1e-6)


def test_effective_rank_scale_invariant_and_bounded():
    X = np.random.default_rng(0).standard_normal((50, 8))
    er = effective_rank(X)
    assert 1.0 <= er <= 8.0
    assert effective_rank(1000.0 * X) == pytest.approx(er, rel=1e-12)
    assert er == pytest.approx(_reference_erank(X, center=True), rel=1e-12)


def test_effective_rank_degenerate_is_nan():
    assert math.isnan(effective_rank(np.zeros((4, 3)), center=False))
    assert math.isnan(effective_rank(np.ones((4, 3))))  # identical rows: nothing left after centering
    assert math.isnan(effective_rank(np.zeros((0, 3))))
    with pytest.raises(ValueError, match="2-D"):
        effective_rank(np.zeros(3))
    with pytest.raises(ValueError, match="non-negative"):
        effective_rank_from_singular_values(np.array([1.0, -1.0]))


def test_effective_rank_by_layer():
    rng = np.random.default_rng(0)
    hidden = {6: rng.standard_normal((20, 4)), 2: rng.standard_normal((20, 4))}
    out = effective_rank_by_layer(hidden)
    assert list(out) == [2, 6]
    assert out[6] == pytest.approx(_reference_erank(hidden[6], center=True), rel=1e-12)


# ---------------------------------------------------------------- ERV / ERA
def test_erank_velocity_check_values():
    v, a = erank_velocity(np.array([2.0, 2.5, 3.0, 3.2]))
    np.testing.assert_allclose(v, [0.5, 0.75, 0.7])
    np.testing.assert_allclose(a, [0.25, -0.05])
    assert v.mean() == pytest.approx(0.65)
    assert a.mean() == pytest.approx(0.10)


def _reference_dynamics(X, window, stride, center):
    X = X[-window:]
    eranks = []
    j = 0
    while (j + 1) * stride < len(X):
        eranks.append(_reference_erank(X[:(j + 1) * stride], center))
        j += 1
    v = [eranks[j] - np.mean(eranks[:j]) for j in range(1, len(eranks))]
    a = [v[j] - v[j - 1] for j in range(1, len(v))]
    return (np.mean(v) if v else np.nan), (np.mean(a) if a else np.nan)


@pytest.mark.parametrize("n, d, center", [(700, 64, True), (300, 16, False), (200, 300, True)])
def test_erank_dynamics_against_reference(n, d, center):
    rng = np.random.default_rng(n)
    # growing spread along the trace, so the rank really moves
    X = rng.standard_normal((n, d)) * np.linspace(0.1, 1.0, d) ** np.linspace(3, 0.5, n)[:, None]
    erv, era = erank_dynamics(X, window=512, stride=40, center=center)
    ref_erv, ref_era = _reference_dynamics(X, 512, 40, center)
    assert erv == pytest.approx(ref_erv, rel=1e-7, abs=1e-9)
    assert era == pytest.approx(ref_era, rel=1e-7, abs=1e-9)


def test_erank_dynamics_short_responses():
    X = np.random.default_rng(0).standard_normal((200, 8))
    assert all(math.isnan(x) for x in erank_dynamics(X[:79], stride=40))   # L < 2s
    erv, era = erank_dynamics(X[:120], stride=40)   # prefixes 40, 80 only (120 is not < L)
    assert math.isfinite(erv) and math.isnan(era)
    assert math.isfinite(erank_dynamics(X[:121], stride=40)[1])  # prefixes 40, 80, 120
    with pytest.raises(ValueError, match="stride"):
        erank_dynamics(X, stride=0)


# ---------------------------------------------------------------- profile
def test_erank_profile_against_svd_reference():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((1000, 96)).astype(np.float32)
    X[300:400] = X[300]  # a stretch of identical states: rank ~1 there
    starts, values = erank_profile(X, window=64, stride=50)
    expected_starts = list(range(0, 1000 - 64 + 1, 50)) + [1000 - 64]
    assert starts.tolist() == expected_starts
    for st, val in zip(starts, values):
        ref = _reference_erank(X[st:st + 64], center=True) if np.ptp(X[st:st + 64], axis=0).any() else np.nan
        if np.isnan(ref):
            assert np.isnan(val)
        else:
            assert val == pytest.approx(ref, rel=1e-8)


def test_erank_profile_wide_windows_and_short_traces():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((100, 5))  # d < window: the d x d Gram side
    starts, values = erank_profile(X, window=20, center=False)
    assert starts.tolist() == [0, 20, 40, 60, 80]
    np.testing.assert_allclose(values, [_reference_erank(X[s:s + 20], False) for s in starts], rtol=1e-10)
    starts, values = erank_profile(X[:10], window=64)
    assert starts.tolist() == [0] and values[0] == pytest.approx(_reference_erank(X[:10], True))
    starts, values = erank_profile(X[:0], window=64)
    assert starts.size == 0 and values.size == 0


# ---------------------------------------------------------------- entropy-performance law
def test_entropy_performance_fit_recovers_synthetic_law():
    H = np.linspace(0.05, 1.2, 30)
    a, b = 0.3, 0.9
    R = -a * np.exp(H) + b
    fit_a, fit_b = entropy_performance_fit(H, R)
    assert fit_a == pytest.approx(a, rel=1e-10) and fit_b == pytest.approx(b, rel=1e-10)
    noisy = R + np.random.default_rng(0).normal(scale=0.01, size=H.size)
    slope, intercept = np.polyfit(np.exp(H), noisy, 1)   # independent least squares
    fit_a, fit_b = entropy_performance_fit(H, noisy)
    assert fit_a == pytest.approx(-slope, rel=1e-9) and fit_b == pytest.approx(intercept, rel=1e-9)


def test_entropy_performance_fit_needs_two_entropies():
    with pytest.raises(ValueError, match="two distinct"):
        entropy_performance_fit([0.5, 0.5], [0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        entropy_performance_fit([0.5, 0.6], [0.1])
