"""Diversity of N samples of one prompt: how many different ways the policy reasons, at two levels.

RL narrows behavior across samples as well as within one: a collapsed policy answers a prompt the same way every
time. For the N samples of one prompt from one policy, walked over one clustering fitted on all their steps
(docs/metrics.md):

- ``distinct_walk_share``: distinct walks (cluster-id sequences with runs collapsed) / N;
- ``walk_distance``: mean pairwise normalized edit distance between the collapsed walks (Levenshtein / the
  longer length);
- ``node_coverage``: distinct nodes visited by any sample / K;
- ``distinct_3gram_share`` of the texts: distinct word 3-grams / all word 3-grams, the token-level baseline.

A walk is a sequence of integer cluster ids, one per step. Negative ids (HDBSCAN noise dropped by the clusterer's
noise policy) are left out as in :mod:`reasongraph.graph`: they are not nodes, and they do not split a run, so
[0, -1, 0] collapses to [0].
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from reasongraph.graph.walk import walk_runs

__all__ = ["METRICS", "collapse_runs", "distinct_3gram_share", "distinct_walk_share", "diversity_metrics", "levenshtein",
           "node_coverage", "walk_distance"]


#: The diversity measures of one prompt's samples, as :func:`diversity_metrics` names them.
METRICS = ("distinct_walk_share", "walk_distance", "node_coverage", "distinct_3gram_share")


def collapse_runs(walk: Sequence[int]) -> list[int]:
    """The walk with each maximal run of one cluster id replaced by one id, negative ids dropped.

    >>> collapse_runs([3, 3, 1, -1, 1, 3])
    [3, 1, 3]
    """
    return [label for label, _, _ in walk_runs(walk)]


def levenshtein(a: Sequence, b: Sequence) -> int:
    """Edit distance between two sequences: the fewest insertions, deletions and substitutions from a to b.

    The textbook O(len(a) * len(b)) dynamic program, two rows at a time. Written here rather than taken from a
    package because walks are short (tens of steps) and it is a dozen lines, against a new dependency.
    """
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def distinct_walk_share(walks: Sequence[Sequence[int]]) -> float:
    """Distinct collapsed walks / number of walks: 1/N when every sample walks alike, 1 when all differ.

    NaN for no walks.
    """
    if not walks:
        return math.nan
    return len({tuple(collapse_runs(w)) for w in walks}) / len(walks)


def walk_distance(walks: Sequence[Sequence[int]]) -> float:
    """Mean over all pairs of samples of Levenshtein(a, b) / max(len(a), len(b)) on the collapsed walks.

    In [0, 1]: 0 when all walks are identical, 1 when every pair differs at every position of the longer walk.
    Two empty walks (no kept step) are identical, distance 0. NaN for fewer than two walks (no pair).
    """
    collapsed = [collapse_runs(w) for w in walks]
    if len(collapsed) < 2:
        return math.nan
    distances = [levenshtein(a, b) / max(len(a), len(b)) if (a or b) else 0.0
                 for a, b in itertools.combinations(collapsed, 2)]
    return sum(distances) / len(distances)


def node_coverage(walks: Sequence[Sequence[int]], k: int) -> float:
    """Distinct nodes (non-negative cluster ids) visited by any of the walks / ``k``, the number of clusters."""
    if k < 1:
        raise ValueError(f"k must be >= 1 (the number of clusters), got {k}")
    nodes = {label for w in walks for label in collapse_runs(w)}
    return len(nodes) / k


def distinct_3gram_share(texts: Sequence[str]) -> float:
    """Distinct word 3-grams / all word 3-grams, pooled over the texts (the samples of one prompt).

    Words are the text split at whitespace (``str.split()``), kept as they are: case and punctuation attached to
    a word stay part of it, so "so," and "So" are different words. 3-grams are taken within each text, never
    across two texts. 1 when no 3-gram repeats anywhere, down to 1/count when all are one 3-gram; NaN when the
    texts hold no 3-gram at all (every text has fewer than three words).
    """
    grams = [tuple(words[i:i + 3]) for words in (t.split() for t in texts) for i in range(len(words) - 2)]
    return len(set(grams)) / len(grams) if grams else math.nan


def diversity_metrics(walks: Sequence[Sequence[int]], texts: Sequence[str], k: int) -> dict:
    """All diversity measures of the N samples of one prompt: walks (one per sample, cluster ids per step), the
    samples' texts and K, the number of clusters of the clustering that labeled the steps."""
    if len(walks) != len(texts):
        raise ValueError(f"got {len(walks)} walks but {len(texts)} texts; give one of each per sample")
    return {"n_samples": len(walks), "distinct_walk_share": distinct_walk_share(walks),
            "walk_distance": walk_distance(walks), "node_coverage": node_coverage(walks, k),
            "distinct_3gram_share": distinct_3gram_share(texts)}
