"""Lexical "aha" markers: the words with which a reasoning model announces that it reconsiders.

"Wait", "Hmm", "let me double-check", "I made a mistake", ... are a third signal, beside token entropy and
hidden-state revisits, of where a trace turns back; :mod:`reasongraph.analysis.alignment` lines the three up per step.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from reasongraph.core.errors import InputError, opt

__all__ = ["AHA_MARKERS", "Marker", "compile_patterns", "find_markers", "marker_steps", "markers_per_step"]

_APOS = "['\u2019]"  # straight or typographic apostrophe

#: Default self-correction cues: regular expressions matched case-insensitively, whole words only
#: (each is wrapped in ``\b...\b``). ``\s+`` lets a cue span line breaks or repeated spaces.
AHA_MARKERS: tuple[str, ...] = (
    r"wait",
    r"hm+",
    r"actually",
    r"alternatively",
    r"let\s+me\s+(?:double[\s-]?check|verify|re-?check|check\s+again|reconsider|re-?examine)",
    rf"I(?:\s+have|{_APOS}ve)?\s+made\s+(?:a\s+mistake|an\s+error)",
    r"on\s+second\s+thought",
    r"hold\s+on",
    rf"(?:that|this)(?:{_APOS}s|\s+is)\s+(?:not\s+right|wrong)",
    r"but\s+wait",
    r"let\s+me\s+think\s+again",
    r"I\s+think\s+I\s+(?:made|messed)(?:\s+(?:a\s+mistake|an\s+error|up))?",
    r"oops",
    r"scratch\s+that",
)


@dataclass(frozen=True)
class Marker:
    """One marker occurrence: ``text == trace_text[start_char:end_char]``."""

    start_char: int
    end_char: int
    text: str


def compile_patterns(patterns: Iterable[str], *, name: str = "patterns") -> list[re.Pattern[str]]:
    """Marker regular expressions compiled as :func:`find_markers` matches them (whole words, any case); an
    InputError naming the parameter ``name`` for one string instead of a list, or a pattern that is no regex."""
    if isinstance(patterns, (str, bytes)) or not isinstance(patterns, Iterable):
        raise InputError(f"{opt(name)} must be a list of regular expressions, got {type(patterns).__name__}")
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise InputError(f"{opt(name)}: a pattern must be a str, got {pattern!r}")
        try:
            compiled.append(re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE))
        except re.error as e:
            raise InputError(f"{opt(name)}: {pattern!r} is not a valid regular expression ({e})") from None
    return compiled


def find_markers(text: str, *, patterns: Iterable[str] | None = None) -> list[Marker]:
    """Find aha markers in a text.

    Parameters
    ----------
    text : the trace.
    patterns : regular expressions (case-insensitive, wrapped in word boundaries); ``None`` means
        :data:`AHA_MARKERS`.

    Returns
    -------
    list of Marker
        Sorted by position and non-overlapping: where matches of several patterns overlap, the one that starts
        first wins, and among those the longest ("but wait" over "wait", "I think I made" over "I made").
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if isinstance(patterns, str):
        raise ValueError("patterns must be a sequence of regular expressions, not a single string")
    candidates = [
        (m.start(), -m.end(), m.group())
        for regex in compile_patterns(AHA_MARKERS if patterns is None else patterns)
        for m in regex.finditer(text)
        if m.end() > m.start()
    ]
    markers: list[Marker] = []
    for start, neg_end, matched in sorted(candidates):
        if markers and start < markers[-1].end_char:
            continue
        markers.append(Marker(start, -neg_end, matched))
    return markers


def _char_spans(steps: Sequence) -> np.ndarray:
    if isinstance(steps, np.ndarray):
        spans = steps.astype(np.int64).reshape(-1, 2)
    else:
        spans = np.array([(s.start_char, s.end_char) for s in steps], dtype=np.int64).reshape(-1, 2)
    if np.any(np.diff(spans[:, 0]) < 0) or np.any(spans[:-1, 1] > spans[1:, 0]):
        raise ValueError("steps must be sorted and non-overlapping in character positions")
    return spans


def marker_steps(markers: Sequence[Marker], steps: Sequence, *, gap: str = "next") -> np.ndarray:
    """The step each marker belongs to (see :func:`markers_per_step` for the rule); -1 for none.

    Parameters
    ----------
    markers : from :func:`find_markers` (anything with ``start_char``), or dicts with ``start_char``.
    steps : as for :func:`markers_per_step`.
    gap : ``"next"`` or ``"drop"``, for markers between steps.

    Returns
    -------
    (n_markers,) int64 step indices.
    """
    if gap not in ("next", "drop"):
        raise ValueError(f"gap must be 'next' or 'drop', got {gap!r}")
    spans = _char_spans(steps)
    n_steps = spans.shape[0]
    pos = np.array([m["start_char"] if isinstance(m, dict) else m.start_char for m in markers], dtype=np.int64)
    if not n_steps or not pos.size:
        return np.full(pos.size, -1, dtype=np.int64)
    inside = np.searchsorted(spans[:, 0], pos, side="right") - 1
    inside_ok = (inside >= 0) & (pos < spans[np.maximum(inside, 0), 1])
    idx = np.where(inside_ok, inside, inside + 1 if gap == "next" else -1)
    return np.where((idx >= 0) & (idx < n_steps), idx, -1)


def markers_per_step(
    markers: Sequence[Marker], steps: Sequence, *, counts: bool = False, gap: str = "next"
) -> np.ndarray:
    """Which steps carry an aha marker.

    A marker belongs to the step whose character span [start_char, end_char) holds the marker's start. Segmenting
    drops short lines, so "Wait." or "Hmm..." often stand alone between two steps; with ``gap="next"`` such a
    marker belongs to the step that follows it (where the reconsideration happens), with ``gap="drop"`` to none.

    Parameters
    ----------
    markers : from :func:`find_markers` on the same text as the steps.
    steps : :class:`reasongraph.trace.steps.Step` values (anything with ``start_char``/``end_char``), or an
        (n_steps, 2) array of character spans; sorted, non-overlapping.
    counts : return the number of markers per step instead of presence.
    gap : ``"next"`` or ``"drop"``, for markers between steps.

    Returns
    -------
    (n_steps,) bool array, or int array when ``counts``.
    """
    idx = marker_steps(markers, steps, gap=gap)
    per_step = np.bincount(idx[idx >= 0], minlength=_char_spans(steps).shape[0])
    return per_step if counts else per_step > 0
