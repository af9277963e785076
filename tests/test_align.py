"""Step-level alignment of revisits, onset spikes and markers: onset entropy by hand, the 2x2 statistics, planted
alignment and planted independence, and the span rule's permutation test against its literal form."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reasongraph.analysis.alignment.alignment import Alignment
from reasongraph.analysis.alignment.align import align
from reasongraph.analysis.alignment.spike_rules import onset_entropy, step_has_spike
from reasongraph.core.errors import InputError
from reasongraph.trace.token_signals import forking_tokens, top_rho_threshold


def _spans(n_steps: int, length: int) -> np.ndarray:
    starts = np.arange(n_steps) * length
    return np.column_stack([starts, starts + length])


def _literal_p_value(entropy, spans, revisit, rho, threshold, lookback, n_shifts, seed, min_shift):
    """science.md's null, literally: roll the entropy, recompute forking tokens, recount per step."""
    def statistic(h):
        spikes = forking_tokens(h, rho=rho, forking_threshold=threshold)
        hits = [spikes[max(s - lookback, 0):e].any() for s, e in spans[revisit]]
        return sum(hits)

    observed = statistic(entropy)
    shifts = np.random.default_rng(seed).integers(min_shift, entropy.size - min_shift + 1, size=n_shifts)
    null = np.array([statistic(np.roll(entropy, k)) for k in shifts])
    return (1 + np.sum(null >= observed)) / (1 + n_shifts)


def _planted_trace(seed: int, spikes_in_revisits: bool):
    """60 steps of 25 tokens, 12 revisit steps; 24 high-entropy tokens over a near-deterministic background."""
    rng = np.random.default_rng(seed)
    n_steps, length = 60, 25
    spans = _spans(n_steps, length)
    entropy = rng.uniform(0.0, 0.05, size=n_steps * length)
    entropy[0] = np.nan
    revisits = np.sort(rng.choice(np.arange(1, n_steps), size=12, replace=False))
    if spikes_in_revisits:
        positions = np.concatenate([rng.choice(np.arange(s, e), size=2, replace=False) for s, e in spans[revisits]])
    else:
        positions = rng.choice(np.arange(1, entropy.size), size=24, replace=False)
    entropy[positions] = rng.uniform(1.0, 3.0, size=positions.size)
    return entropy, spans, revisits


# ---------------------------------------------------------------------- rule "span"
def test_hand_computed_table():
    # 6 steps of 5 tokens; spikes in steps 0, 2 and 5 (two in step 5); revisits at steps 2 and 3
    spikes = np.zeros(30, dtype=bool)
    spikes[[1, 12, 26, 28]] = True
    out = align(np.zeros(30), _spans(6, 5), [2, 3], rule="span", spikes=spikes, n_shifts=0)
    np.testing.assert_array_equal(out.table, [[1, 1], [2, 2]])
    assert out.enrichment == pytest.approx((1 / 2) / (2 / 4))
    assert out.hidden_only.tolist() == [3]
    assert out.token_only.tolist() == [0, 5]
    assert out.step_spikes.tolist() == [True, False, True, False, False, True]
    assert math.isnan(out.p_value) and math.isnan(out.threshold)
    assert out.rule == "span" and out.hidden_only_share == pytest.approx(0.5)
    assert out.odds_ratio == pytest.approx(1.0) and not out.odds_ratio_corrected
    assert math.isnan(out.onset_fork_null)  # a given spike mask has no rho


def test_table_from_entropy_rule():
    entropy = np.full(20, 0.01)
    entropy[0] = np.nan
    entropy[[6, 17]] = [2.0, 1.5]  # the two highest of 19 defined tokens; rho = 0.1 -> k = 2
    out = align(entropy, _spans(4, 5), np.array([1]), rule="span", rho=0.1, n_shifts=0)
    np.testing.assert_array_equal(out.table, [[1, 0], [1, 2]])
    assert out.threshold == pytest.approx(1.5)
    assert out.enrichment == pytest.approx(1.0 / (1 / 3))
    out = align(entropy, _spans(4, 5), np.array([1]), rule="span", forking_threshold=1.8, n_shifts=0)
    np.testing.assert_array_equal(out.table, [[1, 0], [0, 3]])
    assert math.isnan(out.enrichment)  # no spike outside revisits: the ratio is undefined


def test_lookback_counts_a_spike_just_before_the_step():
    spikes = np.zeros(20, dtype=bool)
    spikes[9] = True  # last token of step 1, one token before step 2 = [10, 15)
    spans = _spans(4, 5)
    assert step_has_spike(spikes, spans, lookback=0).tolist() == [False, True, False, False]
    assert step_has_spike(spikes, spans, lookback=1).tolist() == [False, True, True, False]
    out = align(np.zeros(20), spans, [2], rule="span", spikes=spikes, lookback=1, n_shifts=0)
    np.testing.assert_array_equal(out.table, [[1, 0], [1, 2]])
    assert align(np.zeros(20), spans, [2], rule="span", spikes=spikes, lookback=0,
                 n_shifts=0).hidden_only.tolist() == [2]


@pytest.mark.parametrize(
    "rho, threshold, lookback, min_shift",
    [(0.2, None, 0, 1), (0.05, None, 3, 1), (0.2, 0.5, 2, 1), (0.05, None, 2, 60)],
)
def test_permutation_matches_the_literal_definition(rho, threshold, lookback, min_shift):
    entropy, spans, revisits = _planted_trace(5, spikes_in_revisits=False)
    # uneven steps with a gap between them, to exercise spans that do not tile the trace
    spans = spans.copy()
    spans[::3, 1] -= 4
    out = align(entropy, spans, revisits, rule="span", rho=rho, forking_threshold=threshold, lookback=lookback,
                n_shifts=300, seed=7, min_shift=min_shift)
    expected = _literal_p_value(entropy, spans, revisits, rho, threshold, lookback, 300, 7, min_shift)
    assert out.p_value == pytest.approx(expected, abs=1e-12)


def test_default_min_shift_is_longest_step_plus_lookback():
    entropy, spans, revisits = _planted_trace(5, spikes_in_revisits=False)
    out = align(entropy, spans, revisits, rule="span", lookback=2, n_shifts=300, seed=7)
    expected = _literal_p_value(entropy, spans, revisits, 0.2, None, 2, 300, 7, min_shift=25 + 2)
    assert out.p_value == pytest.approx(expected, abs=1e-12)


def test_planted_spikes_are_recovered():
    entropy, spans, revisits = _planted_trace(0, spikes_in_revisits=True)
    out = align(entropy, spans, revisits, rule="span", rho=24 / 1499)
    np.testing.assert_array_equal(out.table, [[12, 0], [0, 48]])
    assert out.hidden_only.size == 0 and out.token_only.size == 0
    assert out.p_value < 0.01
    assert out.p_value == pytest.approx(1 / 1001)


def test_shifts_shorter_than_a_step_floor_the_p_value():
    # why min_shift exists: with science.md's 1..n-1 shifts, the ~2 * 25 shifts shorter than a step keep the
    # planted spikes inside their steps and reproduce the perfect alignment, so p cannot fall below ~50 / 1500
    entropy, spans, revisits = _planted_trace(0, spikes_in_revisits=True)
    literal = align(entropy, spans, revisits, rule="span", rho=24 / 1499, min_shift=1)
    assert literal.p_value > 0.01


def test_shuffled_spikes_give_a_large_p():
    entropy, spans, revisits = _planted_trace(0, spikes_in_revisits=False)
    out = align(entropy, spans, revisits, rule="span", rho=24 / 1499)
    assert out.p_value > 0.05
    assert out.table.sum() == 60


def test_same_seed_same_output():
    entropy, spans, revisits = _planted_trace(2, spikes_in_revisits=False)
    first = json.dumps(align(entropy, spans, revisits, rule="span", n_shifts=200, seed=11).as_dict(), sort_keys=True)
    again = align(entropy, spans, revisits, rule="span", n_shifts=200, seed=11).as_dict()
    assert json.dumps(again, sort_keys=True) == first
    entropy, spans, revisits = _planted_trace(0, spikes_in_revisits=False)
    p_values = {align(entropy, spans, revisits, rule="span", rho=0.02, n_shifts=200, seed=s).p_value
                for s in range(5)}
    assert len(p_values) > 1  # the seed does drive the shifts


def test_marker_tables_and_flat_dict():
    spikes = np.zeros(30, dtype=bool)
    spikes[[1, 12, 26]] = True
    markers = np.array([False, False, True, True, True, False])
    out = align(np.zeros(30), _spans(6, 5), [2, 3], rule="span", spikes=spikes, n_shifts=0, marker_steps=markers)
    np.testing.assert_array_equal(out.marker_revisit_table, [[2, 0], [1, 3]])
    np.testing.assert_array_equal(out.marker_spike_table, [[1, 2], [2, 1]])
    flat = out.as_dict()
    assert flat["align_revisit_spike"] == 1 and flat["align_revisit_nospike"] == 1
    assert flat["align_norevisit_spike"] == 2 and flat["align_norevisit_nospike"] == 2
    assert flat["align_revisit_marker"] == 2 and flat["align_norevisit_nomarker"] == 3
    assert flat["align_marker_spike"] == 1 and flat["align_nomarker_nospike"] == 1
    assert flat["align_n_hidden_only"] == 1 and flat["align_n_token_only"] == 2
    json.dumps(flat)
    plain = align(np.zeros(30), _spans(6, 5), [2, 3], rule="span", spikes=spikes, n_shifts=0)
    assert plain.marker_revisit_table is None and plain.as_dict()["align_marker_spike"] is None
    assert set(plain.as_dict()) == set(flat)
    assert all(plain.as_dict()[k] is None for k in flat if "marker" in k)
    # the marker tables carry the same statistics as the main one, against scipy
    from scipy.stats import fisher_exact

    assert flat["marker_revisit_odds_ratio"] == pytest.approx(2.5 * 3.5 / (0.5 * 1.5))  # a zero cell: Haldane
    assert flat["marker_revisit_odds_ratio_corrected"] is True
    assert flat["marker_revisit_fisher_p"] == pytest.approx(fisher_exact([[2, 0], [1, 3]]).pvalue)
    assert flat["marker_spike_odds_ratio"] == pytest.approx(1 * 1 / (2 * 2))
    assert flat["marker_spike_odds_ratio_corrected"] is False
    assert flat["marker_spike_fisher_p_greater"] == pytest.approx(
        fisher_exact([[1, 2], [2, 1]], alternative="greater").pvalue)


def test_revisits_as_mask_and_empty_inputs():
    spikes = np.zeros(10, dtype=bool)
    spikes[7] = True
    mask = np.array([False, True])
    by_mask = align(np.zeros(10), _spans(2, 5), mask, rule="span", spikes=spikes, n_shifts=50)
    by_index = align(np.zeros(10), _spans(2, 5), [1], rule="span", spikes=spikes, n_shifts=50)
    assert json.dumps(by_mask.as_dict(), sort_keys=True) == json.dumps(by_index.as_dict(), sort_keys=True)
    none = align(np.zeros(10), _spans(2, 5), [], rule="span", spikes=spikes, n_shifts=50)
    np.testing.assert_array_equal(none.table, [[0, 0], [1, 1]])
    assert math.isnan(none.p_value) and math.isnan(none.enrichment)
    assert math.isnan(none.hidden_only_share) and math.isnan(none.odds_ratio)  # no revisit: no odds ratio
    for rule in ("span", "onset"):
        empty = align(np.zeros(0), np.zeros((0, 2), dtype=int), [], rule=rule, n_shifts=10)
        assert empty.table.sum() == 0 and isinstance(empty, Alignment)
        assert math.isnan(empty.onset_fork_rate) and math.isnan(empty.as_dict()["onset_entropy_mean"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"step_spans": np.array([[0, 5], [5, 11]])}, "step_spans"),
        ({"step_spans": np.array([[0.0, 5.0]])}, "step_spans"),
        ({"revisit_steps": [2]}, "revisit_steps"),
        ({"lookback": -1}, "lookback"),
        ({"onset_tokens": 0}, "onset_tokens"),
        ({"rule": "anywhere"}, "rule"),
        ({"n_shifts": -5}, "n_shifts"),
        ({"min_shift": 0}, "min_shift"),
        ({"spikes": np.zeros(9, dtype=bool)}, "spikes"),
        ({"marker_steps": np.array([1, 0])}, "marker_steps"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    args = {"entropy": np.zeros(10), "step_spans": _spans(2, 5), "revisit_steps": [1]} | kwargs
    with pytest.raises(InputError, match=message):
        align(**args)


# ---------------------------------------------------------------------- rule "onset" (the default)
ALIGN_KEYS = {
    "align_rule", "align_revisit_spike", "align_revisit_nospike", "align_norevisit_spike", "align_norevisit_nospike",
    "align_odds_ratio", "align_odds_ratio_corrected", "align_fisher_p", "align_fisher_p_greater", "align_enrichment",
    "align_p_value", "align_n_hidden_only", "align_n_token_only", "align_hidden_only_share", "align_onset_fork_rate",
    "align_onset_fork_null", "align_spike_threshold", "onset_entropy_mean",
    "align_revisit_marker", "align_revisit_nomarker", "align_norevisit_marker", "align_norevisit_nomarker",
    "align_marker_spike", "align_marker_nospike", "align_nomarker_spike", "align_nomarker_nospike",
    "marker_revisit_odds_ratio", "marker_revisit_odds_ratio_corrected", "marker_revisit_fisher_p",
    "marker_revisit_fisher_p_greater", "marker_spike_odds_ratio", "marker_spike_odds_ratio_corrected",
    "marker_spike_fisher_p", "marker_spike_fisher_p_greater",
    "align_spike_rate", "align_near_saturated",
    "align_rel_revisit_spike", "align_rel_revisit_nospike", "align_rel_norevisit_spike", "align_rel_norevisit_nospike",
    "align_rel_odds_ratio", "align_rel_odds_ratio_corrected", "align_rel_fisher_p", "align_rel_fisher_p_greater",
    "align_rel_n_hidden_only", "align_rel_hidden_only_share",
}

# 10 tokens; steps [0,3) [3,6) [6,8) [8,10) and an empty step at the end [10,10)
HAND_H = np.array([np.nan, 0.5, 0.1, 0.9, 0.2, 0.3, np.nan, np.nan, 0.4, 0.05])
HAND_SPANS = np.array([[0, 3], [3, 6], [6, 8], [8, 10], [10, 10]])


@pytest.mark.parametrize(
    "m, w, expected",
    [
        (1, 0, [np.nan, 0.9, np.nan, 0.4, np.nan]),  # H_s; H_0 and H_6 undefined; the empty step has no window
        (2, 0, [0.5, 0.9, np.nan, 0.4, np.nan]),  # NaN skipped; step 2's window is all NaN
        (3, 0, [0.5, 0.9, np.nan, 0.4, np.nan]),  # m clipped at the step's end: [6, min(9, 8)) = [6, 8)
        (1, 2, [np.nan, 0.9, 0.3, 0.4, 0.4]),  # [s-2, s+1), clipped at 0; the empty step sees [8, 10)
        (1, 1, [np.nan, 0.9, 0.3, 0.4, 0.05]),  # [s-1, s+1): NaN next to a defined token gives the defined one
    ],
)
def test_onset_entropy_by_hand(m, w, expected):
    got = onset_entropy(HAND_H, HAND_SPANS, onset_tokens=m, lookback=w)
    np.testing.assert_allclose(got, expected, equal_nan=True, rtol=0, atol=0)
    assert got.dtype == np.float64


def test_onset_entropy_edges():
    assert onset_entropy(np.zeros(0), np.zeros((0, 2), dtype=int)).shape == (0,)
    np.testing.assert_array_equal(onset_entropy(np.zeros(0), np.array([[0, 0]])), [np.nan])
    with pytest.raises(InputError, match="onset_tokens"):
        onset_entropy(HAND_H, HAND_SPANS, onset_tokens=0)
    with pytest.raises(InputError, match="lookback"):
        onset_entropy(HAND_H, HAND_SPANS, lookback=-1)


def test_onset_rule_by_hand():
    # 6 steps of 5 tokens (onsets 0, 5, ..., 25); spike tokens 1, 10, 14, 26; revisits at steps 2 and 3
    spikes = np.zeros(30, dtype=bool)
    spikes[[1, 10, 14, 26]] = True
    h = np.zeros(30)
    out = align(h, _spans(6, 5), [2, 3], spikes=spikes, n_shifts=100)
    assert out.rule == "onset" and math.isnan(out.p_value)  # no permutation test for the onset rule
    assert out.step_spikes.tolist() == [False, False, True, False, False, False]
    np.testing.assert_array_equal(out.table, [[1, 1], [0, 4]])
    assert out.odds_ratio == pytest.approx(1.5 * 4.5 / (1.5 * 0.5)) and out.odds_ratio_corrected  # Haldane
    from scipy.stats import fisher_exact

    assert out.fisher_p == pytest.approx(fisher_exact([[1, 1], [0, 4]]).pvalue)
    assert out.fisher_p_greater == pytest.approx(fisher_exact([[1, 1], [0, 4]], alternative="greater").pvalue)
    assert out.hidden_only.tolist() == [3] and out.token_only.tolist() == [] and out.hidden_only_share == 0.5
    assert out.onset_fork_rate == pytest.approx(1 / 6)
    # w = 1 takes the token before each onset (14 for step 3); m = 2 the second token (1, 26)
    assert align(h, _spans(6, 5), [2, 3], spikes=spikes, lookback=1).step_spikes.tolist() == \
        [False, False, True, True, False, False]
    assert align(h, _spans(6, 5), [2, 3], spikes=spikes, onset_tokens=2).step_spikes.tolist() == \
        [True, False, True, False, False, True]
    # the span rule on the same trace: a spike anywhere in the step counts (14 is the last token of step 2)
    assert align(h, _spans(6, 5), [2, 3], spikes=spikes, rule="span").step_spikes.tolist() == \
        [True, False, True, False, False, True]


@pytest.mark.parametrize("m, w", [(1, 0), (2, 0), (1, 3), (4, 2)])
def test_onset_spike_is_onset_entropy_at_the_threshold(m, w):
    rng = np.random.default_rng(m * 10 + w)
    h = rng.exponential(0.3, size=400)
    h[rng.choice(400, 20, replace=False)] = np.nan
    lengths = rng.integers(3, 20, size=30)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    spans = np.column_stack([starts, starts + lengths])
    spans = spans[spans[:, 1] <= 400]
    revisits = rng.choice(len(spans), 6, replace=False)
    out = align(h, spans, revisits, rho=0.2, onset_tokens=m, lookback=w)
    theta = top_rho_threshold(h, rho=0.2)
    onset = onset_entropy(h, spans, onset_tokens=m, lookback=w)
    np.testing.assert_array_equal(out.onset_entropy, onset)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(out.step_spikes, onset >= theta)
    assert out.threshold == theta
    assert out.onset_fork_null == pytest.approx(1 - 0.8 ** (m + w))
    assert out.onset_fork_rate == pytest.approx(np.mean(onset >= theta))
    assert out.as_dict()["onset_entropy_mean"] == pytest.approx(np.nanmean(onset))
    absolute = align(h, spans, revisits, forking_threshold=0.5, onset_tokens=m, lookback=w)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(absolute.step_spikes, onset > 0.5)
    assert absolute.threshold == 0.5 and math.isnan(absolute.onset_fork_null)


def _onset_trace(seed: int, planted: bool, n_steps: int = 60, length: int = 25, n_revisits: int = 12):
    """Steps of ``length`` tokens over a near-deterministic background with 20% high-entropy tokens at random;
    ``planted`` also gives every revisit step a high-entropy onset token."""
    rng = np.random.default_rng(seed)
    spans = _spans(n_steps, length)
    entropy = rng.uniform(0.0, 0.05, size=n_steps * length)
    forks = rng.random(entropy.size) < 0.2
    entropy[forks] = rng.uniform(0.5, 3.0, size=forks.sum())
    revisits = np.sort(rng.choice(np.arange(1, n_steps), size=n_revisits, replace=False))
    if planted:
        entropy[spans[revisits, 0]] = rng.uniform(3.0, 4.0, size=n_revisits)
    return entropy, spans, revisits


def test_planted_alignment_is_found():
    entropy, spans, revisits = _onset_trace(0, planted=True)
    out = align(entropy, spans, revisits)
    assert out.table[0].tolist() == [12, 0]  # every revisit begins at a fork
    assert out.odds_ratio > 1 and out.fisher_p_greater < 0.01
    assert out.hidden_only_share == 0.0
    # the span rule cannot tell: with 25-token steps and rho = 0.2 nearly every step holds a forking token
    span = align(entropy, spans, revisits, rule="span", n_shifts=0)
    assert span.step_spikes.mean() > 0.95
    assert out.onset_fork_rate < 0.5


def test_planted_independence_keeps_the_false_positive_rate():
    rejections = 0
    for seed in range(200):
        entropy, spans, revisits = _onset_trace(1000 + seed, planted=False, n_steps=40, length=20, n_revisits=8)
        rejections += align(entropy, spans, revisits).fisher_p < 0.05
    assert rejections / 200 < 0.1


def test_flat_dict_has_exactly_the_contract_keys():
    entropy, spans, revisits = _onset_trace(3, planted=False)
    markers = np.zeros(len(spans), dtype=bool)
    markers[[2, 5, 9]] = True
    for kwargs in ({}, {"marker_steps": markers}, {"rule": "span", "n_shifts": 20}):
        flat = align(entropy, spans, revisits, **kwargs).as_dict()
        assert set(flat) == ALIGN_KEYS
        json.dumps(flat)
    assert flat["align_rule"] == "span" and isinstance(flat["align_odds_ratio_corrected"], bool)
