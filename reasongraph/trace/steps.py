"""Splitting a trace into steps with exact character and token spans."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from reasongraph.trace.options import ExtractOptions
from reasongraph.trace.segmenters import Segmenter, parse_segmenter


@dataclass(frozen=True)
class Step:
    """One reasoning step: tokens [start_token, end_token) and text[start_char:end_char] == text."""

    start_token: int
    end_token: int
    start_char: int
    end_char: int
    text: str

    def as_dict(self) -> dict:
        return asdict(self)


def segment_steps(text: str, offsets: np.ndarray, segment: str | Callable | Segmenter = ExtractOptions.segment
                  ) -> list[Step]:
    """Split a tokenized trace into steps with exact character and token spans.

    ``offsets`` are the tokens' character spans, non-decreasing (as
    :func:`reasongraph.trace.extraction.teacher_forced.extract` makes them). A step's tokens are those overlapping its
    characters; a token straddling two steps (a merged ".\\n" and the next line cannot straddle, but a sentence
    boundary inside one token can) goes to the earlier step. ``segment`` is a segmenter's name, a parsed
    :class:`~reasongraph.trace.segmenters.Segmenter`, or a callable ``text -> [(start, end)]`` character spans.
    """
    found = segment if isinstance(segment, Segmenter) else parse_segmenter(segment)
    offsets = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    if found.level == "chars":
        return _steps_from_chars(text, offsets, [(int(a), int(b)) for a, b in found.spans(text)])
    steps, prev_end = [], 0
    for a, b in found.spans(len(offsets)):
        # byte-level tokens of one character share its span: keep steps disjoint in characters
        start, end = max(int(offsets[a, 0]), prev_end), max(int(offsets[b - 1, 1]), prev_end)
        steps.append(Step(a, b, start, end, text[start:end]))
        prev_end = end
    return steps


def _steps_from_chars(text: str, offsets: np.ndarray, spans: list[tuple[int, int]]) -> list[Step]:
    starts, ends = offsets[:, 0], offsets[:, 1]
    steps: list[Step] = []
    prev_end = 0
    for a, b in spans:
        first = int(np.searchsorted(ends, a, side="right"))  # first token ending after a
        last = int(np.searchsorted(starts, b, side="left"))  # first token starting at or after b
        if last <= first:  # characters beyond the tokenized (truncated) text
            continue
        first = min(max(first, prev_end), last - 1)  # a straddling token stays with the earlier step
        steps.append(Step(first, last, a, b, text[a:b]))
        prev_end = last
    return steps
