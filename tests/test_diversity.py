"""Diversity of the samples of one prompt: hand-computed walks, and the edit distance against independent references."""
from __future__ import annotations

import functools
import math
import random

import pytest

from reasongraph.analysis.samples.diversity import (collapse_runs, distinct_3gram_share, distinct_walk_share,
                                                    diversity_metrics, levenshtein, node_coverage, walk_distance)


def _recursive_levenshtein(a: tuple, b: tuple) -> int:
    """The definition, recursion on the first elements (no table): an independent reference for short inputs."""
    @functools.cache
    def d(i: int, j: int) -> int:
        if i == len(a):
            return len(b) - j
        if j == len(b):
            return len(a) - i
        return min(d(i + 1, j) + 1, d(i, j + 1) + 1, d(i + 1, j + 1) + (a[i] != b[j]))
    return d(0, 0)


@pytest.mark.parametrize("a, b, expected", [
    ("kitten", "sitting", 3), ("flaw", "lawn", 2), ("intention", "execution", 5), ("", "abc", 3), ("abc", "", 3),
    ("", "", 0), ("abc", "abc", 0), ([1, 2, 3], [3, 2, 1], 2), ([0, 1, 2, 1], [3], 4), ([0, 1, 2, 1], [0, 2], 2),
])
def test_levenshtein_hand_table(a, b, expected):
    assert levenshtein(a, b) == expected
    assert levenshtein(b, a) == expected


def test_levenshtein_matches_recursive_reference():
    rng = random.Random(0)
    for _ in range(400):
        a = tuple(rng.randrange(3) for _ in range(rng.randrange(7)))
        b = tuple(rng.randrange(3) for _ in range(rng.randrange(7)))
        assert levenshtein(a, b) == _recursive_levenshtein(a, b), (a, b)


def test_collapse_runs_drops_noise_without_splitting_runs():
    assert collapse_runs([3, 3, 1, -1, 1, 3]) == [3, 1, 3]
    assert collapse_runs([0, -1, 0]) == [0]
    assert collapse_runs([]) == []
    assert collapse_runs([-1, -1]) == []


# Four samples of one prompt; collapsed: A=[0,1,2,1], B=[0,1,2,1], C=[3], D=[0,2].
WALKS = [[0, 0, 1, 2, 2, 1], [0, 1, 2, 1], [3, 3, 3], [0, -1, 0, 2]]


def test_hand_computed_walks():
    assert distinct_walk_share(WALKS) == 3 / 4
    # pairs: AB 0/4, AC 4/4, AD 2/4, BC 4/4, BD 2/4, CD 2/2 (substitute 3 -> 0, insert 2)
    assert walk_distance(WALKS) == pytest.approx((0 + 1 + 0.5 + 1 + 0.5 + 1) / 6)
    assert node_coverage(WALKS, 10) == 0.4  # nodes {0, 1, 2, 3}


def test_walk_distance_edge_cases():
    assert walk_distance([[1, 2], [1, 1, 2]]) == 0.0  # identical once runs collapse
    assert walk_distance([[], [-1]]) == 0.0  # two empty walks are identical
    assert walk_distance([[], [1, 2]]) == 1.0
    assert math.isnan(walk_distance([[1, 2]]))  # no pair
    assert math.isnan(distinct_walk_share([]))


def test_distinct_3gram_share():
    # "a b c a b c" -> abc bca cab abc; "a b c" -> abc: 5 3-grams, 3 distinct
    assert distinct_3gram_share(["a b c a b c", "a b c"]) == 3 / 5
    assert distinct_3gram_share(["So wait now", "so wait now", "so, wait now"]) == 1.0  # case, punctuation count
    assert distinct_3gram_share(["so wait\nnow", "so  wait now"]) == 0.5  # any whitespace splits words
    assert math.isnan(distinct_3gram_share(["a b", "c d"]))  # no 3-gram; none across the two texts
    assert math.isnan(distinct_3gram_share([]))


def test_diversity_metrics_collects_all():
    texts = ["a b c a b c", "a b c", "x", "y"]
    assert diversity_metrics(WALKS, texts, 10) == {
        "n_samples": 4, "distinct_walk_share": 0.75, "walk_distance": pytest.approx(4 / 6), "node_coverage": 0.4,
        "distinct_3gram_share": 0.6}
    with pytest.raises(ValueError, match="4 walks but 2 texts"):
        diversity_metrics(WALKS, texts[:2], 10)
    with pytest.raises(ValueError, match="k must be >= 1"):
        node_coverage(WALKS, 0)
