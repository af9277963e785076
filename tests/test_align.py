"""Step-level alignment of revisits, entropy spikes and markers; the permutation test against its literal form."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from reasongraph.align import Alignment, align, step_has_spike
from reasongraph.signals import forking_tokens


def _spans(n_steps: int, length: int) -> np.ndarray:
    starts = np.arange(n_steps) * length
    return np.column_stack([starts, starts + length])


def _literal_p_value(entropy, spans, revisit, rho, threshold, window, n_shifts, seed, min_shift):
    """science.md's null, literally: roll the entropy, recompute forking tokens, recount per step."""
    def statistic(h):
        spikes = forking_tokens(h, rho=rho, threshold=threshold)
        hits = [spikes[max(s - window, 0):e].any() for s, e in spans[revisit]]
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


def test_hand_computed_table():
    # 6 steps of 5 tokens; spikes in steps 0, 2 and 5 (two in step 5); revisits at steps 2 and 3
    spikes = np.zeros(30, dtype=bool)
    spikes[[1, 12, 26, 28]] = True
    out = align(np.zeros(30), _spans(6, 5), [2, 3], spikes=spikes, n_shifts=0)
    np.testing.assert_array_equal(out.table, [[1, 1], [2, 2]])
    assert out.enrichment == pytest.approx((1 / 2) / (2 / 4))
    assert out.hidden_only.tolist() == [3]
    assert out.token_only.tolist() == [0, 5]
    assert out.step_spikes.tolist() == [True, False, True, False, False, True]
    assert math.isnan(out.p_value) and math.isnan(out.threshold)


def test_table_from_entropy_rule():
    entropy = np.full(20, 0.01)
    entropy[0] = np.nan
    entropy[[6, 17]] = [2.0, 1.5]  # the two highest of 19 defined tokens; rho = 0.1 -> k = 2
    out = align(entropy, _spans(4, 5), np.array([1]), rho=0.1, n_shifts=0)
    np.testing.assert_array_equal(out.table, [[1, 0], [1, 2]])
    assert out.threshold == pytest.approx(1.5)
    assert out.enrichment == pytest.approx(1.0 / (1 / 3))
    out = align(entropy, _spans(4, 5), np.array([1]), threshold=1.8, n_shifts=0)
    np.testing.assert_array_equal(out.table, [[1, 0], [0, 3]])
    assert math.isnan(out.enrichment)  # no spike outside revisits: the ratio is undefined


def test_window_counts_a_spike_just_before_the_step():
    spikes = np.zeros(20, dtype=bool)
    spikes[9] = True  # last token of step 1, one token before step 2 = [10, 15)
    spans = _spans(4, 5)
    assert step_has_spike(spikes, spans, window=0).tolist() == [False, True, False, False]
    assert step_has_spike(spikes, spans, window=1).tolist() == [False, True, True, False]
    out = align(np.zeros(20), spans, [2], spikes=spikes, window=1, n_shifts=0)
    np.testing.assert_array_equal(out.table, [[1, 0], [1, 2]])
    assert align(np.zeros(20), spans, [2], spikes=spikes, window=0, n_shifts=0).hidden_only.tolist() == [2]


@pytest.mark.parametrize(
    "rho, threshold, window, min_shift", [(0.2, None, 0, 1), (0.05, None, 3, 1), (0.2, 0.5, 2, 1), (0.05, None, 2, 60)]
)
def test_permutation_matches_the_literal_definition(rho, threshold, window, min_shift):
    entropy, spans, revisits = _planted_trace(5, spikes_in_revisits=False)
    # uneven steps with a gap between them, to exercise spans that do not tile the trace
    spans = spans.copy()
    spans[::3, 1] -= 4
    out = align(entropy, spans, revisits, rho=rho, threshold=threshold, window=window, n_shifts=300, seed=7,
                min_shift=min_shift)
    expected = _literal_p_value(entropy, spans, revisits, rho, threshold, window, 300, 7, min_shift)
    assert out.p_value == pytest.approx(expected, abs=1e-12)


def test_default_min_shift_is_longest_step_plus_window():
    entropy, spans, revisits = _planted_trace(5, spikes_in_revisits=False)
    out = align(entropy, spans, revisits, window=2, n_shifts=300, seed=7)
    expected = _literal_p_value(entropy, spans, revisits, 0.2, None, 2, 300, 7, min_shift=25 + 2)
    assert out.p_value == pytest.approx(expected, abs=1e-12)


def test_planted_spikes_are_recovered():
    entropy, spans, revisits = _planted_trace(0, spikes_in_revisits=True)
    out = align(entropy, spans, revisits, rho=24 / 1499)
    np.testing.assert_array_equal(out.table, [[12, 0], [0, 48]])
    assert out.hidden_only.size == 0 and out.token_only.size == 0
    assert out.p_value < 0.01
    assert out.p_value == pytest.approx(1 / 1001)


def test_shifts_shorter_than_a_step_floor_the_p_value():
    # why min_shift exists: with science.md's 1..n-1 shifts, the ~2 * 25 shifts shorter than a step keep the
    # planted spikes inside their steps and reproduce the perfect alignment, so p cannot fall below ~50 / 1500
    entropy, spans, revisits = _planted_trace(0, spikes_in_revisits=True)
    literal = align(entropy, spans, revisits, rho=24 / 1499, min_shift=1)
    assert literal.p_value > 0.01


def test_shuffled_spikes_give_a_large_p():
    entropy, spans, revisits = _planted_trace(0, spikes_in_revisits=False)
    out = align(entropy, spans, revisits, rho=24 / 1499)
    assert out.p_value > 0.05
    assert out.table.sum() == 60


def test_same_seed_same_output():
    entropy, spans, revisits = _planted_trace(2, spikes_in_revisits=False)
    first = json.dumps(align(entropy, spans, revisits, n_shifts=200, seed=11).as_dict(), sort_keys=True)
    assert json.dumps(align(entropy, spans, revisits, n_shifts=200, seed=11).as_dict(), sort_keys=True) == first
    entropy, spans, revisits = _planted_trace(0, spikes_in_revisits=False)
    p_values = {align(entropy, spans, revisits, rho=0.02, n_shifts=200, seed=s).p_value for s in range(5)}
    assert len(p_values) > 1  # the seed does drive the shifts


def test_marker_tables_and_flat_dict():
    spikes = np.zeros(30, dtype=bool)
    spikes[[1, 12, 26]] = True
    markers = np.array([False, False, True, True, True, False])
    out = align(np.zeros(30), _spans(6, 5), [2, 3], spikes=spikes, n_shifts=0, marker_steps=markers)
    np.testing.assert_array_equal(out.marker_revisit_table, [[2, 0], [1, 3]])
    np.testing.assert_array_equal(out.marker_spike_table, [[1, 2], [2, 1]])
    flat = out.as_dict()
    assert flat["align_revisit_spike"] == 1 and flat["align_revisit_nospike"] == 1
    assert flat["align_norevisit_spike"] == 2 and flat["align_norevisit_nospike"] == 2
    assert flat["align_revisit_marker"] == 2 and flat["align_norevisit_nomarker"] == 3
    assert flat["align_marker_spike"] == 1 and flat["align_nomarker_nospike"] == 1
    assert flat["align_n_hidden_only"] == 1 and flat["align_n_token_only"] == 2
    json.dumps(flat)
    plain = align(np.zeros(30), _spans(6, 5), [2, 3], spikes=spikes, n_shifts=0)
    assert plain.marker_revisit_table is None and plain.as_dict()["align_marker_spike"] is None
    assert set(plain.as_dict()) == set(flat)


def test_revisits_as_mask_and_empty_inputs():
    spikes = np.zeros(10, dtype=bool)
    spikes[7] = True
    mask = np.array([False, True])
    by_mask = align(np.zeros(10), _spans(2, 5), mask, spikes=spikes, n_shifts=50)
    by_index = align(np.zeros(10), _spans(2, 5), [1], spikes=spikes, n_shifts=50)
    assert json.dumps(by_mask.as_dict(), sort_keys=True) == json.dumps(by_index.as_dict(), sort_keys=True)
    none = align(np.zeros(10), _spans(2, 5), [], spikes=spikes, n_shifts=50)
    np.testing.assert_array_equal(none.table, [[0, 0], [1, 1]])
    assert math.isnan(none.p_value) and math.isnan(none.enrichment)
    empty = align(np.zeros(0), np.zeros((0, 2), dtype=int), [], n_shifts=10)
    assert empty.table.sum() == 0 and isinstance(empty, Alignment)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"step_spans": np.array([[0, 5], [5, 11]])}, "step_spans"),
        ({"step_spans": np.array([[0.0, 5.0]])}, "step_spans"),
        ({"revisit_steps": [2]}, "revisit_steps"),
        ({"window": -1}, "window"),
        ({"n_shifts": -5}, "n_shifts"),
        ({"min_shift": 0}, "min_shift"),
        ({"spikes": np.zeros(9, dtype=bool)}, "spikes"),
        ({"marker_steps": np.array([1, 0])}, "marker_steps"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    args = {"entropy": np.zeros(10), "step_spans": _spans(2, 5), "revisit_steps": [1]} | kwargs
    with pytest.raises(ValueError, match=message):
        align(**args)
