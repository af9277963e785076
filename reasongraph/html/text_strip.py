"""The text strip of a trace view: characters as runs of one step, one entropy class and one set of flags.

Character positions in a view payload are UTF-16 code-unit indices, the unit of JavaScript strings, so the page
slices the text correctly even with characters outside the Basic Multilingual Plane (math letters, emoji), where
Python's code-point indices would drift; :class:`Utf16` maps one to the other.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ENTROPY_BINS", "FLAG_AHA", "FLAG_FORK", "Utf16", "entropy_bins", "gap_length", "segments"]

#: Upper edges (nats) of the entropy color classes shared by the text strip and the graph nodes; class 0 is
#: below 0.01 (near-deterministic tokens, over half of a typical chain of thought), the last is >= 4 nats.
#: Fixed edges, not quantiles, so colors mean the same thing in every trace and every page.
ENTROPY_BINS: tuple[float, ...] = (0.01, 0.1, 0.3, 0.6, 1.0, 1.5, 2.5, 4.0)

FLAG_FORK = 1  # the character belongs to a forking token (top-rho entropy)
FLAG_AHA = 2  # the character belongs to a lexical aha marker ("Wait", "Hmm", ...)


def entropy_bins(values: Any) -> np.ndarray:
    """Entropy color class of each value (0 .. len(ENTROPY_BINS)); -1 where NaN."""
    values = np.asarray(values, dtype=np.float64)
    out = np.digitize(values, ENTROPY_BINS, right=False).astype(np.int64)
    out[~np.isfinite(values)] = -1
    return out


class Utf16:
    """Maps Python (code point) string indices to JavaScript (UTF-16 code unit) indices."""

    def __init__(self, text: str) -> None:
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        wide = cps > 0xFFFF
        self._cum = np.r_[0, np.cumsum(1 + wide)] if wide.any() else None

    def map(self, idx: Any) -> Any:
        if self._cum is None:
            return np.asarray(idx, dtype=np.int64)
        return self._cum[np.asarray(idx, dtype=np.int64)]



def segments(n_chars: int, offsets: np.ndarray, tok_bin: np.ndarray, fork: np.ndarray, step_chars: np.ndarray,
              markers: list[tuple[int, int, str]], u16: Utf16) -> list[int]:
    """The token strip as maximal runs of characters with the same step, entropy class and flags.

    The runs cover the text in order, so each is written as its length: a flat list
    ``[length, step, bin, flags] * n_runs`` (UTF-16 units; step -1 = text outside every step, bin -1 = no token
    or undefined entropy). Every step gets at least one run (a zero-length one for an empty step) so the page can
    give each step exactly one element.
    """
    step_of = np.full(n_chars, -1, dtype=np.int64)
    for i, (a, b) in enumerate(step_chars.tolist()):
        step_of[a:b] = i
    bin_of = np.full(n_chars, -1, dtype=np.int64)
    flags = np.zeros(n_chars, dtype=np.int64)
    for (a, b), k, f in zip(offsets.tolist(), tok_bin.tolist(), fork.tolist()):
        bin_of[a:b] = k
        if f:
            flags[a:b] |= FLAG_FORK
    for a, b, _ in markers:
        flags[a:b] |= FLAG_AHA
    # empty (or fully overlapped) steps get a zero-length run where they start, so the runs are cut there too
    present = set(np.unique(step_of).tolist())
    missing = [(int(a), int(a), i, -1, 0) for i, (a, _) in enumerate(step_chars.tolist()) if i not in present]
    key = (step_of + 1) * 64 + (bin_of + 1) * 4 + flags
    cuts = np.flatnonzero(key[1:] != key[:-1]) + 1
    cuts = np.union1d(cuts, [r[0] for r in missing if 0 < r[0] < n_chars]).astype(np.int64)
    starts = np.r_[0, cuts] if n_chars else np.empty(0, dtype=np.int64)
    ends = np.r_[cuts, n_chars] if n_chars else np.empty(0, dtype=np.int64)
    runs = [(int(a), int(b), int(step_of[a]), int(bin_of[a]), int(flags[a])) for a, b in zip(starts, ends)]
    if missing:
        runs = sorted(runs + missing, key=lambda r: (r[0], r[1] > r[0]))
    flat: list[int] = []
    for a, b, s, k, f in runs:
        flat += [int(u16.map(b)) - int(u16.map(a)), s, k, f]
    return flat


def gap_length(spans: np.ndarray) -> list[int]:
    """Token spans as ``[gap, length] * n_tokens``, gap = start - previous end (0 for contiguous tokens): a third
    of the size of absolute offsets for a long trace."""
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    prev_end = np.r_[0, spans[:-1, 1]] if spans.size else np.zeros(0, dtype=np.int64)
    return np.column_stack([spans[:, 0] - prev_end, spans[:, 1] - spans[:, 0]]).reshape(-1).tolist()
